import { isIP } from 'node:net';

/**
 * Who is asking, for the /setup network bind and the rate limit. X-Forwarded-For is believed only
 * when the connection comes from a configured proxy, and then only up to the first hop that is
 * not itself a trusted proxy.
 */

function normalize(ip: string): string {
  const trimmed = ip.trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
}

export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedProxies: string[]): string {
  let address = normalize(socketAddress ?? '');
  const trusted = new Set(trustedProxies.map(normalize));
  if (!trusted.has(address) || forwardedFor === undefined) return address;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map(normalize).filter(Boolean);
  while (hops.length > 0) {
    const hop = hops.pop()!;
    if (isIP(hop) === 0) return address; // garbage: stop at the last address we could check
    address = hop;
    if (!trusted.has(hop)) break;
  }
  return address;
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip);
}

/** Private and link-local ranges: 10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10. */
export function isLan(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a, b] = ip.split('.').map(Number);
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  const lower = ip.toLowerCase();
  return /^f[cd][0-9a-f]{2}:/.test(lower) || /^fe[89ab][0-9a-f]:/.test(lower);
}

export function isAllowed(ip: string, allow: 'any' | Array<'loopback' | 'lan'>): boolean {
  if (allow === 'any') return true;
  return (allow.includes('loopback') && isLoopback(ip)) || (allow.includes('lan') && isLan(ip));
}
