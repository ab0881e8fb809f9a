import { connectFleetRedis } from '../../../../lib/fleet/redis.ts';
import type { HostContext } from '../../../core/plugin.ts';
import { QuotaTracker, type Quotas } from './quotas.ts';
import { RedisQuotas } from './redis-quotas.ts';

/** Margin of a lease beyond the gateway's own deadline for a call. */
const leaseMarginMs = 5_000;

/**
 * The gateway's quotas on this node: in Redis when the host has one (a fleet: limits hold across
 * nodes), else in this process (the embedded default). The Redis client closes with the host.
 */
export function fleetQuotas(host: Pick<HostContext, 'config' | 'log' | 'lifecycle'>): Quotas {
  const { redisUrl, redisPrefix } = host.config.fleet;
  if (!redisUrl) return new QuotaTracker();
  const redis = connectFleetRedis(redisUrl, (error) => host.log.warn({ err: error.message }, 'Redis is not answering; gateway calls answer E_QUOTA_UNAVAILABLE until it does'));
  host.lifecycle.onClose(() => redis.disconnect());
  return new RedisQuotas({ redis, prefix: redisPrefix, leaseTtlMs: host.config.gatewayTimeoutMs + leaseMarginMs });
}
