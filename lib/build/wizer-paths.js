// Plain JavaScript: loaded by componentize-process.js, which runs without the TypeScript loader.

/** Where wizer sees componentize-js's work folder (the generated initializer script). */
export const virtualWorkFolder = '/alga-build/componentize';

/**
 * componentize-js 0.23 calls wizer with `--dir=<its random temp folder>/sources` (preopened at the
 * same path) and `--mapdir=/::<the folder of our source>`, and gives it on stdin
 * `--initializer-script-path <temp>/sources/initializer.js --strip-path-prefix <source folder>/ extension.js`.
 * The engine keeps these strings in the snapshot, and their lengths move everything allocated
 * after them. Returns the same call with the temp folder mapped at `virtualWorkFolder` and the
 * source folder (already mapped at `/`) named `/`. Throws when the call has another shape, so a
 * componentize-js upgrade that changes it fails the build instead of silently leaking paths.
 * @param {readonly string[]} args
 * @param {string} input
 * @returns {{ args: string[], input: string }}
 */
export function pinWizerPaths(args, input) {
  const hostToVirtual = new Map();
  const pinnedArgs = args.map((arg) => {
    if (arg.startsWith('--dir=')) {
      const hostFolder = arg.slice('--dir='.length);
      hostToVirtual.set(hostFolder, virtualWorkFolder);
      return `--mapdir=${virtualWorkFolder}::${hostFolder}`;
    }
    if (arg.startsWith('--mapdir=/::')) hostToVirtual.set(arg.slice('--mapdir=/::'.length), '');
    return arg;
  });
  if (hostToVirtual.size !== 2) throw new Error(`componentize-js called wizer in an unexpected way (${args.join(' ')}); lib/build/wizer-paths.js needs updating.`);
  let pinnedInput = input;
  // Longest first: one folder may contain the other.
  for (const [host, virtual] of [...hostToVirtual].sort((a, b) => b[0].length - a[0].length)) {
    pinnedInput = pinnedInput.split(`${host}/`).join(`${virtual}/`);
  }
  for (const host of hostToVirtual.keys()) {
    if (pinnedInput.includes(host)) throw new Error(`wizer input still names ${host} after pinning; lib/build/wizer-paths.js needs updating.`);
  }
  return { args: pinnedArgs, input: pinnedInput };
}
