import type { FastifyBaseLogger } from 'fastify';
import type { HostConfig } from '../config.ts';
import { connectFleetRedis } from '../../../lib/fleet/redis.ts';
import type { InfraSecrets } from '../infra-secrets.ts';
import type { ManagedRunner } from './external.ts';
import { runnerFleet } from './fleet.ts';

/**
 * The runner fleet this node calls, when its configuration names one: several runner URLs, or
 * runners found by their heartbeats in Redis. Undefined for one runner (RUNNER_BASE_URL) or the
 * embedded runner child, which start.ts sets up as before.
 */
export function fleetRunners(config: HostConfig, secrets: InfraSecrets, log: FastifyBaseLogger): ManagedRunner | undefined {
  const { fleet } = config;
  if (!fleet.discoverRunners && fleet.runnerUrls.length < 2) return undefined;
  const redis = fleet.discoverRunners && fleet.redisUrl ? connectFleetRedis(fleet.redisUrl, (error) => log.warn({ err: error.message }, 'Redis is not answering; runner membership is kept as last seen')) : undefined;
  return runnerFleet({
    serviceToken: secrets.runnerServiceToken,
    publicKey: () => secrets.runnerKeyPair.publicKey,
    publicBaseUrl: config.runnerPublicBase,
    urls: fleet.runnerUrls,
    ...(redis ? { discovery: { redis, prefix: fleet.redisPrefix } } : {}),
    onMembersChanged: (added, removed) => log.info({ added, removed }, 'runner fleet changed'),
    onStopped: () => redis?.disconnect(),
  });
}
