import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packBundle, packProjectDir, parseManifest, parseProvenance, sourceArchiveOf, sourceHashOf } from '../../lib/bundle/index.ts';
import { projectSourceFiles } from '../../lib/build/source-files.ts';
import { bearer, inProcessHost, type InProcessHost } from '../host/host-app.ts';
import { sign, signingFixture } from '../host/signed-bundles.ts';
import { exampleDir } from '../support/projects.ts';

/**
 * A version published with its source (`alga-ext pack --with-source`) is rebuilt by the host in a
 * process of its own, and the catalog says what it found: "reproducible: checked" when the bytes
 * are identical, "rebuild differs" when the attached source builds something else (here: a
 * publisher who attached other source than the component was built from).
 */

const fixture = signingFixture('example');
const helloDir = exampleDir('hello');
let h: InProcessHost;
let publisherToken: string;
let tenantAdminCookie: string;

function honestBundle(): Uint8Array {
  return packProjectDir(helloDir, sourceArchiveOf(projectSourceFiles(helloDir))).bytes;
}

/** hello's component, with a source in which the greeting was changed after the build. */
function dishonestBundle(): Uint8Array {
  const files = projectSourceFiles(helloDir);
  const entry = [...files.keys()].find((path) => path.startsWith('src/') && path.endsWith('.ts'))!;
  const source = new TextDecoder().decode(files.get(entry));
  expect(source).toContain('Hello, ');
  files.set(entry, new TextEncoder().encode(source.replace('Hello, ', 'Howdy, ')));
  const provenance = parseProvenance(readFileSync(join(helloDir, 'dist', 'provenance.json')));
  const manifest = parseManifest(readFileSync(join(helloDir, 'manifest.json')));
  return packBundle({
    manifest: { ...manifest, version: '1.0.1' },
    component: readFileSync(join(helloDir, 'dist', 'component.wasm')),
    provenance: { ...provenance, sourceHash: sourceHashOf(files) },
    sourceArchive: sourceArchiveOf(files),
  });
}

async function publish(bytes: Uint8Array): Promise<void> {
  const answer = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisherToken), payload: { bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, fixture.key) } });
  expect(answer.statusCode, answer.body).toBe(201);
}

beforeAll(async () => {
  h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
  publisherToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
  await h.host.auth.createUser({ username: 'ada', password: 'ada has a long password', role: 'tenant-admin', tenantId: 'acme' });
  const login = await h.host.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ada', password: 'ada has a long password' } });
  const cookie = login.cookies.find((c) => c.name === 'alga_session')!;
  tenantAdminCookie = `${cookie.name}=${cookie.value}`;
});
afterAll(async () => h?.close());

describe('the host rebuilds versions that carry their source', () => {
  it('records "reproducible" for an honest bundle and "different" for one whose source is not what built it; the catalog shows both', async () => {
    await publish(honestBundle());
    await publish(dishonestBundle());
    type Listed = { version: string; reproducibility: string; rebuildCheck?: { result: string; detail?: string } };
    let versions: Listed[] = [];
    for (const deadline = Date.now() + 400_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 1000))) {
      const answer = await h.host.app.inject({ method: 'GET', url: '/api/registry/extensions/com.example.hello', headers: bearer(publisherToken) });
      versions = answer.json().versions;
      if (versions.every((version) => version.rebuildCheck)) break;
    }
    const byVersion = Object.fromEntries(versions.map((version) => [version.version, version]));
    expect(byVersion['1.0.0']).toMatchObject({ reproducibility: 'source-attached', rebuildCheck: { result: 'reproducible' } });
    expect(byVersion['1.0.1']).toMatchObject({ reproducibility: 'source-attached', rebuildCheck: { result: 'different', detail: expect.stringContaining('source') } });

    const page = (await h.host.app.inject({ method: 'GET', url: '/console/catalog/com.example.hello?tenantId=acme', headers: { cookie: tenantAdminCookie } })).body;
    const row = (version: string) => page.slice(page.indexOf(`data-version="${version}"`), page.indexOf('</tr>', page.indexOf(`data-version="${version}"`)));
    expect(row('1.0.0')).toContain('reproducible: checked');
    expect(row('1.0.1')).toContain('rebuild differs');
  }, 420_000);
});
