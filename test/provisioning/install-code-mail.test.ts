import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import licensePlugin from '../../host/plugins/license/index.ts';
import type { InstallCodeRecord } from '../../host/plugins/license/registry.ts';
import type { MailJob } from '../../host/plugins/license/mail-queue.ts';
import { tempDir } from '../host/temp-dir.ts';
import { request } from './support/host-process.ts';
import { startSmtpSink, testCertFile } from './support/smtp-sink-process.ts';

/**
 * Install-code mail through a real SMTP server (smtp-server, its own process): STARTTLS and AUTH,
 * retries with backoff (a new code each attempt; the undelivered ones revoked), dead letters the
 * operator can see without codes and retry, and a control plane stopped mid-send that sends a new
 * code when it comes back. No code is ever in the store, the outbox or an API answer.
 */

const run = promisify(execFile);
const CODE = /ALGA(?:-[0-9A-Z]{1,5}){7}/;
const smtpUser = 'licensing';
const smtpPass = `smtp-${Math.random().toString(36).slice(2)}-pass`;

describe('install-code mail over SMTP', () => {
  const dir = tempDir('alga-mail-');
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let running: RunningHost | undefined;
  let serviceToken: string;
  let env: Record<string, string>;

  const start = async () => {
    running = await startHost({ dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'control-plane', plugins: [licensePlugin], logLevel: 'silent', announce: () => {}, env });
    serviceToken = readFileSync(join(dir.path, 'license-service-token'), 'utf8').trim();
    return running;
  };
  const service = (path: string, init: { json?: unknown; method?: string } = {}) => request(`${running!.url}${path}`, { ...init, headers: { authorization: `Bearer ${serviceToken}` } });
  const registerTenant = (email: string) => service('/register-tenant', { json: { company: `Co ${email}`, contact_name: 'Pat', contact_email: email, edition: 'pro' } });
  const codesOf = (tenantId: string) => [...running!.store.db<InstallCodeRecord, string>('license.codes').getRange({})].map(({ value }) => value).filter((code) => code.tenantId === tenantId);
  const mailJob = (id: string) => running!.store.db<MailJob, string>('license.mail').get(id)!;
  const codeIn = (text: string) => CODE.exec(text)?.[0];

  beforeAll(async () => {
    sink = await startSmtpSink({ user: smtpUser, pass: smtpPass });
    writeFileSync(join(dir.path, 'smtp-password'), `${smtpPass}\n`, { mode: 0o600 });
    env = {
      RUNNER_BASE_URL: 'http://127.0.0.1:9',
      ALGA_SMTP_HOST: '127.0.0.1',
      ALGA_SMTP_PORT: String(sink.port),
      ALGA_SMTP_SECURITY: 'starttls',
      ALGA_SMTP_USER: smtpUser,
      ALGA_SMTP_PASSWORD_FILE: join(dir.path, 'smtp-password'),
      ALGA_SMTP_CA_FILE: testCertFile,
      ALGA_SMTP_FROM: 'Alga Licensing <licensing@cp.test>',
      ALGA_SMTP_TIMEOUT_SECONDS: '5',
      ALGA_MAIL_RETRY_SECONDS: '0.05',
      ALGA_MAIL_MAX_ATTEMPTS: '3',
    };
    await start();
  });
  afterAll(async () => {
    await running?.close();
    await sink?.stop();
    dir.remove();
  });

  it('mails the code once over STARTTLS with AUTH; it redeems, and neither the store nor any answer holds it', async () => {
    const registered = await registerTenant('ann@mail.test');
    expect(registered.status).toBe(201);
    expect(registered.json).toMatchObject({ mail_status: 'sending', install_code_expires_at: expect.any(String) });
    await sink.until(() => sink.mailsTo('ann@mail.test').length === 1, 'the mail to ann');
    await sink.until(() => mailJob(registered.json.mail_id).status === 'sent', 'the mail to ann recorded as sent');
    const [mail] = sink.mailsTo('ann@mail.test');
    expect(mail).toMatchObject({ secure: true, user: smtpUser });
    expect(mail.raw).toMatch(/^From: Alga Licensing <licensing@cp\.test>/m);
    const code = codeIn(mail.text)!;
    expect(code).toBeDefined();
    expect(mail.text).toContain(`${running!.url}/download/alga-appliance.iso?tenant=${registered.json.tenant_id}`);

    const outbox = await service('/outbox?to=ann@mail.test');
    expect(outbox.json.transport).toBe('smtp');
    expect(outbox.json.messages).toEqual([expect.objectContaining({ status: 'sent', attempts: 1, last_error: null, sent_at: expect.any(String) })]);
    expect(outbox.text).not.toMatch(CODE);
    expect(registered.text).not.toMatch(CODE);
    await running!.store.flushed();
    const stored = readFileSync(join(dir.path, 'store', 'data.mdb'));
    for (const spelling of [code, code.replaceAll('-', ''), code.slice(5)]) expect(stored.includes(Buffer.from(spelling))).toBe(false);

    const redeemed = await request(`${running!.url}/register`, { json: { claim_code: code, appliance_id: 'apl_mail_test_1' } });
    expect(redeemed.status).toBe(200);
    expect(redeemed.json.tenant_id).toBe(registered.json.tenant_id);
  });

  it('retries a refused delivery with backoff, minting a new code each attempt; only the delivered code is live', async () => {
    await sink.behave({ rcpt: { 'bo@mail.test': [451, 421] } });
    const registered = await registerTenant('bo@mail.test');
    await sink.until(() => sink.mailsTo('bo@mail.test').length === 1, 'the mail to bo after two refusals');
    await sink.until(() => mailJob(registered.json.mail_id).status === 'sent', 'the mail to bo recorded as sent');
    const job = mailJob(registered.json.mail_id);
    expect(job).toMatchObject({ status: 'sent', attempts: 3 });
    expect(job.lastError).toBeUndefined();
    const codes = codesOf(registered.json.tenant_id);
    expect(codes.map((code) => code.status).sort()).toEqual(['revoked', 'revoked', 'unclaimed']);
    const delivered = codeIn(sink.mailsTo('bo@mail.test')[0].text)!;
    expect(sink.mailsTo('bo@mail.test')[0].text).toContain('only the code below works');
    expect((await request(`${running!.url}/register`, { json: { claim_code: delivered, appliance_id: 'apl_mail_test_2' } })).status).toBe(200);
  });

  it('a permanent refusal is a dead letter at once: listed without a code, its code revoked; retried, it is delivered', async () => {
    await sink.behave({ rcpt: { 'cy@mail.test': [550] } });
    const registered = await registerTenant('cy@mail.test');
    const id = registered.json.mail_id as string;
    await sink.until(() => mailJob(id).status === 'failed', 'the dead letter');
    const dead = await service('/outbox?status=failed');
    expect(dead.json.messages).toEqual([expect.objectContaining({ id, to: 'cy@mail.test', status: 'failed', attempts: 1, last_error: expect.stringContaining('550') })]);
    expect(dead.text).not.toMatch(CODE);
    expect(codesOf(registered.json.tenant_id).map((code) => code.status)).toEqual(['revoked']);
    // The operator's view from the shell shows the same dead letter, and no code.
    const listed = await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'mail', 'list', '--status', 'failed', '--data', dir.path], { cwd: projectRoot });
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+failed\\s+attempts 1\\s+cy@mail\\.test .*550`, 'm'));
    expect(listed.stdout).not.toMatch(CODE);

    const retried = await service(`/outbox/${id}/retry`, { method: 'POST' });
    expect(retried.json.message).toMatchObject({ status: 'queued', attempts: 0 });
    await sink.until(() => sink.mailsTo('cy@mail.test').length === 1, 'the retried mail');
    await sink.until(() => mailJob(id).status === 'sent', 'the retried mail recorded as sent');
    expect((await service(`/outbox/${id}/retry`, { method: 'POST' })).json.error.code).toBe('E_MAIL_STATE');
    expect(codesOf(registered.json.tenant_id).filter((code) => code.status === 'unclaimed')).toHaveLength(1);
  });

  it('gives up after ALGA_MAIL_MAX_ATTEMPTS transient refusals', async () => {
    await sink.behave({ rcpt: { 'di@mail.test': [451, 451, 451] } });
    const registered = await registerTenant('di@mail.test');
    await sink.until(() => mailJob(registered.json.mail_id).status === 'failed', 'the dead letter after 3 attempts');
    expect(mailJob(registered.json.mail_id)).toMatchObject({ attempts: 3, lastError: expect.stringContaining('451') });
    expect(codesOf(registered.json.tenant_id).every((code) => code.status === 'revoked')).toBe(true);
  });

  it('a control plane stopped mid-send sends a new code when it comes back; the code of the interrupted attempt is revoked', async () => {
    await sink.behave({ hangData: true });
    const registered = await registerTenant('ed@mail.test');
    await sink.until(() => sink.hung.some((to) => to.includes('ed@mail.test')), 'the hanging DATA');
    const interrupted = mailJob(registered.json.mail_id);
    expect(interrupted.status).toBe('sending');
    await running!.close();
    running = undefined;

    await sink.behave({ hangData: false });
    await start();
    await sink.until(() => sink.mailsTo('ed@mail.test').length === 1, 'the mail after the restart');
    await sink.until(() => mailJob(registered.json.mail_id).status === 'sent', 'the mail after the restart recorded as sent');
    const job = mailJob(registered.json.mail_id);
    expect(job).toMatchObject({ status: 'sent', attempts: 2 });
    const codes = running!.store.db<InstallCodeRecord, string>('license.codes');
    expect(codes.get(interrupted.codeKey!)?.status).toBe('revoked');
    const code = codeIn(sink.mailsTo('ed@mail.test')[0].text)!;
    expect((await request(`${running!.url}/register`, { json: { claim_code: code, appliance_id: 'apl_mail_test_5' } })).status).toBe(200);
  });
});
