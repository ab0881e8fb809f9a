import { Counter, type Registry } from 'prom-client';
import type { CapabilityFactor } from './factor.ts';
import { HostError } from './factor.ts';

export interface UiProxyConfig {
  baseUrl?: string;
  authKey?: string;
  timeoutMs: number;
  /** Largest answer passed back to the guest; never above the execution's `maxResponseBytes`. */
  maxResponseBytes?: number;
}

const routePattern = /^[A-Za-z0-9_\-./]{1,200}$/;

/**
 * `alga.ui_proxy`: calls the host route configured for the install
 * (`POST {UI_PROXY_BASE_URL}{route_base}/{route}`) with the payload bytes, and returns the answer bytes.
 */
export function createUiProxyFactor(options: { config: UiProxyConfig; registry: Registry }): CapabilityFactor {
  const calls = new Counter({ name: 'runner_ui_proxy_calls_total', help: 'Guest ui-proxy calls by result.', labelNames: ['result'], registers: [options.registry] });
  const { config } = options;

  return {
    capability: 'alga.ui_proxy',
    iface: 'ui-proxy',
    functions: {
      callRoute: async (scope, [route, payload]) => {
        if (!config.baseUrl) throw new HostError('unavailable', 'No UI proxy is configured on this runner.');
        if (typeof route !== 'string' || !routePattern.test(route) || route.split('/').some((part) => part === '..' || part === '.')) {
          throw new HostError('invalid', 'The route must be a relative path of letters, digits, "-", "_", "." and "/".');
        }
        const base = config.baseUrl.replace(/\/$/, '') + (scope.uiProxyRouteBase ?? '').replace(/\/$/, '');
        const url = `${base}/${route.replace(/^\//, '')}`;
        const signal = AbortSignal.any([scope.signal, AbortSignal.timeout(Math.min(config.timeoutMs, scope.limits.timeoutMs))]);
        let response: Response;
        try {
          response = await fetch(url, {
            method: 'POST',
            signal,
            headers: {
              'content-type': 'application/octet-stream',
              ...(config.authKey ? { authorization: `Bearer ${config.authKey}` } : {}),
              'x-alga-tenant': scope.tenantId,
              'x-alga-extension': scope.extensionId,
              'x-alga-install': scope.installId,
              'x-alga-request-id': scope.requestId,
            },
            body: payload instanceof Uint8Array ? Buffer.from(payload) : Buffer.alloc(0),
          });
        } catch {
          calls.inc({ result: 'unavailable' });
          throw new HostError('unavailable', 'The UI proxy route did not answer.');
        }
        if (!response.ok) {
          await response.body?.cancel().catch(() => {});
          const tag = response.status === 404 ? 'not-found' : response.status === 403 || response.status === 401 ? 'denied' : response.status === 400 ? 'invalid' : response.status === 429 ? 'limit' : 'unavailable';
          calls.inc({ result: tag });
          throw new HostError(tag, `The UI proxy route answered ${response.status}.`);
        }
        const maxBytes = Math.min(config.maxResponseBytes ?? Infinity, scope.limits.maxResponseBytes);
        let body: Uint8Array | undefined;
        try {
          body = await readAtMost(response, maxBytes);
        } catch {
          calls.inc({ result: 'unavailable' });
          throw new HostError('unavailable', 'The UI proxy route broke off its answer.');
        }
        if (!body) {
          calls.inc({ result: 'limit' });
          throw new HostError('limit', `The UI proxy route answered more than ${maxBytes} bytes.`);
        }
        calls.inc({ result: 'ok' });
        return body;
      },
    },
  };
}

/** The answer body, or undefined once it passes `maxBytes` (the rest is neither read nor kept). */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}
