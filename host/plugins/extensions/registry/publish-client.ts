import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { SIGNATURE_HEADER } from './upload.ts';

export interface PublishAnswer {
  status: number;
  body: { created?: boolean; extensionId?: string; version?: string; contentHash?: string; size?: number; error?: { code: string; message: string }; request_id?: string };
}

/** How long the upload waits for `100 Continue` before it sends the body anyway (a proxy may not pass it on). */
const continueWaitMs = 1000;

/**
 * Uploads a bundle and its signature file to `POST {registry}/api/registry/bundles` as raw bytes,
 * calling `onProgress(sentBytes, totalBytes)` as the body goes out. It sends `Expect: 100-continue`,
 * so a registry that refuses the upload on its headers (credentials, size) answers before any of
 * the body is sent; an answer that comes while the body is still going out ends the upload.
 */
export function uploadBundle(options: {
  registryUrl: string;
  token: string;
  bytes: Uint8Array;
  signatureFile: unknown;
  onProgress?: (sent: number, total: number) => void;
  chunkBytes?: number;
}): Promise<PublishAnswer> {
  const url = new URL('/api/registry/bundles', options.registryUrl.endsWith('/') ? options.registryUrl : `${options.registryUrl}/`);
  const body = Buffer.from(options.bytes.buffer, options.bytes.byteOffset, options.bytes.byteLength);
  const signature = Buffer.from(JSON.stringify(options.signatureFile)).toString('base64');
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const chunk = options.chunkBytes ?? 256 * 1024;
  return new Promise((resolve, reject) => {
    let answered = false;
    let sent = 0;
    let started = false;
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        [SIGNATURE_HEADER]: signature,
        expect: '100-continue',
      },
    }, (res) => {
      answered = true;
      clearTimeout(continueTimer);
      const chunks: Buffer[] = [];
      res.on('data', (data: Buffer) => chunks.push(data));
      res.on('end', () => {
        if (sent < body.length) req.destroy(); // answered before the whole body went out: stop sending it
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { error: { code: 'E_REGISTRY_UPLOAD_INVALID', message: `The registry answered ${res.statusCode} with: ${text.slice(0, 200)}` } } });
        }
      });
      res.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(url, error)));
    });
    // Once the registry has answered, a broken pipe on the rest of the body is its way of saying stop.
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(continueTimer);
      if (!answered) reject(unreachable(url, error));
    });
    const start = () => {
      if (started || answered) return;
      started = true;
      clearTimeout(continueTimer);
      writeNext();
    };
    const continueTimer = setTimeout(start, continueWaitMs);
    req.on('continue', start);
    const writeNext = () => {
      if (answered) return;
      while (sent < body.length) {
        const end = Math.min(sent + chunk, body.length);
        const more = req.write(body.subarray(sent, end));
        sent = end;
        options.onProgress?.(sent, body.length);
        if (!more) {
          req.once('drain', writeNext);
          return;
        }
      }
      req.end();
    };
  });
}

function unreachable(url: URL, error: NodeJS.ErrnoException): AlgaError {
  return new AlgaError('E_REGISTRY_UNREACHABLE', `${url.origin}: ${error.code ?? error.message}.`, { cause: error });
}
