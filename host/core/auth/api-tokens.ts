import { createHash, hash as oneShotHash, randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';
import { DecodedReads } from '../decoded-reads.ts';
import type { HostStore } from '../store.ts';
import { newId } from './accounts.ts';
import { defaultTokenScopes, type TokenKind } from './scopes.ts';

/**
 * API tokens: `alga_<t|p|s>_<43 base64url chars>`. Only their SHA-256 is stored; the token itself
 * is shown once, when it is created.
 */

export interface ApiTokenRecord {
  id: string;
  kind: TokenKind;
  label: string;
  tenantId?: string;
  publisher?: string;
  scopes: string[];
  createdAt: string;
  expiresAt?: string;
  createdBy: string;
}

export interface NewApiToken {
  kind: TokenKind;
  label?: string;
  tenantId?: string;
  publisher?: string;
  scopes?: string[];
  expiresAt?: string;
  createdBy?: string;
}

const kindLetter: Record<TokenKind, string> = { tenant: 't', publisher: 'p', service: 's' };
const scopePattern = /^[a-z][a-z0-9:_.-]{0,63}$/;

const isoDateTime = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** An ISO 8601 date or date-time naming a real calendar day (Date.parse alone accepts 2026-02-31). */
function isIsoDate(value: string): boolean {
  const match = isoDateTime.exec(value);
  if (!match || Number.isNaN(Date.parse(value))) return false;
  const [year, month, day] = match.slice(1, 4).map(Number);
  const calendarDay = new Date(Date.UTC(year, month - 1, day));
  return calendarDay.getUTCMonth() === month - 1 && calendarDay.getUTCDate() === day;
}

/** A token's expiry must be a valid ISO date in the future; an already expired token is never created. */
function checkExpiry(expiresAt: unknown): void {
  if (typeof expiresAt !== 'string' || !isIsoDate(expiresAt)) {
    throw new AlgaError('E_TOKEN_EXPIRY_INVALID', `"${String(expiresAt)}" is not an ISO 8601 date.`);
  }
  if (Date.parse(expiresAt) <= Date.now()) throw new AlgaError('E_TOKEN_EXPIRY_INVALID', `"${expiresAt}" is not in the future.`);
}

export function hashToken(token: string): string {
  // One-shot (Node ≥ 20.12): no Hash object per presented token.
  return typeof oneShotHash === 'function' ? oneShotHash('sha256', token, 'hex') : createHash('sha256').update(token).digest('hex');
}

export class ApiTokens {
  private readonly byHash;
  private readonly hashById;
  /** Every call presents its token: its record is decoded again only when it changed. */
  private readonly presented;

  constructor(private readonly store: HostStore) {
    this.byHash = store.db<ApiTokenRecord, string>('core.tokens');
    this.hashById = store.db<string, string>('core.token-ids');
    this.presented = new DecodedReads(this.byHash);
  }

  create(input: NewApiToken, tenantExists: (id: string) => boolean): { token: string; record: ApiTokenRecord } {
    if (!(input.kind in kindLetter)) throw new AlgaError('E_REQUEST_INVALID', 'Token kind must be tenant, publisher or service.');
    if (input.kind === 'tenant' && (!input.tenantId || !tenantExists(input.tenantId))) {
      throw new AlgaError('E_TENANT_UNKNOWN', `A tenant token needs an existing tenantId${input.tenantId ? ` ("${input.tenantId}")` : ''}.`);
    }
    if (input.kind === 'publisher' && (typeof input.publisher !== 'string' || input.publisher.trim() === '')) {
      throw new AlgaError('E_REQUEST_INVALID', 'A publisher token needs the publisher it may publish for.');
    }
    const scopes = input.scopes ?? [...defaultTokenScopes[input.kind]];
    if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && scopePattern.test(scope))) {
      throw new AlgaError('E_REQUEST_INVALID', 'Token scopes must be a list of scope names such as "ext:call".');
    }
    if (input.expiresAt !== undefined) checkExpiry(input.expiresAt);
    const token = `alga_${kindLetter[input.kind]}_${randomBytes(32).toString('base64url')}`;
    const record: ApiTokenRecord = {
      id: newId('tok'),
      kind: input.kind,
      label: input.label ?? `${input.kind} token`,
      ...(input.tenantId !== undefined && input.kind !== 'publisher' ? { tenantId: input.tenantId } : {}),
      ...(input.kind === 'publisher' ? { publisher: input.publisher!.trim() } : {}),
      scopes,
      createdAt: new Date().toISOString(),
      ...(input.expiresAt ? { expiresAt: new Date(input.expiresAt).toISOString() } : {}),
      createdBy: input.createdBy ?? 'system',
    };
    const hash = hashToken(token);
    this.store.transaction(() => {
      this.byHash.putSync(hash, record);
      this.hashById.putSync(record.id, hash);
    });
    return { token, record };
  }

  /** The live record for a presented token (frozen), or undefined (unknown, malformed or expired). */
  resolve(token: string): ApiTokenRecord | undefined {
    if (typeof token !== 'string' || !token.startsWith('alga_') || token.length > 200) return undefined;
    const hash = hashToken(token);
    const record = this.presented.get(hash, hash);
    if (!record) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) <= Date.now()) return undefined;
    return record;
  }

  get(id: string): ApiTokenRecord | undefined {
    const hash = this.hashById.get(id);
    return hash ? this.byHash.get(hash) : undefined;
  }

  list(filter: { tenantId?: string; kind?: TokenKind } = {}): ApiTokenRecord[] {
    return [...this.byHash.getRange({})]
      .map(({ value }) => value)
      .filter((record) => (filter.tenantId === undefined || record.tenantId === filter.tenantId) && (filter.kind === undefined || record.kind === filter.kind));
  }

  /** Revokes every token `matches` selects; returns them. Synchronous: compose it in a transaction. */
  revokeWhere(matches: (record: ApiTokenRecord) => boolean): ApiTokenRecord[] {
    const revoked: ApiTokenRecord[] = [];
    for (const { key, value } of [...this.byHash.getRange({})]) {
      if (!matches(value)) continue;
      this.byHash.removeSync(key);
      this.hashById.removeSync(value.id);
      revoked.push(value);
    }
    return revoked;
  }

  revoke(id: string): ApiTokenRecord {
    return this.store.transaction(() => {
      const hash = this.hashById.get(id);
      const record = hash ? this.byHash.get(hash) : undefined;
      if (!hash || !record) throw new AlgaError('E_TOKEN_UNKNOWN', `Token "${id}".`);
      this.byHash.removeSync(hash);
      this.hashById.removeSync(id);
      return record;
    });
  }
}
