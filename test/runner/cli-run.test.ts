import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { guestDir, repoRoot } from '../support/projects.ts';

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'alga-ext-run-'));
const algaExt = (...args: string[]) => run(process.execPath, [join(repoRoot, 'bin/alga-ext.js'), 'run', guestDir('misbehave'), '--data-dir', dataDir, ...args], { cwd: repoRoot });

describe('alga-ext run', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('runs a handler with config, grants and a body, keeping storage between runs', async () => {
    const put = await algaExt('-X', 'POST', '--path', '/storage/put', '-q', 'key=greeting', '-d', 'hi there', '--grant', 'alga.storage');
    expect(JSON.parse(put.stdout)).toEqual({ ok: true });
    expect(put.stderr).toContain('HTTP 200');
    const get = await algaExt('--path', '/storage/get', '-q', 'key=greeting', '--grant', 'alga.storage');
    expect(JSON.parse(get.stdout)).toEqual({ ok: true, value: 'hi there' });
    const config = await algaExt('--path', '/config', '-c', 'region=eu', '-c', 'mode=test');
    expect(JSON.parse(config.stdout)).toEqual({ region: 'eu', mode: 'test' });
  });

  it('reports a denied capability and a guest crash with its error code', async () => {
    const denied = await algaExt('--path', '/storage/get', '-q', 'key=x');
    expect(JSON.parse(denied.stdout)).toMatchObject({ ok: false, error: 'denied' });
    expect(denied.stderr).toContain('denied alga.storage');
    const crash = await algaExt('--path', '/throw').then(
      () => expect.unreachable(),
      (error: { code: number; stderr: string }) => error,
    );
    expect(crash.code).toBe(1);
    expect(crash.stderr).toContain('error E_RUNNER_GUEST_TRAP');
    expect(crash.stderr).toContain('the guest gave up on purpose');
  });
});
