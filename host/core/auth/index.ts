import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { AuditLog } from '../audit.ts';
import { isCrossOriginWrite } from '../request-site.ts';
import type { HostStore } from '../store.ts';
import { Accounts, publicUser, type PublicUser, type Tenant, type User } from './accounts.ts';
import { ApiTokens, type ApiTokenRecord, type NewApiToken } from './api-tokens.ts';
import { decoyPasswordHash, hashPassword, verifyPasswordHash } from './passwords.ts';
import { actorOf, changedBy, hasScope, isAdminLevelScope, roleScopes, Scope, type Principal, type Role } from './scopes.ts';
import { SECURE_SESSION_COOKIE, SESSION_COOKIE, Sessions } from './sessions.ts';

export { Scope, hasScope, actorOf, type Principal, type Role, type TokenKind } from './scopes.ts';
export type { Tenant, User, PublicUser, ApiTokenRecord, NewApiToken };
export { hashPassword, SESSION_COOKIE, SECURE_SESSION_COOKIE };

/**
 * What plugins get as `host.auth`: accounts, passwords, sessions, API tokens, and preHandlers
 * that require a principal with a scope. The caller's identity comes only from a session
 * cookie or an `Authorization: Bearer` API token — never from any other header.
 */
export interface HostAuth {
  createTenant(input: { id?: string; name: string }, actor?: Principal): Tenant;
  getTenant(id: string): Tenant | undefined;
  listTenants(): Tenant[];

  /** Hashes (scrypt) and stores a user. */
  createUser(input: { username: string; password: string; role: Role; tenantId?: string }, actor?: Principal): Promise<PublicUser>;
  /** A human admin (role `admin`). */
  createAdmin(input: { username: string; password: string; tenantId?: string }, actor?: Principal): Promise<PublicUser>;
  /** Hash first, outside a transaction… */
  hashPassword(password: string): Promise<string>;
  /** …then store synchronously, e.g. inside `store.transaction` with other changes. */
  putUserWithHash(input: { username: string; passwordHash: string; role: Role; tenantId?: string }): PublicUser;
  hasHumanAdmin(): boolean;
  getUser(id: string): PublicUser | undefined;
  listUsers(filter?: { tenantId?: string; role?: Role }): PublicUser[];
  /** The user when the password is right, undefined otherwise (same time either way). */
  verifyPassword(username: string, password: string): Promise<PublicUser | undefined>;

  /** Starts a browser session: sets the signed session cookie (`__Host-alga_session` over HTTPS, else `alga_session`) on the reply. */
  issueSession(reply: FastifyReply, user: PublicUser): void;
  endSession(request: FastifyRequest, reply: FastifyReply): void;
  /** onSend: re-signs the session cookie with the active key when a rotated-out key signed it. */
  renewSessionCookie(request: FastifyRequest, reply: FastifyReply): void;

  /** Returns the token once; only its hash is stored. */
  createToken(input: NewApiToken, actor?: Principal): { token: string; record: ApiTokenRecord };
  revokeToken(id: string, actor?: Principal): ApiTokenRecord;
  listTokens(filter?: { tenantId?: string; kind?: ApiTokenRecord['kind'] }): ApiTokenRecord[];

  /**
   * Recovery (`alga-host reset-claim`): ends every session, revokes every admin-level API token
   * (`admin` or `…:admin` scope) and suspends every admin account, so nothing issued before it
   * still acts as an admin. Synchronous: run it in the same transaction that reopens setup.
   */
  evictEveryone(): { sessionsEnded: number; tokensRevoked: ApiTokenRecord[]; adminsSuspended: PublicUser[] };
  /** Lifts a reset-claim suspension. */
  reactivateUser(id: string, actor?: Principal): PublicUser;

  /** Who sent the request (cached per request), or undefined. */
  principalOf(request: FastifyRequest): Principal | undefined;
  /** preHandler or onRequest hook (onRequest refuses before the body is read): 401 without a principal, 403 without the scope (`admin` implies all). */
  requireScope(scope: string): preHandlerAsyncHookHandler;
  /** preHandler: like requireScope, and the principal must belong to a tenant. */
  requireTenantScope(scope: string): preHandlerAsyncHookHandler;
}

export interface AuthOptions {
  store: HostStore;
  audit: AuditLog;
  /** Send the session cookie only over HTTPS (as `__Host-alga_session`), whatever protocol the request reports. */
  secureCookies?: boolean;
  sessionTtlMs?: number;
  /** The runner's infra service token: accepted as a `service` principal that may read the registry. */
  runnerServiceToken?: string;
}

export function createAuth({ store, audit, secureCookies = false, sessionTtlMs, runnerServiceToken }: AuthOptions): HostAuth {
  const accounts = new Accounts(store);
  const tokens = new ApiTokens(store);
  const sessions = new Sessions(store, sessionTtlMs);
  const principals = new WeakMap<FastifyRequest, Principal | null>();
  /** Requests whose valid session cookie was signed by a rotated-out key: id and expiry, to re-sign it. */
  const renewals = new WeakMap<FastifyRequest, { id: string; expiresAt: string }>();
  const runnerPrincipal: Principal = { kind: 'token', id: 'runner', name: 'runner service token', tokenKind: 'service', scopes: [Scope.registryRead] };

  function principalFromToken(record: ApiTokenRecord): Principal {
    return {
      kind: 'token',
      id: record.id,
      name: record.label,
      tokenKind: record.kind,
      scopes: record.scopes,
      ...(record.tenantId !== undefined ? { tenantId: record.tenantId } : {}),
      ...(record.publisher !== undefined ? { publisher: record.publisher } : {}),
    };
  }

  function principalFromUser(user: User): Principal {
    return {
      kind: 'user',
      id: user.id,
      name: user.username,
      role: user.role,
      scopes: roleScopes[user.role] ?? [],
      ...(user.tenantId !== undefined ? { tenantId: user.tenantId } : {}),
    };
  }

  /** `__Host-alga_session` (Secure) when the host is served over HTTPS, else `alga_session`. */
  const sessionCookie = (request: FastifyRequest) => (secureCookies || request.protocol === 'https' ? { name: SECURE_SESSION_COOKIE, secure: true } : { name: SESSION_COOKIE, secure: false });

  /**
   * The session cookie's value, unless the request carries that name twice: a browser sends both
   * when a page on another host name of the same site planted a second cookie of that name
   * (with `Domain=` or a narrower `Path`), and neither can be told apart as the real one.
   */
  function presentedSession(request: FastifyRequest): string | undefined {
    const { name } = sessionCookie(request);
    const header = request.headers.cookie;
    if (typeof header === 'string' && header.split(';').filter((pair) => pair.trim().startsWith(`${name}=`)).length > 1) return undefined;
    return request.cookies?.[name];
  }

  function resolve(request: FastifyRequest): Principal | undefined {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
      const presented = authorization.slice('Bearer '.length).trim();
      const record = tokens.resolve(presented);
      if (record) return principalFromToken(record);
      if (runnerServiceToken && isSameSecret(presented, runnerServiceToken)) return runnerPrincipal;
      // A bad bearer token never falls back to the cookie: the caller meant the token.
      return undefined;
    }
    const cookie = presentedSession(request);
    if (!cookie || isCrossOriginWrite(request)) return undefined;
    const unsigned = request.unsignCookie(cookie);
    if (!unsigned.valid || !unsigned.value) return undefined;
    const session = sessions.resolve(unsigned.value);
    const user = session ? accounts.getUser(session.userId) : undefined;
    if (!user || user.suspendedAt) return undefined;
    if (unsigned.renew) renewals.set(request, { id: unsigned.value, expiresAt: session!.expiresAt });
    return principalFromUser(user);
  }

  function principalOf(request: FastifyRequest): Principal | undefined {
    let principal = principals.get(request);
    if (principal === undefined) {
      principal = resolve(request) ?? null;
      principals.set(request, principal);
    }
    return principal ?? undefined;
  }

  function requireScope(scope: string, needsTenant = false): preHandlerAsyncHookHandler {
    return async function requireScopeHandler(request) {
      const principal = principalOf(request);
      if (!principal) throw new AlgaError('E_AUTH_REQUIRED');
      if (!hasScope(principal, scope) || (needsTenant && principal.tenantId === undefined)) {
        audit.record({ action: 'auth.denied', outcome: 'denied', actor: actorOf(principal), tenantId: principal.tenantId, target: `${request.method} ${request.routeOptions.url ?? request.url}`, detail: { scope } });
        throw new AlgaError('E_AUTH_FORBIDDEN', needsTenant && principal.tenantId === undefined ? 'It needs a tenant account or tenant token.' : `It needs the "${scope}" scope.`);
      }
    };
  }

  function putUserWithHash(input: { username: string; passwordHash: string; role: Role; tenantId?: string }, actor?: Principal): PublicUser {
    const user = publicUser(accounts.putUser(input));
    audit.record({ action: 'user.created', actor: changedBy(actor), tenantId: user.tenantId, target: `user:${user.id}`, detail: { username: user.username, role: user.role } });
    return user;
  }

  async function createUser(input: { username: string; password: string; role: Role; tenantId?: string }, actor?: Principal): Promise<PublicUser> {
    const passwordHash = await hashPassword(input.password);
    return putUserWithHash({ username: input.username, passwordHash, role: input.role, tenantId: input.tenantId }, actor);
  }

  return {
    createTenant(input, actor) {
      const tenant = accounts.putTenant(input);
      audit.record({ action: 'tenant.created', actor: changedBy(actor), tenantId: tenant.id, target: `tenant:${tenant.id}` });
      return tenant;
    },
    getTenant: (id) => accounts.getTenant(id),
    listTenants: () => accounts.listTenants(),
    createUser,
    createAdmin: (input, actor) => createUser({ ...input, role: 'admin' }, actor),
    hashPassword,
    putUserWithHash: (input) => putUserWithHash(input),
    hasHumanAdmin: () => accounts.hasHumanAdmin(),
    getUser(id) {
      const user = accounts.getUser(id);
      return user ? publicUser(user) : undefined;
    },
    listUsers: (filter) => accounts.listUsers(filter).map(publicUser),
    async verifyPassword(username, password) {
      const user = accounts.findUser(username);
      const ok = await verifyPasswordHash(password, user?.passwordHash ?? (await decoyPasswordHash()));
      const suspended = Boolean(ok && user?.suspendedAt);
      audit.record({ action: 'auth.password', outcome: ok && user && !suspended ? 'ok' : 'denied', actor: user ? `user:${user.id}` : 'anonymous', tenantId: user?.tenantId, detail: { username: String(username).slice(0, 128), ...(suspended ? { suspended } : {}) } });
      return ok && user && !suspended ? publicUser(user) : undefined;
    },
    issueSession(reply, user) {
      const { id } = sessions.create(user.id);
      const { name, secure } = sessionCookie(reply.request);
      reply.setCookie(name, id, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: sessions.ttlSeconds });
      audit.record({ action: 'session.started', actor: `user:${user.id}`, tenantId: user.tenantId });
    },
    endSession(request, reply) {
      const principal = principalOf(request);
      const cookie = presentedSession(request);
      const unsigned = cookie ? request.unsignCookie(cookie) : undefined;
      if (unsigned?.valid && unsigned.value) sessions.end(unsigned.value);
      const { name, secure } = sessionCookie(request);
      reply.clearCookie(name, { path: '/', secure, httpOnly: true, sameSite: 'lax' });
      if (principal) audit.record({ action: 'session.ended', actor: actorOf(principal), tenantId: principal.tenantId });
    },
    renewSessionCookie(request, reply) {
      const renewal = renewals.get(request);
      if (!renewal || reply.hasHeader('set-cookie')) return;
      const maxAge = Math.floor((Date.parse(renewal.expiresAt) - Date.now()) / 1000);
      if (maxAge <= 0) return;
      const { name, secure } = sessionCookie(request);
      reply.setCookie(name, renewal.id, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge });
    },
    createToken(input, actor) {
      const created = tokens.create({ ...input, createdBy: changedBy(actor) }, (id) => accounts.getTenant(id) !== undefined);
      audit.record({ action: 'token.created', actor: changedBy(actor), tenantId: created.record.tenantId, target: `token:${created.record.id}`, detail: { kind: created.record.kind, scopes: created.record.scopes } });
      return created;
    },
    revokeToken(id, actor) {
      const record = tokens.revoke(id);
      audit.record({ action: 'token.revoked', actor: changedBy(actor), tenantId: record.tenantId, target: `token:${id}` });
      return record;
    },
    listTokens: (filter) => tokens.list(filter),
    evictEveryone() {
      const sessionsEnded = sessions.endEvery();
      const tokensRevoked = tokens.revokeWhere((record) => record.scopes.some(isAdminLevelScope));
      const adminsSuspended = accounts.suspendAdmins().map(publicUser);
      audit.record({ action: 'auth.evicted', detail: { sessionsEnded, tokensRevoked: tokensRevoked.map((record) => record.id), adminsSuspended: adminsSuspended.map((user) => user.id) } });
      return { sessionsEnded, tokensRevoked, adminsSuspended };
    },
    reactivateUser(id, actor) {
      const user = publicUser(accounts.reactivate(id));
      audit.record({ action: 'user.reactivated', actor: changedBy(actor), tenantId: user.tenantId, target: `user:${user.id}` });
      return user;
    },
    principalOf,
    requireScope: (scope) => requireScope(scope),
    requireTenantScope: (scope) => requireScope(scope, true),
  };
}

function isSameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}
