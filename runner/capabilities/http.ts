import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';
import { egressAllows } from '../../lib/bundle/egress.ts';
import { isPrivateAddress, privateRangeOf } from './egress-address.ts';

/**
 * `alga.http`: outbound HTTP to hosts (and ports) on both the manifest's and the install's egress
 * list (grammar in lib/bundle/egress.ts).
 * The name is resolved here and every resolved address checked, and the connection goes to
 * that checked address (no second lookup), so DNS tricks cannot reach private ranges.
 * Redirects are returned to the guest, not followed.
 */

interface OutboundRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: Uint8Array;
  timeoutMs?: number;
}

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);

export function createHttpFactor(options: { allowPrivate: boolean; registry: Registry }): CapabilityFactor {
  const requests = new Counter({ name: 'runner_egress_requests_total', help: 'Guest egress requests by result.', labelNames: ['result'], registers: [options.registry] });
  const bytes = new Counter({ name: 'runner_egress_bytes_total', help: 'Bytes sent and received by guest egress.', labelNames: ['direction'], registers: [options.registry] });

  async function fetchFor(scope: ExecutionScope, outbound: OutboundRequest): Promise<{ status: number; headers: [string, string][]; body: Uint8Array }> {
    let url: URL;
    try {
      url = new URL(outbound.url);
    } catch {
      throw new HostError('invalid', 'The URL is not valid.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HostError('invalid', 'Only http and https URLs are allowed.');
    if (url.username || url.password) throw new HostError('invalid', 'Credentials in the URL are not allowed.');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const destination = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    if (!egressAllows(scope.manifest.egress ?? [], url)) throw scope.deny('alga.http', `${destination} is not in the extension's egress list.`);
    if (!egressAllows(scope.installEgress, url)) throw scope.deny('alga.http', `${destination} is not in the install's egress list.`);

    let addresses: { address: string; family: number }[];
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new HostError('unavailable', unresolvedReason(host, (error as NodeJS.ErrnoException).code));
    }
    if (addresses.length === 0) throw new HostError('unavailable', unresolvedReason(host, 'ENODATA'));
    if (!options.allowPrivate) {
      const blocked = addresses.find((entry) => isPrivateAddress(entry.address));
      if (blocked) {
        throw scope.deny(
          'alga.http',
          `${host} resolves to ${blocked.address} (${privateRangeOf(blocked.address)}); extensions may not reach loopback, link-local or private addresses ` +
            'unless the operator allows it (RUNNER_EGRESS_ALLOW_PRIVATE=1; `alga-ext run --allow-private-egress` locally).',
        );
      }
    }
    const body = outbound.body ?? new Uint8Array();
    if (scope.usage.egressBytes + body.length > scope.limits.maxEgressBytes) throw new HostError('limit', `Egress is limited to ${scope.limits.maxEgressBytes} bytes per execution.`);
    const timeoutMs = Math.min(outbound.timeoutMs ?? scope.limits.egressTimeoutMs, scope.limits.egressTimeoutMs);
    const pinned = addresses[0];
    const pinnedLookup: LookupFunction = (_hostname, lookupOptions, callback) => {
      if ((lookupOptions as { all?: boolean }).all) (callback as Function)(null, [pinned]);
      else callback(null, pinned.address, pinned.family);
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of outbound.headers ?? []) if (!hopByHop.has(name.toLowerCase())) headers[name] = value;

    scope.usage.egressBytes += body.length;
    bytes.inc({ direction: 'out' }, body.length);
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(url, { method: outbound.method || 'GET', headers, lookup: pinnedLookup, signal: scope.signal, timeout: timeoutMs, servername: host }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          scope.usage.egressBytes += chunk.length;
          bytes.inc({ direction: 'in' }, chunk.length);
          if (scope.usage.egressBytes > scope.limits.maxEgressBytes) {
            request.destroy();
            reject(new HostError('limit', `Egress is limited to ${scope.limits.maxEgressBytes} bytes per execution.`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const responseHeaders: [string, string][] = [];
          for (let index = 0; index < response.rawHeaders.length; index += 2) responseHeaders.push([response.rawHeaders[index].toLowerCase(), response.rawHeaders[index + 1]]);
          resolve({ status: response.statusCode ?? 502, headers: responseHeaders, body: new Uint8Array(Buffer.concat(chunks)) });
        });
        response.on('error', () => reject(new HostError('unavailable', `The connection to ${host} failed.`)));
      });
      const deadline = setTimeout(() => request.destroy(new Error('timeout')), timeoutMs);
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error) =>
        reject(error.message === 'timeout' ? new HostError('limit', `${host} did not answer within ${timeoutMs} ms.`) : new HostError('unavailable', `The request to ${host} failed.`)),
      );
      request.on('close', () => clearTimeout(deadline));
      request.end(body.length > 0 ? Buffer.from(body) : undefined);
    });
  }

  return {
    capability: 'alga.http',
    iface: 'http',
    functions: {
      fetch: async (scope, [outbound]) => {
        try {
          const response = await fetchFor(scope, outbound as OutboundRequest);
          requests.inc({ result: 'ok' });
          return response;
        } catch (error) {
          requests.inc({ result: error instanceof HostError ? error.tag : 'error' });
          throw error;
        }
      },
    },
  };
}

/** Why a name did not resolve, in words: no such name, no address of a usable kind, or no answer. */
function unresolvedReason(host: string, code: string | undefined): string {
  if (code === 'ENOTFOUND') return `${host} could not be resolved: DNS has no such name (ENOTFOUND); check the spelling in the URL and the egress list.`;
  if (code === 'ENODATA') return `${host} could not be resolved: the name exists but has no address (ENODATA).`;
  if (code === 'EAI_AGAIN' || code === 'ETIMEOUT') return `${host} could not be resolved: the DNS resolver did not answer (${code}); try again later.`;
  return `${host} could not be resolved (${code ?? 'unknown error'}).`;
}
