import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleDir, repoRoot, sharedBuildCache } from '../support/projects.ts';

/**
 * `alga-ext dev` as a developer uses it: the dev page in Chromium shows the extension's UI from its
 * own origin, talking to the API through the host bridge and the real runner; a change in ui/
 * reloads the frame and a one-line change in src/ is live on the next request without a
 * componentize-js run (the dev engine is built once, cached by source hash).
 */
const work = mkdtempSync(join(tmpdir(), 'alga-dev-'));
const project = join(work, 'counter');
let dev: ChildProcess;
let stderr = '';
let url = '';
let browser: Browser;

async function until<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen; dev said:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  cpSync(exampleDir('kv-counter'), project, { recursive: true, filter: (source) => !source.includes(`${join('kv-counter', 'dist')}`) });
  dev = spawn(process.execPath, ['--import', join(repoRoot, 'test', 'support', 'count-threads.mjs'), join(repoRoot, 'bin', 'alga-ext.js'), 'dev', '--port', '0', '--cache-dir', sharedBuildCache], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  dev.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  dev.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  url = (await until(() => /alga-ext dev: (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? '', Boolean, 'the dev server start', 170_000));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  dev?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

describe('alga-ext dev', () => {
  it('answers HEAD wherever it answers GET, as the host does: the dev page and a GET endpoint', async () => {
    const page = await fetch(url, { method: 'HEAD' });
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    const count = await fetch(`${url}/api/ext/com.example.kv-counter/count`, { method: 'HEAD' });
    expect([count.status, count.headers.get('content-type'), await count.text()]).toEqual([200, 'application/json; charset=utf-8', '']);
    const events = await fetch(`${url}/__alga/events`, { method: 'HEAD' });
    expect([events.status, events.headers.get('content-type'), await events.text()]).toEqual([200, 'text/event-stream', '']);
    const refused = await fetch(`${url}/api/ext/com.example.kv-counter/increment`, { method: 'DELETE' });
    expect([refused.status, refused.headers.get('allow')]).toEqual([405, 'POST']);
  });

  it('serves the UI from its own origin on the dev page, with the API behind the bridge', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const frame = page.frameLocator('#ext-frame');
    await expect.poll(() => frame.locator('#count').textContent(), { timeout: 30_000 }).toBe('0');
    await frame.locator('#increment').click();
    await expect.poll(() => frame.locator('#count').textContent(), { timeout: 30_000 }).toBe('1');
    const frameUrl = await page.locator('#ext-frame').getAttribute('src');
    expect(new URL(frameUrl!).origin).not.toBe(new URL(url).origin);

    // A change in ui/ reloads the frame with the new page.
    const html = join(project, 'ui', 'index.html');
    writeFileSync(html, readFileSync(html, 'utf8').replace('<h1>Counter</h1>', '<h1>Counter, edited</h1>'));
    await expect.poll(() => frame.locator('h1').textContent(), { timeout: 30_000 }).toBe('Counter, edited');
    await page.close();
  });

  it('makes a one-line change in src/ live on the next request, without componentize-js', async () => {
    const source = join(project, 'src', 'index.ts');
    const before = stderr.length;
    const original = readFileSync(source, 'utf8');
    const edited = original.replace('json(currentCount())', "json({ ...currentCount(), unit: 'clicks' })");
    expect(edited).not.toBe(original);
    writeFileSync(source, edited);
    const answer = await until(
      async () => (await (await fetch(`${url}/api/ext/com.example.kv-counter/count`)).json()) as { count: number; version: number | null; unit?: string },
      (body) => body.unit === 'clicks',
      'the src/ change',
    );
    expect(answer).toEqual({ count: 1, version: expect.any(Number), unit: 'clicks' }); // storage kept, code replaced
    const said = stderr.slice(before);
    expect(said).toMatch(/Rebuilt in \d+ ms \(src\/index\.ts changed\)/);
    expect(said).not.toContain('componentize');
  });

  it('keeps serving the last good build when the source does not compile, and says why', async () => {
    const source = join(project, 'src', 'index.ts');
    writeFileSync(source, `${readFileSync(source, 'utf8')}\nconst broken = ;\n`);
    await until(() => stderr, (text) => text.includes('E_BUILD_SOURCE_ERROR'), 'the build error');
    expect(stderr).toMatch(/src\/index\.ts:\d+: /);
    const answer = await fetch(`${url}/api/ext/com.example.kv-counter/count`);
    expect(answer.status).toBe(200);
  });

  it('runs on one guest worker and its loader thread (no reserve worker: there is one tenant), and stops cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => dev.once('exit', resolve));
    dev.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(/worker threads started: (\d+)/.exec(stderr)?.[1]).toBe('2');
  });
});
