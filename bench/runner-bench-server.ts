// Child process for the runner benchmarks: serves either a plain fastify route or a runner
// with examples/hello and test/guests/misbehave published (signed), then prints one JSON line.
// Usage: node --import tsx bench/runner-bench-server.ts plain|runner [workers] [dataDir]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { packProjectDir, storeBundle, storeSignatureFile } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash, type TrustBundle } from '../lib/signing/index.ts';
import { startRunnerServer } from '../runner/index.ts';

const [mode = 'runner', workersArg = '2', dataDirArg] = process.argv.slice(2);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

if (mode === 'plain') {
  const app = Fastify();
  app.get('/hello', async () => ({ message: 'Hello, world', tenant: 'bench' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
} else {
  const dataDir = dataDirArg ?? mkdtempSync(join(tmpdir(), 'alga-bench-runner-'));
  if (!dataDirArg) process.once('exit', () => rmSync(dataDir, { recursive: true, force: true })); // a folder it made is its own to remove
  // The same keys again when the folder is reused (a runner restart keeps its bundles and caches).
  const keysFile = join(dataDir, 'bench-keys.json');
  mkdirSync(dataDir, { recursive: true });
  const keys: Record<string, ReturnType<typeof generateSigningKey>> = existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : { example: generateSigningKey(), test: generateSigningKey() };
  writeFileSync(keysFile, JSON.stringify(keys), { mode: 0o600 });
  const trust: TrustBundle = { version: 1, keys: Object.entries(keys).map(([publisher, key]) => ({ keyId: key.keyId, publisher, publicKey: key.publicKey })) };
  const bundleDir = join(dataDir, 'bundles');
  const hashes: Record<string, string> = {};
  for (const [name, dir] of [['hello', 'examples/hello'], ['misbehave', 'test/guests/misbehave'], ['sdk-failures', 'test/guests/sdk-failures']]) {
    const packed = packProjectDir(join(repoRoot, dir));
    storeBundle(bundleDir, packed.bytes, packed.hash);
    storeSignatureFile(bundleDir, packed.hash, addSignature(undefined, packed.hash, signContentHash(packed.hash, keys[packed.manifest.publisher])));
    hashes[name] = packed.hash;
  }
  const token = 'bench-token';
  const runnerStarted = performance.now();
  const server = await startRunnerServer({
    dataDir,
    bundleDir,
    serviceToken: token,
    trustBundle: trust,
    workers: Number(workersArg),
    concurrency: { perTenant: 1000, perExtension: 1000, queueMax: 1000 },
    ...(process.env.BENCH_RUNNER_CONFIG ? JSON.parse(process.env.BENCH_RUNNER_CONFIG) : {}),
  });
  process.stdout.write(`${JSON.stringify({ url: server.url, token, hashes, dataDir, listeningAfterMs: Math.round(performance.now() - runnerStarted) })}\n`);
}

process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
