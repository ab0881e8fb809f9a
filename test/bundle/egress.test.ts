import { describe, expect, it } from 'vitest';
import { egressAllows, egressCovers, parseEgressEntry, validateManifest } from '../../lib/bundle/index.ts';
import { isAlgaError } from '../../lib/errors/index.ts';
import { validateEgress } from '../../host/plugins/extensions/installs/validate.ts';

const baseManifest = () => ({ name: 'com.example.egress-test', publisher: 'example', version: '1.0.0', runtime: 'wasm-js@1', capabilities: ['alga.http'] });
const allows = (allowlist: string[], url: string) => egressAllows(allowlist, new URL(url));

describe('egress allowlist entries', () => {
  it('matches exact hosts and *.wildcards only, on any port when the entry names none', () => {
    expect(allows(['api.example.com'], 'https://api.example.com/x')).toBe(true);
    expect(allows(['api.example.com'], 'https://API.example.com./x')).toBe(true);
    expect(allows(['api.example.com'], 'http://api.example.com:8080/x')).toBe(true);
    expect(allows(['api.example.com'], 'https://evil-api.example.com/')).toBe(false);
    expect(allows(['*.example.com'], 'https://a.b.example.com/')).toBe(true);
    expect(allows(['*.example.com'], 'https://example.com/')).toBe(false);
    expect(allows(['example.com'], 'https://example.com.evil.net/')).toBe(false);
  });

  it('matches an entry with :port on that port only, the scheme\'s default port included', () => {
    expect(allows(['api.example.com:8443'], 'https://api.example.com:8443/')).toBe(true);
    expect(allows(['api.example.com:8443'], 'https://api.example.com/')).toBe(false);
    expect(allows(['api.example.com:443'], 'https://api.example.com/')).toBe(true);
    expect(allows(['api.example.com:443'], 'http://api.example.com/')).toBe(false); // port 80
    expect(allows(['api.example.com:80'], 'http://api.example.com:80/')).toBe(true);
    expect(allows(['*.example.com:9000'], 'http://a.example.com:9000/')).toBe(true);
    expect(allows(['*.example.com:9000'], 'http://a.example.com:9001/')).toBe(false);
    expect(allows(['203.0.113.7:8080'], 'http://203.0.113.7:8080/')).toBe(true);
    expect(allows(['203.0.113.7:8080'], 'http://203.0.113.7:8081/')).toBe(false);
  });

  it('matches [IPv6] entries whatever way the address is written, with or without a port', () => {
    expect(allows(['[2001:db8::1]'], 'http://[2001:db8::1]/')).toBe(true);
    expect(allows(['[2001:0DB8:0:0::1]'], 'http://[2001:db8::1]:9000/')).toBe(true);
    expect(allows(['[2001:db8::1]:9000'], 'http://[2001:db8:0::1]:9000/')).toBe(true);
    expect(allows(['[2001:db8::1]:9000'], 'http://[2001:db8::1]:9001/')).toBe(false);
    expect(allows(['[2001:db8::1]'], 'http://[2001:db8::2]/')).toBe(false);
    expect(allows(['[::ffff:203.0.113.7]'], 'http://[::ffff:cb00:7107]/')).toBe(true);
  });

  it('refuses what is not an entry, in the manifest schema and an install\'s list alike', () => {
    const bad = ['api.example.com:0', 'api.example.com:65536', 'api.example.com:', '::1', '[::1', '[not-an-ip]', '[::1]:99999', '*.10.0.0.1', '127.1', '010.0.0.1', '*', '*.', 'a..b', 'http://api.example.com', 'api.example.com/x', 'user@api.example.com', 'api_example.com', '-a.example.com', 'münchen.de'];
    for (const entry of bad) {
      expect(parseEgressEntry(entry), entry).toBeUndefined();
      expect(() => validateManifest({ ...baseManifest(), egress: [entry] }), entry).toThrow(/egress/);
      expect(() => validateEgress([entry], { ...baseManifest(), egress: [entry] } as never), entry).toThrow(/not an egress entry/);
    }
    for (const entry of ['api.example.com', 'api.example.com:8443', '*.example.com:1', '[::1]', '[2001:db8::1]:65535', '203.0.113.7', 'localhost:8080', 'xn--mnchen-3ya.de']) {
      expect(parseEgressEntry(entry), entry).toBeDefined();
      expect(validateManifest({ ...baseManifest(), egress: [entry] }).egress).toEqual([entry]);
    }
  });

  it('lets an install narrow the manifest\'s entries, never widen them (ports included)', () => {
    const covers = (declared: string, requested: string) => egressCovers(parseEgressEntry(declared)!, parseEgressEntry(requested)!);
    expect(covers('api.example.com', 'api.example.com:8443')).toBe(true);
    expect(covers('api.example.com:8443', 'api.example.com:8443')).toBe(true);
    expect(covers('api.example.com:8443', 'api.example.com')).toBe(false);
    expect(covers('api.example.com:8443', 'api.example.com:9443')).toBe(false);
    expect(covers('*.example.com', 'a.example.com:1')).toBe(true);
    expect(covers('*.example.com', '*.a.example.com')).toBe(true);
    expect(covers('*.example.com', 'example.com')).toBe(false);
    expect(covers('api.example.com', '*.api.example.com')).toBe(false);
    expect(covers('[2001:db8::1]', '[2001:db8:0::1]:443')).toBe(true);

    const manifest = { ...baseManifest(), egress: ['api.example.com:8443', '*.example.org'] } as never;
    expect(validateEgress(['api.example.com:8443', 'a.example.org:443'], manifest)).toEqual(['api.example.com:8443', 'a.example.org:443']);
    for (const wider of [['api.example.com'], ['api.example.com:9443'], ['example.org']]) {
      let error: unknown;
      try {
        validateEgress(wider, manifest);
      } catch (caught) {
        error = caught;
      }
      expect(isAlgaError(error, 'E_INSTALL_EGRESS_INVALID'), wider[0]).toBe(true);
    }
  });
});
