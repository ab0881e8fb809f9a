import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError, isAlgaError } from '../../../lib/errors/index.ts';
import { decryptString } from '../../core/secrets/encryption.ts';
import { definePlugin, type HostContext } from '../../core/plugin.ts';
import { claimHost, type ClaimDeps, type ClaimInput, type ClaimStep } from './claim.ts';
import { isCrossOriginWrite } from '../../core/request-site.ts';
import { plainAddress } from '../../core/trusted-proxies.ts';
import { ClaimLockout } from './claim-lockout.ts';
import { isAllowed } from './network.ts';
import { setupPage } from './page.ts';
import { readSetupSettings } from './settings.ts';
import { isClaimed, PROVIDER_KEY_DB, PROVIDER_KEY_KEY, readSetupState, type SetupState } from './state.ts';
import { provisionAtStart } from './provision-at-start.ts';
import { tokenMatches } from './token.ts';

/** What the setup plugin offers other plugins (`host.plugins.get<SetupApi>('setup')`). */
export interface SetupApi {
  addClaimStep(step: ClaimStep): void;
  isClaimed(): boolean;
  /** The host's tenant once claimed. */
  tenantId(): string | undefined;
  /** The provider key stored at claim, decrypted. */
  providerKey(): string | undefined;
}

export type { ClaimStep, ClaimInput };

interface ClaimBody {
  token?: string;
  username?: string;
  password?: string;
  password_confirm?: string;
  provider_key?: string;
  install_code?: string;
}

const claimSchema = {
  type: 'object',
  required: ['token', 'password'],
  additionalProperties: false,
  properties: {
    token: { type: 'string', maxLength: 200 },
    username: { type: 'string', maxLength: 128 },
    password: { type: 'string', maxLength: 1024 },
    provider_key: { type: 'string', maxLength: 4096 },
    install_code: { type: 'string', maxLength: 200 },
  },
} as const;

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8');
}

async function register(host: HostContext): Promise<void> {
  const { routes, store, auth, config } = host;
  const settings = readSetupSettings(config.env);
  const steps: ClaimStep[] = [];
  const deps: ClaimDeps = { dataDir: config.dataDir, store, auth, audit: host.audit, events: host.events, secrets: host.secrets, steps };
  const claimed = () => isClaimed(readSetupState(store), () => auth.hasHumanAdmin());
  const clientOf = (request: FastifyRequest) => plainAddress(request.ip);
  const lockout = new ClaimLockout({ maxFailures: settings.lockoutAttempts, windowMs: settings.lockoutMinutes * 60_000, lockMs: settings.lockoutMinutes * 60_000 });
  const lockedUntil = () => lockout.lockedUntilFor(readSetupState(store).tokenHash);

  const api: SetupApi = {
    addClaimStep: (step) => void steps.push(step),
    isClaimed: claimed,
    tenantId: () => readSetupState(store).tenantId,
    providerKey() {
      const sealed = store.db<string, string>(PROVIDER_KEY_DB).get(PROVIDER_KEY_KEY);
      return sealed ? decryptString(sealed, host.secrets.encryptionKeys) : undefined;
    },
  };
  host.plugins.expose(api);

  function lockedError(until: number): AlgaError {
    return new AlgaError('E_SETUP_LOCKED', `Remote claims resume at ${new Date(until).toISOString()}.`);
  }

  function authorizeWithToken(token: unknown, request: FastifyRequest) {
    return (state: SetupState) => {
      const until = lockout.lockedUntilFor(state.tokenHash);
      if (until) throw lockedError(until);
      if (!tokenMatches(token, state.tokenHash)) {
        const locked = lockout.recordFailure(state.tokenHash);
        if (locked) {
          request.log.warn({ until: new Date(locked).toISOString(), attempts: settings.lockoutAttempts }, 'setup locked: too many wrong setup tokens');
          host.audit.record({ action: 'setup.locked', outcome: 'denied', actor: 'anonymous', detail: { until: new Date(locked).toISOString(), client: clientOf(request) } });
        }
        throw new AlgaError('E_SETUP_TOKEN_INVALID');
      }
      if (state.tokenExpiresAt && Date.parse(state.tokenExpiresAt) <= Date.now()) throw new AlgaError('E_SETUP_TOKEN_EXPIRED');
    };
  }

  async function claimFromRequest(request: FastifyRequest, reply: FastifyReply, body: ClaimBody) {
    try {
      const result = await claimHost(
        deps,
        { username: body.username, password: body.password, providerKey: body.provider_key || undefined, installCode: body.install_code || undefined },
        { via: 'web', authorize: authorizeWithToken(body.token, request) },
      );
      request.log.info({ tenantId: result.tenantId, adminUserId: result.admin.id }, 'host claimed');
      return result;
    } catch (error) {
      if (isAlgaError(error)) {
        host.audit.record({ action: 'setup.claim', outcome: 'denied', actor: 'anonymous', detail: { code: error.code, client: clientOf(request) } });
        const until = error.code === 'E_SETUP_LOCKED' ? lockedUntil() : undefined;
        if (until) reply.header('retry-after', String(Math.ceil((until - Date.now()) / 1000)));
      }
      throw error;
    }
  }

  // One budget per client for every /setup route together (page, form, claim, status, unknown paths).
  const budget = routes.rateLimit({
    max: settings.requestsPerMinute,
    timeWindow: '1 minute',
    keyGenerator: clientOf,
    errorResponseBuilder: () => new AlgaError('E_SETUP_RATE_LIMITED'),
  });

  if (!routes.hasContentTypeParser('application/x-www-form-urlencoded')) await routes.register(formbody);

  // Runs before the body is read: a claimed host answers 410 (the page redirects to sign-in).
  routes.addHook('onRequest', async (request, reply) => {
    if (claimed()) {
      const path = request.url.split('?')[0].replace(/\/$/, '');
      if ((request.method === 'GET' || request.method === 'HEAD') && path === '/setup') return reply.redirect('/login', 303);
      throw new AlgaError('E_SETUP_CLAIMED');
    }
    if (!isAllowed(clientOf(request), settings.allow)) throw new AlgaError('E_SETUP_FORBIDDEN_NETWORK');
  });
  routes.addHook('onRequest', budget);
  // A page elsewhere must not claim the host with a token it got hold of, nor post the form for the operator.
  routes.addHook('onRequest', async (request) => {
    if (!isCrossOriginWrite(request)) return;
    host.audit.record({ action: 'setup.claim', outcome: 'denied', actor: 'anonymous', detail: { code: 'E_CROSS_SITE_REQUEST', client: clientOf(request) } });
    throw new AlgaError('E_CROSS_SITE_REQUEST');
  });

  // Unknown /setup/* paths get the hook above too: 410 once claimed, 404 before.
  routes.setNotFoundHandler(async (request) => {
    throw new AlgaError('E_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
  });

  routes.get('/status', async () => {
    const until = lockedUntil();
    return until ? { claimed: false, locked_until: new Date(until).toISOString() } : { claimed: false };
  });

  routes.post<{ Body: ClaimBody }>('/claim', { schema: { body: claimSchema } }, async (request, reply) => {
    const result = await claimFromRequest(request, reply, request.body);
    return reply.status(201).send({ claimed: true, tenant_id: result.tenantId, admin: { id: result.admin.id, username: result.admin.username }, login: '/login' });
  });

  routes.get('/', async (_request, reply) => pageHeaders(reply).send(setupPage({ installCodes: steps.some((step) => step.handlesInstallCode) })));

  routes.post<{ Body: ClaimBody }>('/', async (request, reply) => {
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as ClaimBody;
    const field = (name: keyof ClaimBody) => (typeof body[name] === 'string' ? body[name] : undefined);
    const installCodes = steps.some((step) => step.handlesInstallCode);
    try {
      if (field('password') !== field('password_confirm')) throw new AlgaError('E_SETUP_PASSWORDS_DIFFER');
      const result = await claimFromRequest(request, reply, {
        token: field('token') ?? '',
        username: field('username'),
        password: field('password') ?? '',
        provider_key: field('provider_key'),
        install_code: field('install_code'),
      });
      // The claimer proved the token and chose the password just now: sign them in and say so.
      auth.issueSession(reply, result.admin);
      return reply.redirect(host.plugins.get('extensions') ? '/?notice=claimed' : '/login', 303);
    } catch (error) {
      if (!isAlgaError(error)) throw error;
      // Everything typed comes back but the passwords and the provider key, so a typo costs one field.
      return pageHeaders(reply.status(error.status)).send(
        setupPage({ error: error.message, errorCode: error.code, username: field('username'), token: field('token'), installCode: field('install_code'), installCodes }),
      );
    }
  });

  host.lifecycle.onListening(({ url }) => provisionAtStart(host, { deps, settings, claimed, url }));
}

export default definePlugin({ name: 'setup', version: '1.0.0', requires: [], prefix: '/setup', register });
