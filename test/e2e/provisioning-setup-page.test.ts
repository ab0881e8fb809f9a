import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';

/** The /setup page in real Chromium with JavaScript switched off: a plain form that works (its one script, the theme, is optional). */

let root: string;
let host: HostProcess;
let browser: Browser;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'alga-prov-page-'));
  host = await startHostProcess({ dataDir: join(root, 'appliance'), profile: 'appliance' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await host?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('/setup page', () => {
  it('claims the host without JavaScript, showing clear errors first', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${host.url}/setup`);
    expect(await page.locator('script:not([src])').count()).toBe(0);
    const password = 'my own admin passphrase 2026';
    const token = readFileSync(join(host.dataDir, 'setup-token'), 'utf8').trim();

    await page.fill('#token', token);
    await page.fill('#password', password);
    await page.fill('#password_confirm', `${password}!`);
    await page.click('button[type=submit]');
    expect(await page.locator('[role=alert]').textContent()).toContain('do not match');
    expect(await page.locator('[role=alert]').textContent()).not.toContain('incomplete');
    expect(await page.inputValue('#token')).toBe(token);

    await page.fill('#token', 'not-the-token');
    await page.fill('#password', password);
    await page.fill('#password_confirm', password);
    await page.click('button[type=submit]');
    expect(await page.locator('[role=alert]').textContent()).toContain('setup token is not valid');
    expect(await page.content()).not.toContain(password);
    expect(await page.getAttribute('#token', 'aria-invalid')).toBe('true');

    await page.fill('#token', token);
    await page.fill('#password', password);
    await page.fill('#password_confirm', password);
    await page.click('button[type=submit]');
    // Told so, and signed in: the console says the host is claimed.
    expect(new URL(page.url()).pathname).toBe('/console');
    expect(await page.locator('[role=status]').textContent()).toContain('This host is claimed and you are signed in');
    expect(await page.locator('#signed-in-as').textContent()).toContain('admin');

    await page.goto(`${host.url}/setup`);
    expect(new URL(page.url()).pathname).not.toBe('/setup');
    expect((await request(`${host.url}/setup/status`)).status).toBe(410);
    await context.close();
  });
});
