import type { ErrorDefinition } from './index.ts';

/** Fleet errors: the PostgreSQL and Redis engines, shared bundles, runner routing. */
export const fleetErrors = {
  E_DATABASE_URL_INVALID: { status: 400, message: 'The database URL must look like postgres://user@host:5432/database.' },
  E_DATABASE_UNREACHABLE: { status: 503, message: 'The PostgreSQL database cannot be reached; check --database (ALGA_DATABASE_URL) and that PostgreSQL is running.' },
  E_DATABASE_UNAVAILABLE: { status: 503, message: 'The database did not answer in time; retry shortly.' },
  E_DATABASE_CONFLICT: { status: 503, message: 'The change kept colliding with concurrent changes on other nodes and was not made; retry.' },
  E_DATABASE_SCHEMA_NEWER: { status: 500, message: 'The database was set up by a newer version of Alga; upgrade this node to use it.' },
  E_REDIS_URL_INVALID: { status: 400, message: 'The Redis URL must look like redis://host:6379.' },
  E_REDIS_UNREACHABLE: { status: 503, message: 'Redis cannot be reached; check --redis (ALGA_REDIS_URL) and that Redis is running.' },
  E_RATE_LIMIT_UNAVAILABLE: { status: 503, message: 'This route\'s rate limit cannot be counted because Redis did not answer, so the request was not let through; retry shortly.' },
  E_QUOTA_UNAVAILABLE: { status: 503, message: 'The request quota cannot be checked because Redis did not answer; retry shortly.' },
  E_FLEET_CONFIG_INVALID: { status: 400, message: 'The fleet configuration is invalid.' },
  E_FLEET_SECRETS_MISMATCH: { status: 500, message: 'This node\'s infra secrets differ from those of the fleet it joins; copy the secrets folder of a running node (<data>/secrets) to this node.' },
  E_BUNDLE_STORE_UNAVAILABLE: { status: 503, message: 'The shared bundle store cannot be reached; retry shortly.' },
} as const satisfies Record<string, ErrorDefinition>;
