import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { SIGNATURE_HEADER } from './upload.ts';

export interface PublishAnswer {
  status: number;
  body: { created?: boolean; extensionId?: string; version?: string; contentHash?: string; size?: number; error?: { code: string; message: string }; request_id?: string };
}

/**
 * Uploads a bundle and its signature file to `POST {registry}/api/registry/bundles` as raw bytes,
 * calling `onProgress(sentBytes, totalBytes)` as the body goes out.
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
    const req = request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/octet-stream',
        'content-length': body.length,
        [SIGNATURE_HEADER]: signature,
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (data: Buffer) => chunks.push(data));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, body: { error: { code: 'E_REGISTRY_UPLOAD_INVALID', message: `The registry answered ${res.statusCode} with: ${text.slice(0, 200)}` } } });
        }
      });
      res.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(url, error)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => reject(unreachable(url, error)));
    let sent = 0;
    const writeNext = () => {
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
    writeNext();
  });
}

function unreachable(url: URL, error: NodeJS.ErrnoException): AlgaError {
  return new AlgaError('E_REGISTRY_UNREACHABLE', `${url.origin}: ${error.code ?? error.message}.`, { cause: error });
}
