import { isIP } from 'node:net';

/**
 * Egress allowlist entries — one grammar for the manifest's `egress`, an install's egress list
 * and the runner's check:
 *
 *   api.example.com        that host, any port
 *   *.example.com          its subdomains (not example.com itself), any port
 *   203.0.113.7            that IPv4 address, any port
 *   [2001:db8::1]          that IPv6 address (in brackets, as in a URL), any port
 *   …:8443                 any of the above on that port only
 */
export interface EgressEntry {
  /** Lower case; an IPv6 address in brackets, in its canonical form (`[2001:db8::1]`). */
  host: string;
  /** `*.host`: subdomains of `host`. */
  wildcard: boolean;
  /** Only this port; any port when undefined. */
  port?: number;
}

const dnsName = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const bracketed = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/;
const named = /^(\*\.)?([^:[\]]+)(?::(\d{1,5}))?$/;

function portOf(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

/** The entry, or undefined when it is not one (a bad name, an IPv6 address without brackets, port 0…). */
export function parseEgressEntry(entry: string): EgressEntry | undefined {
  if (typeof entry !== 'string' || entry.length === 0 || entry.length > 260) return undefined;
  const text = entry.toLowerCase();
  const v6 = bracketed.exec(text);
  if (v6) {
    const port = portOf(v6[2]);
    if (isIP(v6[1]) !== 6 || port === null) return undefined;
    return { host: new URL(`http://[${v6[1]}]/`).hostname, wildcard: false, ...(port !== undefined ? { port } : {}) };
  }
  const match = named.exec(text);
  if (!match) return undefined;
  const [, star, host, portText] = match;
  const port = portOf(portText);
  if (port === null || !dnsName.test(host)) return undefined;
  const ip = isIP(host) === 4;
  if (ip && star) return undefined; // `*.10.0.0.1` names nothing
  if (!ip && /^\d+(\.\d+)*$/.test(host)) return undefined; // `10.1` or `127.1`: IPv4 shorthand, not a name
  return { host, wildcard: Boolean(star), ...(port !== undefined ? { port } : {}) };
}

/** `url`'s host and port (the scheme's default when the URL names none). */
function target(url: URL): { host: string; port: number } {
  return { host: url.hostname.toLowerCase().replace(/\.$/, ''), port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80 };
}

function hostMatches(entry: EgressEntry, host: string): boolean {
  return entry.wildcard ? host.endsWith(`.${entry.host}`) : host === entry.host;
}

/** True when some entry of `allowlist` lets a request go to `url`. Entries that do not parse match nothing. */
export function egressAllows(allowlist: readonly string[], url: URL): boolean {
  const { host, port } = target(url);
  return allowlist.some((text) => {
    const entry = parseEgressEntry(text);
    return entry !== undefined && (entry.port === undefined || entry.port === port) && hostMatches(entry, host);
  });
}

/** True when everything `requested` allows is allowed by `declared` (an install's entry within the manifest's). */
export function egressCovers(declared: EgressEntry, requested: EgressEntry): boolean {
  if (declared.port !== undefined && declared.port !== requested.port) return false;
  if (!declared.wildcard) return !requested.wildcard && requested.host === declared.host;
  return requested.host === declared.host ? requested.wildcard : requested.host.endsWith(`.${declared.host}`);
}
