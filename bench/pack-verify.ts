// Pack and verify a real ~12 MB bundle (kv-counter: component + UI) against `sha256sum` of
// the same file, in-process library calls vs. the coreutils hash of the bytes.
// Run: node --import tsx bench/pack-verify.ts [project]   (BENCH_ROUNDS=n, default 7)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentHashOf, packProjectDir, unpackBundle } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, parseTrustBundle, signContentHash, verifyBundle } from '../lib/signing/index.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const project = resolve(repoRoot, process.argv[2] ?? 'examples/kv-counter');
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const scratch = mkdtempSync(join(tmpdir(), 'alga-bench-pack-'));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeIt(run: () => void): number {
  run(); // warm-up
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return median(times);
}

try {
  const packed = packProjectDir(project);
  const path = join(scratch, 'bundle.algabundle');
  writeFileSync(path, packed.bytes);
  const megabytes = packed.bytes.length / 1024 / 1024;
  const key = generateSigningKey();
  const signatures = addSignature(undefined, packed.hash, signContentHash(packed.hash, key));
  const trust = parseTrustBundle({ version: 1, keys: [{ keyId: key.keyId, publisher: packed.manifest.publisher, publicKey: key.publicKey }] });

  const sha256sum = timeIt(() => {
    const out = execFileSync('sha256sum', [path], { encoding: 'utf8' });
    if (`sha256:${out.slice(0, 64)}` !== packed.hash) throw new Error('sha256sum disagrees with contentHashOf');
  });
  const hashOnly = timeIt(() => contentHashOf(packed.bytes));
  const pack = timeIt(() => packProjectDir(project));
  const unpack = timeIt(() => unpackBundle(packed.bytes));
  const verify = timeIt(() => verifyBundle(packed.bytes, signatures, trust, { expectedHash: packed.hash }));

  const row = (label: string, ms: number) =>
    `${label.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms  ${(megabytes / (ms / 1000)).toFixed(0).padStart(5)} MB/s  ratio to sha256sum ${(ms / sha256sum).toFixed(2)}`;
  console.log(`bundle ${project} — ${megabytes.toFixed(1)} MB, ${rounds} rounds, median`);
  console.log(row('sha256sum FILE (baseline, process)', sha256sum));
  console.log(row('contentHashOf (in-process sha256)', hashOnly));
  console.log(row('packProjectDir (read+pack+checks)', pack));
  console.log(row('unpackBundle (read+checks)', unpack));
  console.log(row('verifyBundle (hash+sig+unpack)', verify));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
