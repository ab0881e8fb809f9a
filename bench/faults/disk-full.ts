import { join } from 'node:path';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { mountSmallDisk, type SmallDisk } from '../../test/support/tmpfs.ts';
import { callUntil, check, describeStatuses, newCallLog, type Scenario } from './scenario.ts';
import { prepareFixture, publishAndInstall, signedHello, sleep, startHost } from './support.ts';

/** The data folder on a 96 MB tmpfs filled to the last byte under load, then freed again. */
export const diskFull: Scenario = {
  name: 'disk-full',
  summary: 'fill the data folder\'s tmpfs under load: calls keep answering, writes get 507 E_STORAGE_FULL, the host stays up and writes again once space returns',
  unavailable: () => (process.platform !== 'linux' ? 'tmpfs mounts need Linux' : process.getuid?.() !== 0 ? 'mounting a tmpfs needs root' : undefined),
  async run(report) {
    const mounted = mountSmallDisk(96);
    if (!('path' in mounted)) return [check('a tmpfs could be mounted', false, mounted.reason)];
    const disk: SmallDisk = mounted;
    const fixture = prepareFixture({ dataDir: join(disk.path, 'data') });
    const host = await startHost(fixture, { RUNNER_WARM_SPARE: '0' });
    try {
      await publishAndInstall(host, fixture, signedHello(fixture.key));
      const tenant = { authorization: `Bearer ${fixture.tenantTokens.acme}` };
      const admin = { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json' };
      const log = newCallLog();
      const writes: number[] = [];
      const writeCodes = new Set<string>();
      const faults = (async () => {
        await sleep(1000);
        report(`filled the disk with ${(disk.fill() / 1048576).toFixed(0)} MB`);
        for (let n = 0; n < 5; n++) {
          const answer = await fetch(`${host.url}/api/admin/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ id: `full-${n}`, name: 'x'.repeat(2000) }) });
          writes.push(answer.status);
          if (answer.status >= 400) writeCodes.add((await answer.json()).error.code);
          else await answer.arrayBuffer();
        }
        const bundle = signedHello(fixture.key, (manifest) => ({ ...manifest, version: '3.0.0' }));
        const published = await uploadBundle({ registryUrl: host.url, token: fixture.publisherToken, bytes: bundle.bytes, signatureFile: bundle.signatureFile });
        writes.push(published.status);
        if (published.body.error) writeCodes.add(published.body.error.code);
        await sleep(3000); // several of the execution log's once-a-second writes
        disk.free();
        report('freed the disk');
        await sleep(1500);
      })();
      await callUntil(`${host.url}/api/ext/com.example.hello/hello`, tenant, faults, log);
      // The log writes once a second: the rows it held (and the last calls') reach the store within a few.
      let pending: string | undefined;
      for (let i = 0; i < 20 && pending !== '0'; i++, await sleep(250)) pending = /^alga_execution_log_pending_rows (\d+)$/m.exec(await (await fetch(`${host.url}/metrics`)).text())?.[1];
      const after = await fetch(`${host.url}/api/admin/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'after', name: 'After' }) });
      report(`calls: ${describeStatuses(log)}; writes while full: ${writes.join(' ')} (${[...writeCodes].join(', ')})`);
      return [
        check('the host stayed up', host.child.exitCode === null && host.child.signalCode === null),
        check('every extension call answered 200 while the disk was full', log.statuses.size === 1 && log.statuses.has(200), describeStatuses(log)),
        check('writes the disk refused were answered 507 E_STORAGE_FULL', writes.some((status) => status === 507) && [...writeCodes].every((code) => code === 'E_STORAGE_FULL'), `${writes.join(' ')} ${[...writeCodes].join(', ')}`),
        check('writes succeed again once space returned', after.status === 201, `status ${after.status}`),
        check('the execution log wrote the rows it held', pending === '0', `pending rows ${pending}`),
      ];
    } finally {
      disk.free();
      await host.stop();
      disk.unmount();
    }
  },
};
