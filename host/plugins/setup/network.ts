import { isIP } from 'node:net';

/**
 * Which networks may reach /setup. The client address is the host's one judgement of it
 * (fastify's `request.ip` under ALGA_TRUSTED_PROXIES: host/core/trusted-proxies.ts).
 */

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
