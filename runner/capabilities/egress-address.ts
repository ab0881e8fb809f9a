import { isIP } from 'node:net';

/**
 * Addresses a guest must never reach unless the operator allows private egress:
 * loopback, link-local, private, carrier-grade NAT, unspecified, multicast, reserved,
 * and IPv6 forms that embed such an IPv4 address.
 */

const privateV4: [number, number, string][] = [
  [0x00000000, 8, '0.0.0.0/8, "this network"'],
  [0x0a000000, 8, '10.0.0.0/8, private'],
  [0x64400000, 10, '100.64.0.0/10, carrier-grade NAT'],
  [0x7f000000, 8, '127.0.0.0/8, loopback'],
  [0xa9fe0000, 16, '169.254.0.0/16, link-local (cloud metadata lives here)'],
  [0xac100000, 12, '172.16.0.0/12, private'],
  [0xc0000000, 24, '192.0.0.0/24, IETF protocol assignments'],
  [0xc0a80000, 16, '192.168.0.0/16, private'],
  [0xc6120000, 15, '198.18.0.0/15, benchmarking'],
  [0xe0000000, 4, '224.0.0.0/4, multicast'],
  [0xf0000000, 4, '240.0.0.0/4, reserved and broadcast'],
];

function v4ToNumber(address: string): number {
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

function privateV4Range(address: string): string | undefined {
  const value = v4ToNumber(address);
  return privateV4.find(([base, bits]) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)))?.[2];
}

function isPrivateV4(address: string): boolean {
  return privateV4Range(address) !== undefined;
}

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted IPv4 expanded). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().split('%')[0];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const value = v4ToNumber(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array(tail !== undefined ? missing : 0).fill('0'), ...tailGroups].map((group) => parseInt(group, 16));
}

function embeddedV4(groups: number[]): string {
  return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
}

function isPrivateV6(address: string): boolean {
  const groups = v6Groups(address);
  const zeroUpTo = (count: number) => groups.slice(0, count).every((group) => group === 0);
  if (zeroUpTo(8)) return true; // ::
  if (zeroUpTo(7) && groups[7] === 1) return true; // ::1
  if (zeroUpTo(5) && groups[5] === 0xffff) return isPrivateV4(embeddedV4(groups)); // ::ffff:a.b.c.d
  if (zeroUpTo(6)) return isPrivateV4(embeddedV4(groups)); // ::a.b.c.d (deprecated compatible form)
  if (zeroUpTo(4) && groups[4] === 0xffff && groups[5] === 0) return isPrivateV4(embeddedV4(groups)); // ::ffff:0:a.b.c.d (SIIT)
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups[2] === 1) return true; // 64:ff9b:1::/48 local-use NAT64
  if (groups[0] === 0x64 && groups[1] === 0xff9b) return isPrivateV4(embeddedV4(groups)); // NAT64
  // 6to4 (2002::/16) and Teredo (2001::/32) tunnel to an IPv4 address of someone's choosing through relays: never reached.
  if (groups[0] === 0x2002) return true;
  if (groups[0] === 0x2001 && groups[1] === 0) return true;
  if ((groups[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((groups[0] & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((groups[0] & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local
  if ((groups[0] & 0xff00) === 0xff00) return true; // multicast
  if (groups[0] === 0x2001 && groups[1] === 0x0db8) return true; // documentation
  return false;
}

/** True for any address that is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return isPrivateV4(address);
  if (family === 6) return isPrivateV6(address);
  return true;
}

/** Which kind of non-public address this is, for an error message (`127.0.0.0/8, loopback`). */
export function privateRangeOf(address: string): string {
  if (isIP(address) === 4) return privateV4Range(address) ?? 'not public';
  const groups = v6Groups(address);
  if (groups.every((group) => group === 0)) return '::, unspecified';
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return '::1, loopback';
  if ((groups[0] & 0xfe00) === 0xfc00) return 'fc00::/7, unique local';
  if ((groups[0] & 0xffc0) === 0xfe80) return 'fe80::/10, link-local';
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) return `IPv4-mapped ${privateV4Range(embeddedV4(groups)) ?? 'not public'}`;
  return 'not a public unicast address';
}
