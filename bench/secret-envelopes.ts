import nacl from 'tweetnacl';
import { openSecrets, openSecretsWithAny, sealSecrets } from '../lib/sealed-secrets.ts';

/**
 * What a runner pays to open an install's sealed secrets while it holds two keys (during
 * `alga-host rotate-key runner-envelope`) against one key: the baseline is `openSecrets` with the
 * right key; the other opens with [old, new] where the envelope names its key (`recipient`), and
 * an envelope from before recipients existed (the runner tries the keys in turn). Alternating
 * rounds, median per operation.
 */

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const perRound = Number(process.env.BENCH_OPS ?? 300);
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const oldPair = nacl.box.keyPair();
const newPair = nacl.box.keyPair();
const keys = [base64(oldPair.secretKey), base64(newPair.secretKey)];
const named = sealSecrets({ api_key: 'sk-bench' }, base64(newPair.publicKey));
const { recipient: _drop, ...unnamed } = named;

function perOp(action: () => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < perRound; i++) action();
  return Number(process.hrtime.bigint() - start) / perRound / 1e3;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const series = { baseline: [] as number[], named: [] as number[], unnamed: [] as number[] };
for (let round = 0; round < rounds; round++) {
  series.baseline.push(perOp(() => openSecrets(named, keys[1])));
  series.named.push(perOp(() => openSecretsWithAny(named, keys)));
  series.unnamed.push(perOp(() => openSecretsWithAny(unnamed, keys)));
}
const baseline = median(series.baseline);
for (const [name, values] of Object.entries(series)) {
  process.stdout.write(`${name.padEnd(9)} ${median(values).toFixed(0)} µs/op  ratio ${(median(values) / baseline).toFixed(2)}\n`);
}
