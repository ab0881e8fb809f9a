import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleDir } from '../support/projects.ts';

/** A real built example: its manifest and component (built once by the global setup). */
export function example(name: 'hello' | 'kv-counter' | 'egress'): { manifest: Record<string, unknown>; component: Uint8Array; dir: string } {
  const dir = exampleDir(name);
  return {
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')),
    component: readFileSync(join(dir, 'dist', 'component.wasm')),
  };
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
