import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { contentHashOf, packBundle, packProjectDir, parseManifest, storeBundle, storeSignatureFile } from '../../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash, type SigningKey, type TrustBundle } from '../../lib/signing/index.ts';
import { uiOriginLabel } from '../../lib/ext-ui/origins.ts';
import { mintUiTicket, uiTicketKey } from '../../lib/ext-ui/tickets.ts';
import { startRunnerServer, type RunnerConfig, type RunningRunnerServer } from '../../runner/index.ts';

export interface RunnerFixture extends RunningRunnerServer {
  token: string;
  dataDir: string;
  bundleDir: string;
  /** Signing keys by publisher ('test' for the guests, 'example' for the examples). */
  signingKeys: Record<string, SigningKey>;
  trust: TrustBundle;
  runnerKeys: { publicKey: string; secretKey: string };
  /** Packs, signs and stores a project; returns its content hash. */
  publish(projectDir: string): string;
  /**
   * Publishes a built test guest (test publisher) with `firstGetPaths` put before its manifest's
   * endpoints, so they are the ones the runner calls to warm an instance up. Returns its hash.
   */
  publishWarmingUpOn(projectDir: string, firstGetPaths: string[]): string;
  execute(body: unknown, token?: string): Promise<{ status: number; headers: Headers; json: any }>;
}

const packed = new Map<string, { bytes: Uint8Array; hash: string; publisher: string }>();

export function packOnce(projectDir: string): { bytes: Uint8Array; hash: string; publisher: string } {
  let bundle = packed.get(projectDir);
  if (!bundle) {
    const result = packProjectDir(projectDir);
    bundle = { bytes: result.bytes, hash: result.hash, publisher: result.manifest.publisher };
    packed.set(projectDir, bundle);
  }
  return bundle;
}

export function signatureFor(hash: string, key: SigningKey): unknown {
  return addSignature(undefined, hash as `sha256:${string}`, signContentHash(hash as `sha256:${string}`, key));
}

/** A runner on 127.0.0.1 with a temp data folder, a fresh trust bundle and 2 workers. */
export async function startFixture(overrides: Partial<RunnerConfig> = {}): Promise<RunnerFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-test-'));
  const bundleDir = join(dataDir, 'bundles');
  const signingKeys = { test: generateSigningKey(), example: generateSigningKey() };
  const trust: TrustBundle = {
    version: 1,
    keys: Object.entries(signingKeys).map(([publisher, key]) => ({ keyId: key.keyId, publisher, publicKey: key.publicKey })),
  };
  const pair = nacl.box.keyPair();
  const runnerKeys = { publicKey: Buffer.from(pair.publicKey).toString('base64'), secretKey: Buffer.from(pair.secretKey).toString('base64') };
  const token = `token-${Math.random().toString(36).slice(2)}`;
  const server = await startRunnerServer({
    dataDir,
    bundleDir,
    serviceToken: token,
    secretKey: runnerKeys.secretKey,
    trustBundle: trust,
    workers: 2,
    ...overrides,
  });
  return {
    ...server,
    token,
    dataDir,
    bundleDir,
    signingKeys,
    trust,
    runnerKeys,
    publish(projectDir) {
      const bundle = packOnce(projectDir);
      storeBundle(bundleDir, bundle.bytes, bundle.hash);
      storeSignatureFile(bundleDir, bundle.hash, signatureFor(bundle.hash, signingKeys[bundle.publisher as 'test']));
      return bundle.hash;
    },
    publishWarmingUpOn(projectDir, firstGetPaths) {
      const manifest = parseManifest(readFileSync(join(projectDir, 'manifest.json')));
      const endpoints = [...firstGetPaths.map((path) => ({ method: 'GET' as const, path })), ...(manifest.api?.endpoints ?? [])];
      const bytes = packBundle({ manifest: { ...manifest, api: { ...manifest.api, endpoints } }, component: readFileSync(join(projectDir, 'dist', 'component.wasm')), ui: new Map([['index.html', readFileSync(join(projectDir, 'ui', 'index.html'))]]) });
      const hash = contentHashOf(bytes);
      storeBundle(bundleDir, bytes, hash);
      storeSignatureFile(bundleDir, hash, signatureFor(hash, signingKeys.test));
      return hash;
    },
    async execute(body, presentedToken = token) {
      const response = await fetch(`${server.url}/v1/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${presentedToken}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, json: await response.json() };
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Where a browser asks the runner for an install's UI file: the path with a ticket signed the
 * way the host signs it, and the install's own UI host name for the Host header.
 */
export function uiRequest(
  fixture: Pick<RunnerFixture, 'token' | 'url'>,
  options: { extensionId: string; hash: string; file?: string; tenant?: string; install?: string; parentOrigin?: string; nowMs?: number; parentHost?: string },
): { path: string; host: string } {
  const tenantId = options.tenant ?? 'tenant-a';
  const installId = options.install ?? `install-${tenantId}`;
  const ticket = mintUiTicket(uiTicketKey(fixture.token), { extensionId: options.extensionId, contentHash: options.hash, tenantId, installId, parentOrigin: options.parentOrigin ?? 'http://127.0.0.1:8080' }, options.nowMs);
  const label = uiOriginLabel({ tenantId, extensionId: options.extensionId, installId });
  return {
    path: `/ext-ui/${options.extensionId}/${options.hash}/${ticket}/${options.file ?? ''}`,
    host: `${label}.${options.parentHost ?? 'localhost'}:${new URL(fixture.url).port}`,
  };
}

export interface CallOptions {
  hash: string;
  path: string;
  method?: string;
  query?: string;
  tenant?: string;
  install?: string;
  extension?: string;
  requestId?: string;
  providers?: string[];
  egress?: string[];
  config?: Record<string, string>;
  limits?: Record<string, number>;
  isolation?: 'tenant' | 'request';
  body?: Uint8Array | string;
  secretEnvelope?: unknown;
  /** Secrets sealed one by one, as the host sends them. */
  secretEnvelopes?: unknown[];
  uiProxy?: { route_base?: string };
}

/** A POST /v1/execute body the way the host gateway builds it. */
export function executeBody(options: CallOptions): Record<string, unknown> {
  const tenant = options.tenant ?? 'tenant-a';
  return {
    context: {
      tenant_id: tenant,
      extension_id: options.extension ?? 'ext-test',
      install_id: options.install ?? `install-${tenant}`,
      ...(options.requestId ? { request_id: options.requestId } : {}),
      version: '1.0.0',
      content_hash: options.hash,
    },
    http: {
      method: options.method ?? 'GET',
      path: options.path,
      query: options.query ?? '',
      headers: { 'content-type': 'application/json' },
      body_b64: options.body === undefined ? '' : Buffer.from(options.body).toString('base64'),
    },
    limits: options.limits ?? {},
    config: options.config ?? {},
    providers: options.providers ?? [],
    egress: options.egress ?? [],
    ...(options.isolation ? { isolation: options.isolation } : {}),
    ...(options.secretEnvelope ? { secret_envelope: options.secretEnvelope } : {}),
    ...(options.secretEnvelopes ? { secret_envelopes: options.secretEnvelopes } : {}),
    ...(options.uiProxy ? { ui_proxy: options.uiProxy } : {}),
  };
}

/** The guest's JSON answer inside a successful execute response. */
export function guestJson(json: { body_b64: string }): any {
  return JSON.parse(Buffer.from(json.body_b64, 'base64').toString('utf8'));
}
