import { randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { HostStore } from '../store.ts';
import { isRole, roles, type Role } from './scopes.ts';

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface User {
  id: string;
  username: string;
  role: Role;
  tenantId?: string;
  passwordHash: string;
  createdAt: string;
  /**
   * Set by `alga-host reset-claim` on every admin account that existed before it: the password no
   * longer signs in until an admin reactivates the account (POST /api/admin/users/:id/reactivate).
   */
  suspendedAt?: string;
}

/** A user as shown to clients: without the password hash. */
export type PublicUser = Omit<User, 'passwordHash'>;

export function publicUser(user: User): PublicUser {
  const { passwordHash: _omit, ...rest } = user;
  return rest;
}

const tenantIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const usernamePattern = /^[^\s]{1,128}$/;

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

/** Tenants and users in the store. Writes are synchronous so callers can compose them in one transaction. */
export class Accounts {
  private readonly tenants;
  private readonly users;
  private readonly usernames;

  constructor(private readonly store: HostStore) {
    this.tenants = store.db<Tenant, string>('core.tenants');
    this.users = store.db<User, string>('core.users');
    this.usernames = store.db<string, string>('core.usernames');
  }

  putTenant(input: { id?: string; name: string }): Tenant {
    const id = input.id ?? newId('tnt');
    if (!tenantIdPattern.test(id)) throw new AlgaError('E_REQUEST_INVALID', `Tenant id "${id}" must be 1-64 letters, digits, ".", "_" or "-".`);
    if (typeof input.name !== 'string' || input.name.trim() === '') throw new AlgaError('E_REQUEST_INVALID', 'A tenant needs a name.');
    return this.store.transaction(() => {
      if (this.tenants.get(id)) throw new AlgaError('E_TENANT_EXISTS', `Tenant "${id}".`);
      const tenant: Tenant = { id, name: input.name.trim(), createdAt: new Date().toISOString() };
      this.tenants.putSync(id, tenant);
      return tenant;
    });
  }

  getTenant(id: string): Tenant | undefined {
    return this.tenants.get(id);
  }

  listTenants(): Tenant[] {
    return [...this.tenants.getRange({})].map(({ value }) => value);
  }

  /** Stores a user whose password is already hashed. Synchronous: safe inside `store.transaction`. */
  putUser(input: { username: string; passwordHash: string; role: Role; tenantId?: string }): User {
    if (typeof input.username !== 'string' || !usernamePattern.test(input.username)) {
      throw new AlgaError('E_REQUEST_INVALID', 'A user name is 1-128 characters without spaces.');
    }
    if (!isRole(input.role)) throw new AlgaError('E_REQUEST_INVALID', `A user's role is one of ${roles.join(', ')}.`);
    if (input.role !== 'admin' && input.tenantId === undefined) throw new AlgaError('E_REQUEST_INVALID', `A ${input.role} belongs to a tenant: give tenantId.`);
    const key = input.username.toLowerCase();
    return this.store.transaction(() => {
      if (this.usernames.get(key)) throw new AlgaError('E_USER_EXISTS', `User "${input.username}".`);
      if (input.tenantId !== undefined && !this.tenants.get(input.tenantId)) throw new AlgaError('E_TENANT_UNKNOWN', `Tenant "${input.tenantId}".`);
      const user: User = {
        id: newId('usr'),
        username: input.username,
        role: input.role,
        ...(input.tenantId !== undefined ? { tenantId: input.tenantId } : {}),
        passwordHash: input.passwordHash,
        createdAt: new Date().toISOString(),
      };
      this.users.putSync(user.id, user);
      this.usernames.putSync(key, user.id);
      return user;
    });
  }

  getUser(id: string): User | undefined {
    return this.users.get(id);
  }

  findUser(username: string): User | undefined {
    const id = typeof username === 'string' ? this.usernames.get(username.toLowerCase()) : undefined;
    return id ? this.users.get(id) : undefined;
  }

  listUsers(filter: { tenantId?: string; role?: Role } = {}): User[] {
    return [...this.users.getRange({})]
      .map(({ value }) => value)
      .filter((user) => (filter.tenantId === undefined || user.tenantId === filter.tenantId) && (filter.role === undefined || user.role === filter.role));
  }

  /** Suspends every admin account not suspended yet; returns them. Synchronous: compose it in a transaction. */
  suspendAdmins(now = new Date()): User[] {
    const suspended: User[] = [];
    for (const { key, value } of this.users.getRange({})) {
      if (value.role !== 'admin' || value.suspendedAt) continue;
      const user = { ...value, suspendedAt: now.toISOString() };
      this.users.putSync(key, user);
      suspended.push(user);
    }
    return suspended;
  }

  reactivate(id: string): User {
    return this.store.transaction(() => {
      const user = this.users.get(id);
      if (!user) throw new AlgaError('E_USER_UNKNOWN', `User "${id}".`);
      const { suspendedAt: _cleared, ...active } = user;
      this.users.putSync(id, active);
      return active;
    });
  }

  hasHumanAdmin(): boolean {
    for (const { value } of this.users.getRange({})) if (value.role === 'admin') return true;
    return false;
  }
}
