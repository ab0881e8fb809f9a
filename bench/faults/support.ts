// Shared by the fault harness (bench/faults/run.ts) and the fault benchmarks: a real host process
// (`alga-host start`, its runner child included) on a fresh data folder, with hello published and
// installed for a tenant, everything on 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { openStore } from '../../host/core/store.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { contentHashOf, packBundle, parseManifest, type Manifest } from '../../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash, type SigningKey } from '../../lib/signing/index.ts';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Fixture {
  work: string;
  dataDir: string;
  trustPath: string;
  key: SigningKey;
  adminToken: string;
  publisherToken: string;
  /** One token per tenant id. */
  tenantTokens: Record<string, string>;
}

/** A data folder with infra secrets, tenants, tokens and a trusted signing key, before any host starts. */
export function prepareFixture(options: { tenants?: string[]; dataDir?: string } = {}): Fixture {
  const work = mkdtempSync(join(tmpdir(), 'alga-faults-'));
  const dataDir = options.dataDir ?? join(work, 'data');
  mkdirSync(dataDir, { recursive: true });
  const key = generateSigningKey();
  const trustPath = join(work, 'trust.json');
  writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }] }));
  ensureInfraSecrets(dataDir, { profile: 'appliance' });
  const store = openStore(dataDir);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  const tenantTokens: Record<string, string> = {};
  for (const tenant of options.tenants ?? ['acme']) {
    auth.createTenant({ id: tenant, name: tenant });
    tenantTokens[tenant] = auth.createToken({ kind: 'tenant', tenantId: tenant }).token;
  }
  const publisherToken = auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  const adminToken = auth.createToken({ kind: 'service', label: 'faults admin', scopes: ['admin'] }).token;
  void store.close();
  return { work, dataDir, trustPath, key, adminToken, publisherToken, tenantTokens };
}

/** examples/hello, signed with the fixture's key; `change` gives another version of it. */
export function signedHello(key: SigningKey, change: (manifest: Manifest) => Manifest = (manifest) => manifest) {
  const dir = join(repoRoot, 'examples', 'hello');
  const manifest = change(parseManifest(readFileSync(join(dir, 'manifest.json'))));
  const bytes = packBundle({ manifest, component: readFileSync(join(dir, 'dist', 'component.wasm')) });
  const hash = contentHashOf(bytes);
  return { bytes, hash, signatureFile: addSignature(undefined, hash, signContentHash(hash, key)) };
}

export interface HostProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | string | null>;
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/**
 * `alga-host start` on the fixture's folder; resolves once /readyz answers 200. `root` runs the
 * host of another checkout (a baseline measured in the same run), this one by default.
 */
export async function startHost(fixture: Fixture, env: Record<string, string> = {}, options: { port?: number; root?: string; nodeArgs?: string[] } = {}): Promise<HostProcess> {
  const hostPort = options.port ?? (await freePort());
  const root = options.root ?? repoRoot;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(root, 'bin', 'alga-host.js'), 'start', '--data', fixture.dataDir, '--port', String(hostPort), '--profile', 'appliance'], {
    cwd: root,
    env: { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustPath, ALGA_LOG_LEVEL: 'warn', EXT_RATE_LIMIT_PER_MINUTE: '100000000', EXT_MAX_CONCURRENCY: '1024', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${hostPort}`;
  for (const deadline = Date.now() + 120_000; ; await sleep(100)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`alga-host exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`alga-host did not become ready:\n${output}`);
    }
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
  }
  return {
    url, child, exited, output: () => output,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Publishes `bundle` and installs it for `tenant`, then calls it until it answers 200 (transpiled, compiled). */
export async function publishAndInstall(host: HostProcess, fixture: Fixture, bundle: ReturnType<typeof signedHello>, tenant = 'acme'): Promise<void> {
  const published = await uploadBundle({ registryUrl: host.url, token: fixture.publisherToken, bytes: bundle.bytes, signatureFile: bundle.signatureFile });
  if (published.status !== 201 && published.status !== 200) throw new Error(`publish answered ${published.status}: ${JSON.stringify(published.body)}`);
  const installed = await fetch(`${host.url}/api/installs`, {
    method: 'POST', headers: { authorization: `Bearer ${fixture.tenantTokens[tenant]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ extensionId: published.body.extensionId, limits: { requestsPerMinute: 100000000, maxConcurrency: 1024 } }),
  });
  if (installed.status !== 201) throw new Error(`install answered ${installed.status}: ${await installed.text()}`);
  for (let attempt = 0; ; attempt++) {
    const answer = await fetch(`${host.url}/api/ext/${published.body.extensionId}/hello`, { headers: { authorization: `Bearer ${fixture.tenantTokens[tenant]}` } });
    if (answer.status === 200) return;
    if (attempt > 100) throw new Error(`the extension never answered 200 (last ${answer.status}: ${await answer.text()})`);
    await sleep(200);
  }
}

/** The runner child's pid, from `<data>/run/runner.pid`. */
export function runnerPid(fixture: Fixture): number | undefined {
  try {
    const pid = Number(readFileSync(join(fixture.dataDir, 'run', 'runner.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Percentile of `values` (0–100), or NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values: number[]) => percentile(values, 50);
