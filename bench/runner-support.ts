// Shared helpers for bench/runner-*.ts: child servers and autocannon runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export interface ChildServer {
  info: { url: string; token?: string; hashes?: Record<string, string>; dataDir?: string };
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startChild(args: string[], nodeArgs: string[] = []): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/runner-bench-server.ts', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    info: JSON.parse(line),
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function executeBody(hash: string, path: string, options: { method?: string; body?: Uint8Array; isolation?: string; tenant?: string; limits?: Record<string, number>; providers?: string[]; query?: string } = {}): string {
  return JSON.stringify({
    context: { tenant_id: options.tenant ?? 'bench-tenant', extension_id: 'bench', install_id: 'bench-install', version: '1.0.0', content_hash: hash },
    http: { method: options.method ?? 'GET', path, query: options.query ?? '', headers: {}, body_b64: options.body ? Buffer.from(options.body).toString('base64') : '' },
    limits: options.limits ?? {},
    config: {},
    providers: options.providers ?? [],
    egress: [],
    isolation: options.isolation ?? 'tenant',
  });
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time of the server process (all its threads) per request, when its pid was given (Linux). */
  cpuMicrosPerRequest?: number;
}

/** User + system CPU time of a process, all threads, in microseconds (undefined off Linux). */
function cpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

export async function load(options: { url: string; method?: 'GET' | 'POST'; body?: string | Buffer; headers?: Record<string, string>; connections?: number; duration?: number; pid?: number }): Promise<LoadResult> {
  const cpuBefore = options.pid === undefined ? undefined : cpuMicros(options.pid);
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    body: options.body,
    headers: options.headers,
    connections: options.connections ?? 8,
    duration: options.duration ?? Number(process.env.BENCH_SECONDS ?? 5),
  });
  const cpuAfter = options.pid === undefined ? undefined : cpuMicros(options.pid);
  const cpuMicrosPerRequest = cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0 ? (cpuAfter - cpuBefore) / result.requests.total : undefined;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx, cpuMicrosPerRequest };
}

export async function post(url: string, token: string, body: string): Promise<{ status: number; json: any; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const json = await response.json();
  return { status: response.status, json, ms: performance.now() - started };
}

export const fmt = (value: number, digits = 1) => value.toFixed(digits);
