import { readFileSync, rmSync } from 'node:fs';
import { RawClient, requestHead } from '../../test/host/raw-http.ts';
import { check, type Scenario } from './scenario.ts';
import { prepareFixture, publishAndInstall, signedHello, sleep, startHost } from './support.ts';

const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;

/**
 * Slow and hostile clients: 100 unauthenticated ~1 MB bodies held just short of complete, 50
 * authenticated bodies trickled a byte at a time, then SIGTERM while one still trickles.
 */
export const slowClients: Scenario = {
  name: 'slow-clients',
  summary: 'hold 100 unauthenticated 1 MB bodies short of complete and trickle 50 authenticated ones, then SIGTERM: refused early, cut, bounded memory, a bounded stop',
  async run(report) {
    const fixture = prepareFixture();
    const env = { RUNNER_WARM_SPARE: '0', ALGA_BODY_GRACE_MS: '3000', ALGA_SHUTDOWN_DRAIN_MS: '3000' };
    const host = await startHost(fixture, env);
    const port = Number(new URL(host.url).port);
    try {
      await publishAndInstall(host, fixture, signedHello(fixture.key));
      const rssBefore = rssMb(host.child.pid!);
      // Unauthenticated bodies sent all but their last 1,000 bytes.
      const body = Buffer.alloc(1024 * 1024 - 1000, 97);
      const anonymous = Array.from({ length: 100 }, () => {
        const client = new RawClient(port);
        client.write(requestHead('POST', '/api/ext/com.example.hello/hello', { 'content-type': 'application/octet-stream', 'content-length': 1024 * 1024 }));
        client.write(body);
        return client;
      });
      // Authenticated bodies trickled one byte every 100 ms.
      const tricklers = Array.from({ length: 50 }, () => {
        const client = new RawClient(port);
        client.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', 'content-length': 10_000 }));
        return client;
      });
      const trickle = setInterval(() => tricklers.forEach((client) => client.write(' ')), 100);
      const anonymousAnswers = await Promise.all(anonymous.map(async (client) => (await client.responses(1))[0]?.status));
      await Promise.all(anonymous.map((client) => client.closed));
      const rssHeld = rssMb(host.child.pid!);
      const trickleAnswers = await Promise.race([Promise.all(tricklers.map(async (client) => (await client.responses(1))[0]?.status)), sleep(20_000).then(() => undefined)]);
      clearInterval(trickle);
      report(`unauthenticated: ${anonymousAnswers.filter((status) => status === 401).length}/100 answered 401 and closed; trickled: ${trickleAnswers?.filter((status) => status === 408).length ?? 0}/50 cut with 408; RSS ${rssBefore.toFixed(0)} → ${rssHeld.toFixed(0)} MB`);

      // SIGTERM while one client still trickles: the stop must not wait for it beyond the drain.
      const last = new RawClient(port);
      last.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${fixture.adminToken}`, 'content-type': 'application/json', 'content-length': 10_000 }));
      const lastTrickle = setInterval(() => last.write(' '), 100);
      await sleep(500);
      const stopping = performance.now();
      const exitCode = await Promise.race([host.stop(), sleep(15_000).then(() => 'still running after 15 s')]);
      const stopMs = performance.now() - stopping;
      clearInterval(lastTrickle);
      report(`SIGTERM with a trickling client: exit ${exitCode} after ${stopMs.toFixed(0)} ms`);
      return [
        check('every unauthenticated body was refused with 401 before it was complete, and its connection closed', anonymousAnswers.every((status) => status === 401), [...new Set(anonymousAnswers)].join(' ')),
        check('every trickled body was cut with 408', trickleAnswers?.every((status) => status === 408) === true, trickleAnswers?.join(' ')),
        check('holding them grew the host by less than 30 MB', rssHeld - rssBefore < 30, `${(rssHeld - rssBefore).toFixed(1)} MB`),
        check('SIGTERM ended the host within its drain (3 s) and a margin, exit 0', exitCode === 0 && stopMs < 10_000, `${exitCode}, ${stopMs.toFixed(0)} ms`),
      ];
    } finally {
      await host.stop();
      rmSync(fixture.work, { recursive: true, force: true });
    }
  },
};
