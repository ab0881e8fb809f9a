/** The scopes a principal can hold. `admin` implies every other scope. */
export const Scope = {
  admin: 'admin',
  registryPublish: 'registry:publish',
  registryRead: 'registry:read',
  installsRead: 'installs:read',
  installsWrite: 'installs:write',
  extCall: 'ext:call',
  extDebug: 'ext:debug',
} as const;

export type KnownScope = (typeof Scope)[keyof typeof Scope];

export type TokenKind = 'tenant' | 'publisher' | 'service';
export type Role = 'admin' | 'tenant-admin' | 'member';

export const defaultTokenScopes: Record<TokenKind, readonly string[]> = {
  tenant: [Scope.extCall, Scope.installsRead, Scope.installsWrite, Scope.registryRead],
  publisher: [Scope.registryPublish, Scope.registryRead],
  service: [Scope.registryRead],
};

export const roleScopes: Record<Role, readonly string[]> = {
  admin: [Scope.admin],
  // A tenant admin installs and configures extensions, so it may watch their debug streams (its own tenant's only).
  'tenant-admin': [Scope.extCall, Scope.installsRead, Scope.installsWrite, Scope.registryRead, Scope.extDebug],
  member: [Scope.extCall, Scope.installsRead, Scope.registryRead],
};

export const roles = Object.keys(roleScopes) as Role[];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as string[]).includes(value);
}

/** Who is calling: a signed-in user or an API token. */
export interface Principal {
  kind: 'user' | 'token';
  /** user id or token id */
  id: string;
  /** user name or token label */
  name: string;
  tenantId?: string;
  /** Publisher tokens only: the publisher they may publish for. */
  publisher?: string;
  role?: Role;
  tokenKind?: TokenKind;
  scopes: readonly string[];
}

/** `admin`, or a `<area>:admin` scope (`license:admin`): what reset-claim revokes. */
export function isAdminLevelScope(scope: string): boolean {
  return scope === Scope.admin || scope.endsWith(':admin');
}

export function hasScope(principal: Principal | undefined, scope: string): boolean {
  if (!principal) return false;
  return principal.scopes.includes(Scope.admin) || principal.scopes.includes(scope);
}

/** The audit actor string for a principal. */
export function actorOf(principal: Principal | undefined): string {
  return principal ? `${principal.kind}:${principal.id}` : 'anonymous';
}

/** Who made a change: the principal, or `system` when the host (or an operator command) made it itself. */
export function changedBy(principal: Principal | undefined): string {
  return principal ? actorOf(principal) : 'system';
}
