import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../../host/core/runner/free-port.ts';
import { callUntil, check, describeStatuses, newCallLog, type Scenario } from './scenario.ts';
import { prepareFixture, publishAndInstall, signedHello, sleep, startHost } from './support.ts';

function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function redisUp(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error('redis-server did not start');
}

/** A private redis-server (never the shared one) behind the debug stream: frozen, then killed and restarted, under load. */
export const redisLoss: Scenario = {
  name: 'redis-loss',
  summary: 'freeze, then kill and restart the Redis the debug stream writes to, under load: every extension call still answers 200',
  unavailable: () => undefined,
  async run(report) {
    const port = await freePort();
    let redis = startRedis(port);
    await redisUp(port);
    const fixture = prepareFixture();
    const host = await startHost(fixture, { RUNNER_WARM_SPARE: '0', RUNNER_DEBUG_REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      await publishAndInstall(host, fixture, signedHello(fixture.key));
      const log = newCallLog();
      const faults = (async () => {
        await sleep(1500);
        redis.kill('SIGSTOP');
        report('redis frozen');
        await sleep(3000);
        redis.kill('SIGCONT');
        redis.kill('SIGKILL');
        report('redis killed');
        await sleep(3000);
        redis = startRedis(port);
        await redisUp(port);
        report('redis restarted');
        await sleep(2000);
      })();
      await callUntil(`${host.url}/api/ext/com.example.hello/hello`, { authorization: `Bearer ${fixture.tenantTokens.acme}` }, faults, log);
      report(`calls: ${describeStatuses(log)}; slowest ${log.slowestMs.toFixed(0)} ms`);
      return [
        check('every call answered 200 through the freeze, the loss and the restart', log.statuses.size === 1 && log.statuses.has(200), describeStatuses(log)),
        check('no call waited on Redis for more than 2 s', log.slowestMs < 2000, `${log.slowestMs.toFixed(0)} ms`),
      ];
    } finally {
      await host.stop();
      redis.kill('SIGKILL');
      rmSync(fixture.work, { recursive: true, force: true });
    }
  },
};
