import type { FastifyRequest } from 'fastify';
import { AlgaError } from '../../../../lib/errors/index.ts';

/**
 * A fastify content-type parser for publish bodies that never holds the event loop for long: each
 * chunk is copied into one buffer of the declared length as it arrives (no 64 MB concatenation at
 * the end, and half the memory), and that buffer owns its memory, so it moves to the verification
 * thread without a copy. More than `limit` bytes is E_REGISTRY_BUNDLE_TOO_LARGE as soon as they arrive.
 */
export function uploadBodyParser(limit: number) {
  return (request: FastifyRequest, payload: NodeJS.ReadableStream, done: (error: Error | null, body?: Buffer) => void): void => {
    const declared = Number(request.headers['content-length']);
    const into = Number.isInteger(declared) && declared >= 0 && declared <= limit ? Buffer.allocUnsafeSlow(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let finished = false;
    const finish = (error: Error | null, body?: Buffer) => {
      if (finished) return;
      finished = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      done(error, body);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit) {
        finish(new AlgaError('E_REGISTRY_BUNDLE_TOO_LARGE', `More than ${limit} bytes arrived.`));
        return;
      }
      if (into && received + chunk.length <= into.length) chunk.copy(into, received);
      else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = () => {
      if (into && received === into.length && chunks.length === 0) return finish(null, into);
      // No (or a wrong) declared length: put the pieces together once.
      finish(null, Buffer.concat(into ? [into.subarray(0, Math.min(received, into.length)), ...chunks] : chunks));
    };
    const onError = (error: Error) => finish(error);
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  };
}
