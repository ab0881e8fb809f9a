import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { guestDir, repoRoot } from '../support/projects.ts';

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'alga-ext-run-'));
const algaExtIn = (guest: string, ...args: string[]) => run(process.execPath, [join(repoRoot, 'bin/alga-ext.js'), 'run', guestDir(guest), '--data-dir', dataDir, ...args], { cwd: repoRoot });
const algaExt = (...args: string[]) => algaExtIn('misbehave', ...args);
/** The exit code, stdout and stderr of a run that must fail. */
const failing = (answer: Promise<unknown>) =>
  answer.then(
    () => expect.unreachable('exited 0'),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('alga-ext run', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs a handler with config, the manifest\'s grants and a body, keeping storage between runs', async () => {
    const put = await algaExt('-X', 'POST', '--path', '/storage/put', '-q', 'key=greeting', '-d', 'hi there');
    expect(JSON.parse(put.stdout)).toEqual({ ok: true });
    expect(put.stderr).toContain('HTTP 200');
    const get = await algaExt('--path', '/storage/get', '-q', 'key=greeting');
    expect(JSON.parse(get.stdout)).toEqual({ ok: true, value: 'hi there' });
    const config = await algaExt('--path', '/config', '-c', 'region=eu', '-c', 'mode=test');
    expect(JSON.parse(config.stdout)).toEqual({ region: 'eu', mode: 'test' });
  });

  it('narrows the grants with --grant and --deny, and refuses a capability the manifest does not declare', async () => {
    const denied = await algaExt('--path', '/storage/get', '-q', 'key=x', '--deny', 'alga.storage');
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: false, error: 'denied' });
    expect(denied.stderr).toContain('denied alga.storage');
    const onlyLog = await algaExt('--path', '/storage/get', '-q', 'key=x', '--grant', 'alga.log');
    expect(JSON.parse(onlyLog.stdout)).toMatchObject({ ok: false, error: 'denied' });
    const undeclared = await failing(algaExtIn('sdk-failures', '--path', '/count', '--grant', 'alga.http'));
    expect(undeclared.stderr).toContain('error E_CLI_USAGE: The command line is not valid. alga.http is not among the capabilities manifest.json declares (alga.storage).');
  });

  it('exits 1 on a 4xx/5xx answer, printing the SDK\'s code, the cause and a stack in src/index.ts', async () => {
    const notFound = await failing(algaExt('--path', '/no-such-route'));
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toContain('HTTP 404');
    const thrown = await failing(algaExtIn('sdk-failures', '--path', '/throw'));
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toContain('error E_EXT_UNHANDLED: Error: the handler gave up: on purpose');
    expect(thrown.stderr).toContain('at giveUp (src/index.ts:11:9)');
    const denied = await failing(algaExtIn('sdk-failures', '--path', '/denied', '--deny', 'alga.storage'));
    expect(denied.stderr).toContain('error E_EXT_HOST_DENIED: HostDeniedError: storage.get: The install was not granted alga.storage.');
    expect(JSON.parse(denied.stdout).error.code).toBe('E_EXT_HOST_DENIED');
  });

  it('starts one guest worker for its one call: no reserve worker, no loader thread', async () => {
    const counted = await run(process.execPath, ['--import', join(repoRoot, 'test/support/count-threads.mjs'), join(repoRoot, 'bin/alga-ext.js'), 'run', guestDir('misbehave'), '--data-dir', dataDir, '--path', '/config'], { cwd: repoRoot });
    expect(counted.stderr).toContain('HTTP 200');
    expect(/worker threads started: (\d+)/.exec(counted.stderr)?.[1]).toBe('1');
  });

  it('reports a trap of a guest without the SDK with its error code', async () => {
    const crash = await failing(algaExt('--path', '/throw'));
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('error E_RUNNER_GUEST_TRAP');
    expect(crash.stderr).toContain('the guest gave up on purpose');
  });
});
