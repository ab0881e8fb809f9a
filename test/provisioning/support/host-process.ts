import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../host/core/secrets/placeholders.ts';

/**
 * `alga-host start` as a real child process on 127.0.0.1 (port 0), with its whole stdout and
 * stderr captured so tests can check what the operator sees and what the logs contain.
 */

export interface HostProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A runner address nothing listens on: these tests need no runner, so none is started. */
export const NO_RUNNER = 'http://127.0.0.1:9';

export async function startHostProcess(options: { dataDir: string; profile: string; env?: Record<string, string>; embeddedRunner?: boolean; port?: number; umask?: string }): Promise<HostProcess> {
  const env: Record<string, string | undefined> = { ...process.env, ALGA_LOG_LEVEL: 'info', ALGA_ACCESS_LOG: '1', ...options.env };
  if (!options.embeddedRunner) env.RUNNER_BASE_URL = NO_RUNNER;
  const command = [process.execPath, join(projectRoot, 'bin/alga-host.js'), 'start', '--data', options.dataDir, '--port', String(options.port ?? 0), '--host', '127.0.0.1', '--profile', options.profile];
  // With `umask`, started the way a shell with that umask would start it.
  const [file, ...args] = options.umask ? ['/bin/sh', '-c', `umask ${options.umask} && exec "$@"`, 'sh', ...command] : command;
  const child = spawn(file, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start in time:\n${output}`)), 60_000);
    const check = () => {
      const match = /alga-host listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code}:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    dataDir: options.dataDir,
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

/** JSON over fetch, with the status and headers. */
export async function request(url: string, init: { method?: string; json?: unknown; headers?: Record<string, string>; form?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  let body: string | undefined;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const response = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Signs in and returns the session cookie header. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<string | undefined> {
  const response = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (response.status !== 200) return undefined;
  return response.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
}

/**
 * The install code of the newest waiting outbox mail to `to`, as an operator of an air-gapped
 * control plane gets it: released once (the code is minted then; the outbox never holds one).
 */
export async function installCodeFromOutbox(controlPlaneUrl: string, serviceToken: string, to: string): Promise<string> {
  const headers = { authorization: `Bearer ${serviceToken}` };
  const outbox = await request(`${controlPlaneUrl}/outbox?status=outbox&to=${encodeURIComponent(to)}`, { headers });
  const id = outbox.json?.messages?.[0]?.id;
  if (!id) throw new Error(`no mail waiting in the outbox: ${outbox.text}`);
  const released = await request(`${controlPlaneUrl}/outbox/${id}/release`, { method: 'POST', headers });
  const code = /ALGA(?:-[0-9A-Z]{1,5}){7}/.exec(released.json?.message?.text ?? '')?.[0];
  if (!code) throw new Error(`no install code in the released mail: ${released.text}`);
  return code;
}
