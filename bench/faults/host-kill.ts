import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { check, type Scenario } from './scenario.ts';
import { prepareFixture, publishAndInstall, signedHello, sleep, startHost, type HostProcess } from './support.ts';

/**
 * kill -9 of the host while it takes writes of every kind (tenants, install changes, publishes):
 * after a restart on the same data folder every write that was answered 2xx is there, and every
 * stored blob matches its hash.
 */
export const hostKill: Scenario = {
  name: 'host-kill',
  summary: 'kill -9 the host during tenant, install and publish writes; after a restart every 2xx write is there and blobs match their hashes',
  async run(report) {
    const fixture = prepareFixture();
    let host: HostProcess = await startHost(fixture, { RUNNER_WARM_SPARE: '0' });
    try {
      await publishAndInstall(host, fixture, signedHello(fixture.key));
      const admin = { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json' };
      const tenant = { authorization: `Bearer ${fixture.tenantTokens.acme}`, 'content-type': 'application/json' };
      const tenants: string[] = [];
      const configs: string[] = [];
      const versions: { version: string; hash: string }[] = [];
      let stop = false;
      const url = host.url;
      const tryFetch = async (path: string, init: RequestInit) => {
        try {
          return (await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })).status;
        } catch {
          return 0;
        }
      };
      const writers = [
        ...Array.from({ length: 3 }, (_, loop) => (async () => {
          for (let n = 0; !stop; n++) {
            const id = `t${loop}-${n}`;
            if ((await tryFetch('/api/admin/tenants', { method: 'POST', headers: admin, body: JSON.stringify({ id, name: id }) })) === 201) tenants.push(id);
          }
        })()),
        (async () => {
          for (let n = 0; !stop; n++) {
            const name = `config-${n}`;
            if ((await tryFetch('/api/installs/com.example.hello', { method: 'PATCH', headers: tenant, body: JSON.stringify({ config: { greeting_name: name } }) })) === 200) configs.push(name);
          }
        })(),
        (async () => {
          for (let n = 1; !stop; n++) {
            const bundle = signedHello(fixture.key, (manifest) => ({ ...manifest, version: `2.0.${n}` }));
            try {
              const answer = await uploadBundle({ registryUrl: url, token: fixture.publisherToken, bytes: bundle.bytes, signatureFile: bundle.signatureFile });
              if (answer.status === 201) versions.push({ version: `2.0.${n}`, hash: bundle.hash });
            } catch {
              // the host went away mid-upload
            }
          }
        })(),
      ];
      // Long enough for a few publishes of the ~12 MB bundle to be acknowledged on a busy machine.
      await sleep(6000);
      host.child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await host.exited;
      report(`host killed after ${tenants.length} tenants, ${configs.length} install changes and ${versions.length} publishes were acknowledged`);

      host = await startHost(fixture, { RUNNER_WARM_SPARE: '0' });
      const listed = new Set(((await (await fetch(`${host.url}/api/admin/tenants`, { headers: admin })).json()).tenants as { id: string }[]).map((t) => t.id));
      const missingTenants = tenants.filter((id) => !listed.has(id));
      const install = (await (await fetch(`${host.url}/api/installs/com.example.hello`, { headers: tenant })).json()).install;
      const configIndex = Number(String(install.config.greeting_name).replace('config-', ''));
      const lastAcknowledged = configs.length === 0 ? -1 : Number(configs.at(-1)!.replace('config-', ''));
      const missingVersions: string[] = [];
      const badBlobs: string[] = [];
      for (const { version, hash } of versions) {
        const detail = await fetch(`${host.url}/api/registry/extensions/com.example.hello/versions/${version}`, { headers: tenant });
        if (detail.status !== 200 || (await detail.json()).version.contentHash !== hash) missingVersions.push(version);
        const blob = Buffer.from(await (await fetch(`${host.url}/api/registry/bundles/${hash}/blob`, { headers: tenant })).arrayBuffer());
        if (`sha256:${createHash('sha256').update(blob).digest('hex')}` !== hash) badBlobs.push(version);
      }
      const called = await fetch(`${host.url}/api/ext/com.example.hello/hello`, { headers: tenant });
      return [
        check('every tenant answered 201 is listed after the restart', missingTenants.length === 0, missingTenants.length ? `missing ${missingTenants.slice(0, 5).join(', ')} of ${tenants.length}` : `${tenants.length} tenants`),
        check('the install holds the last acknowledged config or a later one', lastAcknowledged < 0 || configIndex >= lastAcknowledged, `stored config-${configIndex}, last acknowledged config-${lastAcknowledged}`),
        check('every version answered 201 is listed with its hash, and its blob hashes to it', missingVersions.length === 0 && badBlobs.length === 0, `${versions.length} versions; missing ${missingVersions.join(', ') || 'none'}; bad blobs ${badBlobs.join(', ') || 'none'}`),
        check('the restarted host serves the extension', called.status === 200, `status ${called.status}`),
      ];
    } finally {
      await host.stop();
      rmSync(fixture.work, { recursive: true, force: true });
    }
  },
};
