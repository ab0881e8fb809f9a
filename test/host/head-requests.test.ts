import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfilePlugins } from '../../host/plugins/index.ts';
import { algaHost } from './alga-host-cli.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { tempDir } from './temp-dir.ts';

/**
 * HTTP asks every GET resource to answer HEAD: a monitor probing /readyz, a link checker, `curl -I`.
 * Each page and API a user reaches with GET answers HEAD with the same status and headers and no
 * body, on a claimed host (where /setup sends the browser on to the sign-in page).
 */
describe('HEAD wherever GET', () => {
  const data = tempDir();
  let h: InProcessHost;
  let session: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    writeFileSync(join(data.path, 'password'), 'head requests pass phrase 4Kp');
    const claimed = await algaHost(['setup', '--data', data.path, '--password-file', join(data.path, 'password')]);
    expect(claimed.code, claimed.stderr).toBe(0);
    h = await inProcessHost({ dataDir: data.path, plugins: await loadProfilePlugins('appliance') });
    h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    await h.host.auth.createUser({ username: 'alice', password: 'alice has a long password', role: 'tenant-admin', tenantId: 'acme' });
    const login = await h.host.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'alice', password: 'alice has a long password' } });
    const cookie = login.cookies.find((c) => c.name === 'alga_session')!;
    session = { cookie: `${cookie.name}=${cookie.value}` };
    // Over real HTTP: what Node's server sends for a HEAD is what a client sees.
    base = await h.host.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await h?.close();
    data.remove();
  });

  const paths = ['/', '/healthz', '/readyz', '/metrics', '/login', '/setup', '/console', '/console/catalog', '/console/tenants', '/console/installs/com.example.nothing', '/ext', '/ext/com.example.nothing', '/ui/assets/style.css', '/api/auth/me', '/api/installs', '/api/registry/extensions', '/api/admin/tenants', '/no-such-page'];

  it.each(paths)('HEAD %s answers as GET does, without a body', async (url) => {
    // Signed out, with an operator's API token, and signed in as a tenant admin in the browser.
    for (const headers of [{}, bearer(h.adminToken), session]) {
      const get = await fetch(`${base}${url}`, { headers, redirect: 'manual' });
      await get.arrayBuffer();
      const head = await fetch(`${base}${url}`, { method: 'HEAD', headers, redirect: 'manual' });
      const seen = (answer: Response) => ({ url, status: answer.status, type: answer.headers.get('content-type'), location: answer.headers.get('location') });
      expect(seen(head)).toEqual(seen(get));
      expect(await head.text()).toBe('');
    }
  });
});
