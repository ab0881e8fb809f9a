import { describe, expect, it } from 'vitest';
import { terminalProgress } from '../../lib/build/progress.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (chunk: string) => chunks.push(chunk) > 0 } as unknown as NodeJS.WriteStream };
}

describe('build progress', () => {
  it('on a terminal, ticks off each stage with its elapsed time', () => {
    const { chunks, stream } = fakeStream(true);
    const progress = terminalProgress(stream);
    progress.onProgress('bundle');
    progress.onProgress('componentize');
    progress.onProgress('write');
    progress.onProgress('done');
    const finished = chunks.join('').split('\n').map((line) => line.replace(/^[\s\S]*\r\x1b\[2K/, '')).filter((line) => line.startsWith('✓'));
    expect(finished).toEqual([
      expect.stringMatching(/^✓ Bundling TypeScript \d+\.\d s$/),
      expect.stringMatching(/^✓ Compiling the WebAssembly component .* \d+\.\d s$/),
      expect.stringMatching(/^✓ Writing dist\/ \d+\.\d s$/),
    ]);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { chunks, stream } = fakeStream(false);
    const progress = terminalProgress(stream);
    progress.onProgress('bundle');
    progress.onProgress('done');
    progress.stop();
    expect(chunks).toEqual([]);
  });
});
