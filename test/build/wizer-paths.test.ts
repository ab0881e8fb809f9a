import { describe, expect, it } from 'vitest';
import { pinWizerPaths, virtualWorkFolder } from '../../lib/build/wizer-paths.js';

describe('wizer sees fixed paths', () => {
  const call = (temp: string, scratch: string) => ({
    args: ['--allow-wasi', '--init-func', 'componentize.wizer', `--dir=${temp}/sources`, `--mapdir=/::${scratch}`, '--wasm-bulk-memory=true', `-o=${temp}/out.wasm`, `${temp}/in.wasm`],
    input: `--initializer-script-path ${temp}/sources/initializer.js --strip-path-prefix ${scratch}/ extension.js`,
  });

  it('two builds in different temp folders hand wizer the same guest paths and input', () => {
    const first = call('/tmp/3f2a9c1d0b7e', '/tmp/alga-build-Ab12Cd');
    const second = call('/var/folders/x/T/9e8d7c6b5a41', '/home/me/.tmp/alga-build-Zz99Yy');
    const a = pinWizerPaths(first.args, first.input);
    const b = pinWizerPaths(second.args, second.input);
    expect(a.input).toBe(b.input);
    expect(a.input).toBe(`--initializer-script-path ${virtualWorkFolder}/initializer.js --strip-path-prefix / extension.js`);
    expect(a.args).toContain(`--mapdir=${virtualWorkFolder}::/tmp/3f2a9c1d0b7e/sources`);
    expect(a.args).not.toContain('--dir=/tmp/3f2a9c1d0b7e/sources');
  });

  it('refuses a wizer call of another shape instead of leaking paths silently', () => {
    expect(() => pinWizerPaths(['--allow-wasi', 'in.wasm'], 'x')).toThrow(/unexpected way/);
  });
});
