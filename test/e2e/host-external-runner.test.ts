import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { tempDir } from '../host/temp-dir.ts';
import { repoRoot } from '../support/projects.ts';

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if (await check()) return true;
  }
  return false;
}

describe('RUNNER_BASE_URL: a runner the host does not start', () => {
  const dir = tempDir('alga-e2e-ext-runner-');
  const dataDir = join(dir.path, 'data');
  let runner: ChildProcess | undefined;
  let host: HostProcess | undefined;

  afterAll(async () => {
    await host?.stop();
    if (runner && runner.exitCode === null) runner.kill('SIGKILL');
    dir.remove();
  });

  it('uses it instead of a child, and /readyz follows its health', async () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const port = await freePort();
    runner = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-runner.js')], {
      env: { ...process.env, RUNNER_PORT: String(port), RUNNER_SERVICE_TOKEN: secrets.runnerServiceToken, RUNNER_SECRET_KEY: secrets.runnerKeyPair.secretKey, RUNNER_DATA_DIR: join(dir.path, 'runner'), RUNNER_BUNDLE_DIR: join(dataDir, 'bundles'), SIGNING_TRUST_BUNDLE: '{"version":1,"keys":[]}' },
      stdio: 'ignore',
    });
    host = await startHostProcess({ dataDir, env: { RUNNER_BASE_URL: `http://127.0.0.1:${port}`, SIGNING_TRUST_BUNDLE: '{"version":1,"keys":[]}' } });
    expect(existsSync(join(dataDir, 'run', 'runner.pid'))).toBe(false);
    expect((await (await fetch(`${host.url}/readyz`)).json()).checks).toEqual({ plugins: true, runner: true });

    runner.kill('SIGKILL');
    const notReady = await until(async () => (await fetch(`${host!.url}/readyz`)).status === 503, 15_000);
    expect(notReady).toBe(true);
    expect((await (await fetch(`${host.url}/readyz`)).json()).checks.runner).toBe(false);
    expect(await until(async () => (await fetch(`${host!.url}/healthz`)).status === 200, 1000)).toBe(true);
  });
});

describe('alga-host start on a port that is taken', () => {
  it('exits 1 with a catalog error and leaves no runner behind', async () => {
    const dir = tempDir('alga-e2e-port-');
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-host.js'), 'start', '--data', join(dir.path, 'data'), '--port', String(port), '--profile', 'appliance'], {
        env: { ...process.env, ALGA_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toContain(`error E_HOST_LISTEN_FAILED: The host could not listen on its address; choose another --port or --host. 127.0.0.1:${port} is already in use.`);
      expect(existsSync(join(dir.path, 'data', 'run', 'runner.pid'))).toBe(false);
    } finally {
      blocker.close();
      dir.remove();
    }
  });
});

describe('alga-host start with a data folder it cannot use', () => {
  it('exits 1 with a catalog error naming the folder', async () => {
    const dir = tempDir('alga-e2e-data-');
    try {
      const notAFolder = join(dir.path, 'file');
      writeFileSync(notAFolder, 'a file, not a folder');
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-host.js'), 'start', '--data', join(notAFolder, 'data'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^error E_HOST_CONFIG_INVALID: The host configuration is invalid\\. The data folder ${join(notAFolder, 'data')} cannot be created \\(ENOTDIR\\)`, 'm'));
    } finally {
      dir.remove();
    }
  });
});
