import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packProjectDir, storeBundle, storeSignatureFile } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash } from '../lib/signing/index.ts';
import { createRunner } from '../runner/index.ts';
const dataDir = mkdtempSync(join(tmpdir(), 'c9-aff-'));
const key = generateSigningKey();
const packed = packProjectDir('examples/hello');
storeBundle(join(dataDir, 'bundles'), packed.bytes, packed.hash);
storeSignatureFile(join(dataDir, 'bundles'), packed.hash, addSignature(undefined, packed.hash, signContentHash(packed.hash, key)));
const runner = createRunner({ dataDir, serviceToken: 't', trustBundle: { version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }] }, workers: 2, concurrency: { perTenant: 1000, perExtension: 1000, queueMax: 1000 } });
const tenants = Number(process.argv[2] ?? 16);
const body = (t: number) => ({ context: { tenant_id: `tenant-${t}`, extension_id: 'e', install_id: 'i', version: '1', content_hash: packed.hash }, http: { method: 'GET', path: '/hello', headers: {} }, limits: {}, isolation: 'tenant' });
let next = 0; let done = 0;
const pool = (runner as any).pool;
async function conn(until: number) { while (Date.now() < until) { const r = await runner.execute(body(next++ % tenants)); if (!r.ok) console.log(r.error.code); done++; } }
await runner.execute(body(0));
for (const seconds of [2, 3]) {
  const before = pool.stats();
  const until = Date.now() + seconds * 1000;
  done = 0;
  await Promise.all(Array.from({ length: 8 }, () => conn(until)));
  const after = pool.stats();
  console.log((globalThis as any).why); (globalThis as any).why = {};
  console.log('done', done, 'created', after.instantiations - before.instantiations, 'switches', after.tenantSwitches - before.tenantSwitches, 'instances', after.instances);
  for (const slot of pool.slots) console.log('  slot', [...slot.holdings].filter((k: string) => k.startsWith('tenant')).map((k: string) => k.split('|')[1].replace('tenant-', '')).sort((a: string, b: string) => +a - +b).join(','));
}
await runner.close();
