import { rmSync } from 'node:fs';
import { callUntil, check, describeStatuses, newCallLog, type Scenario } from './scenario.ts';
import { prepareFixture, publishAndInstall, runnerPid, signedHello, sleep, startHost } from './support.ts';

/** kill -9 of the runner child twice under load: in-flight calls fail fast with the one error shape, and calls succeed again soon. */
export const runnerKill: Scenario = {
  name: 'runner-kill',
  summary: 'kill -9 the runner twice while 4 clients call; every failure is a prompt catalog answer, and calls answer 200 again',
  async run(report) {
    const fixture = prepareFixture();
    const host = await startHost(fixture);
    try {
      await publishAndInstall(host, fixture, signedHello(fixture.key));
      // The warm spare starts 15 s after the runner, at a quiet moment: wait for it before the calls
      // start. The first kill is taken over by the spare; the second, 3 s later, by a new runner.
      for (let i = 0; i < 120 && !/^alga_host_runner_spare_ready 1$/m.test(await (await fetch(`${host.url}/metrics`)).text()); i++) await sleep(500);
      const log = newCallLog();
      const recoveries: number[] = [];
      const faults = (async () => {
        for (const pause of [2000, 3000]) {
          await sleep(pause);
          const killedAt = performance.now();
          process.kill(runnerPid(fixture)!, 'SIGKILL');
          for (let i = 0; i < 600 && log.firstOkAfter(killedAt + 1) === undefined; i++) await sleep(50);
          const recovered = log.firstOkAfter(killedAt + 1);
          recoveries.push(recovered === undefined ? Number.NaN : recovered - killedAt);
          report(`runner killed; the first call started after the kill answered 200 ${recovered === undefined ? 'never' : `${(recovered - killedAt).toFixed(0)} ms after it`}`);
        }
        await sleep(2000);
      })();
      await callUntil(`${host.url}/api/ext/com.example.hello/hello`, { authorization: `Bearer ${fixture.tenantTokens.acme}` }, faults, log);
      report(`answers: ${describeStatuses(log)}; slowest ${log.slowestMs.toFixed(0)} ms`);
      const unexpected = [...log.statuses.keys()].filter((status) => ![200, 502, 503, 504].includes(status));
      return [
        check('every call was answered (none hung or was cut)', !log.statuses.has(0)),
        check('failures are 502/503/504 in the one error shape with a catalog code and the request id', unexpected.length === 0 && log.badShapes.length === 0, [...unexpected.map(String), ...log.badShapes.slice(0, 3)].join('; ')),
        check('calls answered 200 again after each kill, within 10 s', recoveries.every((ms) => ms <= 10_000), recoveries.map((ms) => `${ms.toFixed(0)} ms`).join(', ')),
      ];
    } finally {
      await host.stop();
      rmSync(fixture.work, { recursive: true, force: true });
    }
  },
};
