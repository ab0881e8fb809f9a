import { Counter, type Registry } from 'prom-client';
import type { CapabilityFactor } from './factor.ts';
import { HostError } from './factor.ts';

export interface UiProxyConfig {
  baseUrl?: string;
  authKey?: string;
  timeoutMs: number;
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
        const body = new Uint8Array(await response.arrayBuffer());
        if (response.ok) {
          calls.inc({ result: 'ok' });
          return body;
        }
        const tag = response.status === 404 ? 'not-found' : response.status === 403 || response.status === 401 ? 'denied' : response.status === 400 ? 'invalid' : response.status === 429 ? 'limit' : 'unavailable';
        calls.inc({ result: tag });
        throw new HostError(tag, `The UI proxy route answered ${response.status}.`);
      },
    },
  };
}
