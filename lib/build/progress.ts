import type { BuildStage } from './index.ts';

const stageLabels: Record<Exclude<BuildStage, 'done'>, string> = {
  bundle: 'Bundling TypeScript',
  ui: 'Building ui/',
  'cache-hit': 'Component unchanged (cache hit)',
  wait: 'Waiting for another build of the same source',
  componentize: 'Compiling the WebAssembly component (componentize-js, ~10 s)',
  write: 'Writing dist/',
};

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface BuildProgress {
  onProgress(stage: BuildStage, detail?: string): void;
  /** Ends the current stage line (call on success and on failure alike). */
  stop(): void;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Build stages with elapsed time on a terminal: the current stage animates in place and is
 * ticked off when the next one starts. Writes nothing when `stream` is not a TTY (CI logs, pipes).
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): BuildProgress {
  if (!stream.isTTY) return { onProgress() {}, stop() {} };
  let current: { label: string; started: number } | undefined;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;

  const draw = (): void => {
    if (!current) return;
    frame = (frame + 1) % spinner.length;
    stream.write(`\r\x1b[2K${spinner[frame]} ${current.label} ${seconds(Date.now() - current.started)}`);
  };
  const finishCurrent = (): void => {
    if (!current) return;
    stream.write(`\r\x1b[2K✓ ${current.label} ${seconds(Date.now() - current.started)}\n`);
    current = undefined;
  };
  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (current) stream.write('\r\x1b[2K');
    current = undefined;
  };

  return {
    onProgress(stage) {
      finishCurrent();
      if (stage === 'done') {
        stop();
        return;
      }
      current = { label: stageLabels[stage], started: Date.now() };
      draw();
      timer ??= setInterval(draw, 100);
      timer.unref();
    },
    stop,
  };
}
