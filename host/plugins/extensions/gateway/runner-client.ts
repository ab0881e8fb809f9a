import { Agent, request } from 'node:http';
import { isAlgaError } from '../../../../lib/errors/index.ts';
import { decodeExecuteFrame, encodeExecuteFrame, executeFrameType } from '../../../../lib/execute-frame.ts';

export interface RunnerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON answer, or a frame answer's envelope. */
  body: unknown;
  /** A frame answer's raw body (absent when the runner answered JSON). */
  rawBody?: Buffer;
}

export type RunnerCallError = { kind: 'unreachable' | 'timeout' | 'bad-response'; message: string };

const singleWriteBelow = 64 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });

/**
 * POST to the runner with a deadline: `payload` as JSON, or — given `rawBody` — as an execute frame
 * (lib/execute-frame.ts) whose body is `rawBody`. The answer is read by its content-type (frame or
 * JSON). Rejects with a RunnerCallError; never hangs past `timeoutMs`.
 */
export function postToRunner(baseUrl: string, path: string, token: string, payload: unknown, timeoutMs: number, rawBody?: Uint8Array): Promise<RunnerResponse> {
  const chunks = rawBody ? encodeExecuteFrame(payload, rawBody) : [Buffer.from(JSON.stringify(payload))];
  const contentLength = chunks.reduce((total, chunk) => total + chunk.length, 0);
  const headers = rawBody
    ? { 'content-type': executeFrameType, accept: `${executeFrameType}, application/json`, 'content-length': contentLength, authorization: `Bearer ${token}` }
    : { 'content-type': 'application/json', 'content-length': contentLength, authorization: `Bearer ${token}` };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: RunnerCallError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const req = request(`${baseUrl}${path}`, { method: 'POST', agent, headers }, (res) => {
      const received: Buffer[] = [];
      res.on('data', (chunk: Buffer) => received.push(chunk));
      res.on('error', () => fail({ kind: 'unreachable', message: 'runner response aborted' }));
      res.on('end', () => {
        if (settled) return;
        const status = res.statusCode ?? 502;
        const answer = readAnswer(status, res.headers['content-type'], Buffer.concat(received));
        if ('kind' in answer) {
          fail(answer);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers: res.headers, ...answer });
      });
    });
    const timer = setTimeout(() => {
      fail({ kind: 'timeout', message: `no runner answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail({ kind: 'unreachable', message: error.code ?? error.message }));
    // One write for small frames (one packet, one wake-up at the runner); large bodies are not copied.
    if (chunks.length === 2 && contentLength > singleWriteBelow) req.write(chunks[0]);
    req.end(chunks.length === 2 && contentLength <= singleWriteBelow ? Buffer.concat(chunks, contentLength) : chunks.at(-1));
  });
}

function readAnswer(status: number, contentType: string | undefined, bytes: Buffer): Pick<RunnerResponse, 'body' | 'rawBody'> | RunnerCallError {
  if (contentType?.split(';')[0].trim().toLowerCase() === executeFrameType) {
    try {
      const { envelope, body } = decodeExecuteFrame(bytes);
      return { body: envelope, rawBody: body };
    } catch (error) {
      // The detail up to its first colon: which check failed, never a snippet of the envelope.
      return { kind: 'bad-response', message: `runner answered ${status} with a frame that does not decode${isAlgaError(error) && error.detail ? `: ${error.detail.split(':')[0]}` : ''}` };
    }
  }
  try {
    return { body: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { kind: 'bad-response', message: `runner answered ${status} with a body that is not JSON` };
  }
}
