import { isIP } from 'node:net';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * Which peers' `X-Forwarded-For` (and `-Proto`, `-Host`) the host believes: ALGA_TRUSTED_PROXIES,
 * a comma-separated list of proxy addresses, CIDR ranges, or the names `loopback`, `linklocal`
 * and `uniquelocal`. It is fastify's `trustProxy` for the whole host, so every limiter and the
 * /setup network bind see the same client address: the right-most address in the chain that is
 * not a trusted proxy. A client's own X-Forwarded-For entries sit to the left of what the proxy
 * appends and are never taken. Unset: no forwarding header is believed.
 *
 * A bare hop count is not offered: it cannot tell a proxy from a client that connects directly
 * and writes the header itself (fastify refuses hop counts for the same reason).
 */

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry) || isIP(entry) !== 0) return true;
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !/^\d{1,3}$/.test(bits ?? '')) return false;
  const family = isIP(address);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

export function trustedProxiesFrom(env: Readonly<Record<string, string | undefined>>): string[] | false {
  const legacy = env.ALGA_TRUST_PROXY?.trim();
  if (legacy && legacy !== '0' && legacy !== 'false') {
    throw new AlgaError(
      'E_HOST_CONFIG_INVALID',
      `ALGA_TRUST_PROXY=${legacy} believed the X-Forwarded-For of any client and is no longer read; set ALGA_TRUSTED_PROXIES to your reverse proxies' addresses or CIDR ranges (e.g. ALGA_TRUSTED_PROXIES=127.0.0.1 or 10.0.0.0/24) and unset ALGA_TRUST_PROXY.`,
    );
  }
  const entries = (env.ALGA_TRUSTED_PROXIES ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.find((entry) => !isProxyEntry(entry));
  if (bad !== undefined) {
    throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_TRUSTED_PROXIES takes IP addresses, CIDR ranges (10.0.0.0/8) and loopback, linklocal or uniquelocal; "${bad}" is none of them.`);
  }
  return entries.length > 0 ? entries : false;
}

/** An IPv4 address as IPv4 even when the socket reports it IPv4-mapped (`::ffff:10.0.0.1`). */
export function plainAddress(ip: string | undefined): string {
  const trimmed = (ip ?? '').trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}
