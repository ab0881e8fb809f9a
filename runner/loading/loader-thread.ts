import { Worker } from 'node:worker_threads';
import { AlgaError, type ErrorCode } from '../../lib/errors/index.ts';
import type { ComponentLoader, TranspiledSummary } from './loader-ops.ts';
import type { LoaderRequest } from './loader-worker.ts';

type Pending = { resolve(value: unknown): void; reject(error: Error): void };
type Answer = { id: number; value?: unknown; error?: { code?: ErrorCode; detail?: string; message: string } };
type Request = LoaderRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * The runner's loader thread (loader-worker.ts), started with the runner: transpiling a component
 * takes seconds of CPU and rewriting and compiling its 12 MB core module a few hundred
 * milliseconds, which on the main thread would hold up every tenant's calls meanwhile (a
 * publish makes the host ask for exactly that). A thread that dies fails what it had in hand;
 * the next request starts another.
 */
export class LoaderThread implements ComponentLoader {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  transpile(component: Uint8Array, cacheDir: string): Promise<TranspiledSummary> {
    return this.call({ op: 'transpile', component, cacheDir }) as Promise<TranspiledSummary>;
  }

  compile(folder: string, names: string[], memoryBytes: number): Promise<Record<string, WebAssembly.Module>> {
    return this.call({ op: 'compile', folder, names, memoryBytes }) as Promise<Record<string, WebAssembly.Module>>;
  }

  /** Starts the thread now (it takes a moment to load), so the first preparation does not wait for it. */
  start(): void {
    this.thread();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private call(request: Request): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread().postMessage({ ...request, id });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    // tsx inside the thread: it loads TypeScript modules and jco-transpile from node_modules (resolved here, not in the thread).
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./loader-worker.ts', import.meta.url).href)}); });`;
    const worker = new Worker(bootstrap, { eval: true, env: {}, stdout: false, stderr: false });
    worker.unref();
    worker.on('message', (answer: Answer) => {
      const pending = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (!pending) return;
      if (!answer.error) return pending.resolve(answer.value);
      const { code, detail, message } = answer.error;
      pending.reject(code ? new AlgaError(code, detail) : new Error(message));
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, pending] of this.pending) {
        this.pending.delete(id);
        pending.reject(new Error(reason));
      }
    };
    worker.on('error', (error) => fail(`The loader thread failed: ${error.message}`));
    worker.on('exit', () => fail('The loader thread exited.'));
    this.worker = worker;
    return worker;
  }
}
