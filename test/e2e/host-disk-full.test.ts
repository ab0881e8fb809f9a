import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { openStore } from '../../host/core/store.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { algaHost } from '../host/alga-host-cli.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { packedExample, repackedExample, sign, signingFixture } from '../host/signed-bundles.ts';
import { mountSmallDisk, type SmallDisk } from '../support/tmpfs.ts';

/**
 * A real host (`alga-host start` and its runner child) whose data folder is on a small tmpfs that
 * is then filled to the last byte: the host stays up and keeps answering calls, answers writes
 * with 507 E_STORAGE_FULL, keeps the execution log's rows in memory, and writes again by itself
 * once space is back. The same faults injected at the store boundary run everywhere:
 * test/host/disk-full.test.ts.
 */
const disk = mountSmallDisk(96);
const mounted = 'path' in disk;

describe('a host whose disk fills up', () => {
  const fixture = signingFixture('example');
  let host: HostProcess | undefined;
  afterAll(async () => {
    if (!mounted) return;
    (disk as SmallDisk).free();
    await host?.stop();
    (disk as SmallDisk).unmount();
  });

  it.skipIf(!mounted)(`keeps serving, answers writes 507 E_STORAGE_FULL, holds execution-log rows and recovers when space returns${mounted ? '' : ` (skipped: ${(disk as { reason: string }).reason})`}`, async () => {
    const small = disk as SmallDisk;
    const dataDir = join(small.path, 'data');
    // Tokens first, as an operator would create them.
    ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const store = openStore(dataDir);
    const auth = createAuth({ store, audit: createAuditLog(store) });
    auth.createTenant({ id: 'acme', name: 'Acme' });
    const tenant = auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
    const publisher = auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const admin = auth.createToken({ kind: 'service', label: 'admin', scopes: ['admin'] }).token;
    await store.close();

    host = await startHostProcess({ dataDir, env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, RUNNER_WARM_SPARE: '0', EXT_RATE_LIMIT_PER_MINUTE: '1000000' } });
    onTestFailed(() => console.log(`host output:\n${host?.output()}`));
    const hello = packedExample('hello');
    expect((await uploadBundle({ registryUrl: host.url, token: publisher, bytes: hello.bytes, signatureFile: sign(hello.bytes, fixture.key) })).status).toBe(201);
    const headers = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    expect((await fetch(`${host.url}/api/installs`, { method: 'POST', headers: headers(tenant), body: JSON.stringify({ extensionId: 'com.example.hello', limits: { requestsPerMinute: 1000000 } }) })).status).toBe(201);
    const call = () => fetch(`${host!.url}/api/ext/com.example.hello/hello`, { headers: headers(tenant) });
    for (let attempt = 0; (await call()).status !== 200; attempt++) {
      expect(attempt).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    expect(small.fill()).toBeGreaterThan(0);
    // Calls go on for several of the execution log's once-a-second writes, each refused by the disk.
    const duringFull: string[] = [];
    for (const until = Date.now() + 4000; Date.now() < until && duringFull.length < 400; ) {
      const answer = await call();
      expect(answer.status).toBe(200);
      duringFull.push(answer.headers.get('x-request-id')!);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(host.child.exitCode).toBeNull();
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    expect(metrics).toMatch(/^alga_execution_log_pending_rows [1-9]/m);

    // Writes the disk refuses: the catalog's 507, and nothing half-written left behind.
    const version2 = repackedExample('hello', (manifest) => ({ ...manifest, version: '1.0.1' }));
    const published = await uploadBundle({ registryUrl: host.url, token: publisher, bytes: version2, signatureFile: sign(version2, fixture.key) });
    expect(published.status).toBe(507);
    expect(published.body.error?.code).toBe('E_STORAGE_FULL');
    expect(readdirSync(join(dataDir, 'bundles', 'sha256')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const trust = await algaHost(['trust', 'add', '--data', dataDir, '--publisher', 'other', '--public-key', Buffer.alloc(32, 7).toString('base64')]);
    expect(trust.code).toBe(1);
    expect(trust.stderr).toMatch(/^error E_STORAGE_FULL: /);

    // Space returns: the host writes again without a restart, and the held rows reach the store.
    small.free();
    const created = await fetch(`${host.url}/api/admin/tenants`, { method: 'POST', headers: headers(admin), body: JSON.stringify({ id: 'globex', name: 'Globex' }) });
    expect(created.status).toBe(201);
    const republished = await uploadBundle({ registryUrl: host.url, token: publisher, bytes: version2, signatureFile: sign(version2, fixture.key) });
    expect(republished.status).toBe(201);
    let listed: string[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      const executions = await (await fetch(`${host.url}/api/installs/com.example.hello/executions?limit=1000`, { headers: headers(tenant) })).json();
      listed = executions.executions.map((row: { requestId: string }) => row.requestId);
      if (/^alga_execution_log_pending_rows 0$/m.test(await (await fetch(`${host.url}/metrics`)).text())) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed).toEqual(expect.arrayContaining(duringFull));
    expect(await host.stop()).toBe(0);
  }, 240_000);
});
