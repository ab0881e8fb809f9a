import { Agent, request } from 'node:http';

export interface RunnerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export type RunnerCallError = { kind: 'unreachable' | 'timeout' | 'bad-response'; message: string };

const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });

/** POST JSON to the runner with a deadline. Rejects with a RunnerCallError; never hangs past `timeoutMs`. */
export function postToRunner(baseUrl: string, path: string, token: string, payload: unknown, timeoutMs: number): Promise<RunnerResponse> {
  const body = Buffer.from(JSON.stringify(payload));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: RunnerCallError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const req = request(`${baseUrl}${path}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => fail({ kind: 'unreachable', message: 'runner response aborted' }));
      res.on('end', () => {
        if (settled) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          fail({ kind: 'bad-response', message: `runner answered ${res.statusCode} with a body that is not JSON` });
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 502, headers: res.headers, body: parsed });
      });
    });
    const timer = setTimeout(() => {
      fail({ kind: 'timeout', message: `no runner answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail({ kind: 'unreachable', message: error.code ?? error.message }));
    req.end(body);
  });
}
