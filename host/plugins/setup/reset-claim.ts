import { existsSync, rmSync } from 'node:fs';
import type { ApiTokenRecord, HostAuth, PublicUser } from '../../core/auth/index.ts';
import type { HostStore } from '../../core/store.ts';
import { serviceTokenPath } from '../license/service-token.ts';
import { readSetupState, writeSetupState } from './state.ts';
import { openSetupWithFreshToken } from './surface-token.ts';

/**
 * Recovery: reopens first-run setup with a fresh token and, in the same transaction, voids every
 * credential issued before it — every session ends, every admin-level API token is revoked and
 * every admin account is suspended — so whoever held the host before cannot act as its admin
 * after it. The tenant, other accounts, installs and the license stay.
 */

export interface ResetClaimReport {
  token: string;
  banner: string[];
  sessionsEnded: number;
  tokensRevoked: ApiTokenRecord[];
  adminsSuspended: PublicUser[];
  /** `<data>/license-service-token` held a token that was revoked, and was removed. */
  serviceTokenFileRemoved: boolean;
}

export function resetClaim(options: { store: HostStore; auth: HostAuth; dataDir: string; ttlMinutes?: number; setupUrl: string }): ResetClaimReport {
  const { store, auth, dataDir } = options;
  const { evicted, surfaced } = store.transaction(() => {
    const state = readSetupState(store);
    writeSetupState(store, { status: 'unclaimed', reopenedAt: new Date().toISOString(), ...(state.tenantId ? { tenantId: state.tenantId } : {}) });
    return {
      evicted: auth.evictEveryone(),
      surfaced: openSetupWithFreshToken({ store, dataDir, ttlMinutes: options.ttlMinutes, setupUrl: options.setupUrl }),
    };
  });
  const serviceTokenFile = serviceTokenPath(dataDir);
  const serviceTokenFileRemoved = evicted.tokensRevoked.some((record) => record.scopes.includes('license:admin')) && existsSync(serviceTokenFile);
  if (serviceTokenFileRemoved) rmSync(serviceTokenFile, { force: true });
  return { ...surfaced, ...evicted, serviceTokenFileRemoved };
}

/** What the operator reads: what was voided, and how to let the old admins back in. */
export function describeReset(report: ResetClaimReport, dataDir: string): string[] {
  const lines = [`Setup reopened for ${dataDir}. Every credential issued before this reset is void:`];
  lines.push(`  ended ${report.sessionsEnded} session(s): everyone signs in again`);
  if (report.tokensRevoked.length === 0) lines.push('  revoked 0 admin API tokens');
  else {
    lines.push(`  revoked ${report.tokensRevoked.length} admin API token(s):`);
    for (const record of report.tokensRevoked) lines.push(`    ${record.id} "${record.label}" (${record.scopes.join(' ')})`);
  }
  if (report.adminsSuspended.length === 0) lines.push('  suspended 0 admin accounts');
  else {
    lines.push(`  suspended ${report.adminsSuspended.length} admin account(s); their passwords no longer sign in:`);
    for (const user of report.adminsSuspended) lines.push(`    ${user.username} (${user.id})`);
    lines.push('  Claim with a new admin user name below; then reactivate an old account you trust with');
    lines.push('  POST /api/admin/users/<id>/reactivate.');
  }
  if (report.serviceTokenFileRemoved) {
    lines.push('  The license service token was revoked and its file removed; restart the control plane to mint a new one.');
  }
  return [...lines, ...report.banner];
}
