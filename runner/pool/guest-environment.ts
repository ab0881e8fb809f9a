import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * The WASI a guest sees, written here rather than taken from a shim so nothing reaches the
 * host by default: no preopened directories, no environment, no sockets (not provided at all),
 * stdin empty, stdout/stderr captured, clocks and random supplied by the runner.
 * A component importing anything not listed in `providedWasiInterfaces` is refused at load.
 */

export type StdioSink = (stream: 'stdout' | 'stderr', bytes: Uint8Array) => void;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * The most a guest may make the host allocate in one WASI call (random bytes, zeroes). The
 * result is copied into the guest's own memory, so a larger request could only make the runner
 * allocate what the guest's memory cap would refuse anyway: it traps instead.
 */
export const maxHostAllocationBytes = 1048576;

function hostAllocation(length: bigint, what: string): number {
  if (length > BigInt(maxHostAllocationBytes)) throw new Error(`${what} of ${length} bytes refused: at most ${maxHostAllocationBytes} bytes per call.`);
  return Number(length);
}
const monotonicNow = (): bigint => process.hrtime.bigint();
const randomU64 = (): bigint => randomFillSync(new BigUint64Array(1))[0];

class IoError {
  constructor(private readonly message: string) {}
  toDebugString(): string {
    return this.message;
  }
}

class Pollable {
  constructor(private readonly readyAt: bigint = 0n) {}
  ready(): boolean {
    return monotonicNow() >= this.readyAt;
  }
  block(): void {
    const remaining = this.readyAt - monotonicNow();
    if (remaining > 0n) Atomics.wait(sleepCell, 0, 0, Number(remaining / 1_000_000n) + 1);
  }
  get remainingNs(): bigint {
    return this.readyAt - monotonicNow();
  }
}

function poll(pollables: Pollable[]): Uint32Array {
  for (;;) {
    const ready = pollables.flatMap((pollable, index) => (pollable.ready() ? [index] : []));
    if (ready.length > 0) return Uint32Array.from(ready);
    const soonest = pollables.reduce((least, pollable) => (pollable.remainingNs < least.remainingNs ? pollable : least));
    soonest.block();
  }
}

const closed = { payload: { tag: 'closed' } };

class InputStream {
  read(): Uint8Array {
    throw closed;
  }
  blockingRead(): Uint8Array {
    throw closed;
  }
  skip(): bigint {
    throw closed;
  }
  blockingSkip(): bigint {
    throw closed;
  }
  subscribe(): Pollable {
    return new Pollable();
  }
}

class OutputStream {
  constructor(private readonly accept: (bytes: Uint8Array) => void) {}
  checkWrite(): bigint {
    return 1_048_576n;
  }
  write(contents: Uint8Array): void {
    this.accept(contents);
  }
  blockingWriteAndFlush(contents: Uint8Array): void {
    this.accept(contents);
  }
  flush(): void {}
  blockingFlush(): void {}
  writeZeroes(length: bigint): void {
    this.accept(new Uint8Array(hostAllocation(length, 'write-zeroes')));
  }
  blockingWriteZeroesAndFlush(length: bigint): void {
    this.accept(new Uint8Array(hostAllocation(length, 'write-zeroes')));
  }
  subscribe(): Pollable {
    return new Pollable();
  }
}

/** No descriptor is ever handed out (there are no preopens); every method refuses anyway. */
class Descriptor {
  constructor() {
    throw { payload: 'access' };
  }
}
const refuse = (): never => {
  throw { payload: 'access' };
};
for (const method of ['readViaStream', 'writeViaStream', 'appendViaStream', 'advise', 'syncData', 'getFlags', 'getType', 'setSize', 'setTimes', 'read', 'write', 'readDirectory', 'sync', 'createDirectoryAt', 'stat', 'statAt', 'setTimesAt', 'linkAt', 'openAt', 'readlinkAt', 'removeDirectoryAt', 'renameAt', 'symlinkAt', 'unlinkFileAt', 'isSameObject', 'metadataHash', 'metadataHashAt']) {
  Object.defineProperty(Descriptor.prototype, method, { value: refuse });
}
class DirectoryEntryStream {
  readDirectoryEntry(): undefined {
    return undefined;
  }
}

class TerminalInput {}
class TerminalOutput {}

class GuestExit {
  constructor(readonly code: number) {}
}

/** Import object entries for every WASI interface the runner provides, keyed without version. */
export function guestWasiImports(sink: StdioSink): Record<string, Record<string, unknown>> {
  const stdin = new InputStream();
  const stdout = new OutputStream((bytes) => sink('stdout', bytes));
  const stderr = new OutputStream((bytes) => sink('stderr', bytes));
  return {
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:cli/stdin': { getStdin: () => stdin },
    'wasi:cli/stdout': { getStdout: () => stdout },
    'wasi:cli/stderr': { getStderr: () => stderr },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit: (status: { tag: string }) => {
        throw new GuestExit(status?.tag === 'ok' ? 0 : 1);
      },
    },
    'wasi:clocks/monotonic-clock': {
      now: monotonicNow,
      resolution: () => 1n,
      subscribeInstant: (when: bigint) => new Pollable(when),
      subscribeDuration: (duration: bigint) => new Pollable(monotonicNow() + duration),
    },
    'wasi:clocks/wall-clock': {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:random/random': {
      getRandomBytes: (length: bigint) => new Uint8Array(randomBytes(hostAllocation(length, 'get-random-bytes'))),
      getRandomU64: randomU64,
    },
    'wasi:random/insecure': {
      getInsecureRandomBytes: (length: bigint) => new Uint8Array(randomBytes(hostAllocation(length, 'get-insecure-random-bytes'))),
      getInsecureRandomU64: randomU64,
    },
    'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
  };
}

/**
 * WASI 0.2 functions whose canonical ABI lowering is the identity (no parameters, one u64
 * result), by core import module and function name. They are handed to the core module as they
 * are: jco's glue wraps every import in component-model task bookkeeping (2–3 µs a call), and a
 * componentize-js guest reads the monotonic clock 7 times in every call it answers.
 */
const directWasiFunctions: ReadonlyArray<[RegExp, Record<string, () => bigint>]> = [
  [/^wasi:clocks\/monotonic-clock@0\.2\.\d+$/, { now: monotonicNow, resolution: () => 1n }],
  [/^wasi:random\/random@0\.2\.\d+$/, { 'get-random-u64': randomU64 }],
  [/^wasi:random\/insecure@0\.2\.\d+$/, { 'get-insecure-random-u64': randomU64 }],
];

/**
 * A core module's import object with functions put in place of jco's trampolines: for each
 * import module, `replacementsFor` names the functions to take (only those the module imports
 * are). The same object when nothing is replaced.
 */
export function withImportsReplaced(coreImports: WebAssembly.Imports | undefined, replacementsFor: (moduleName: string) => Record<string, Function> | undefined): WebAssembly.Imports | undefined {
  if (!coreImports) return coreImports;
  let replaced: WebAssembly.Imports | undefined;
  for (const [moduleName, members] of Object.entries(coreImports)) {
    const replacements = replacementsFor(moduleName);
    const taken = Object.entries(replacements ?? {}).filter(([name]) => typeof members[name] === 'function');
    if (taken.length === 0) continue;
    replaced ??= { ...coreImports };
    replaced[moduleName] = { ...members, ...Object.fromEntries(taken) };
  }
  return replaced ?? coreImports;
}

/** A core module's import object with the functions above put in place of jco's trampolines. */
export function withDirectWasiFunctions(coreImports: WebAssembly.Imports | undefined): WebAssembly.Imports | undefined {
  return withImportsReplaced(coreImports, (moduleName) => directWasiFunctions.find(([pattern]) => pattern.test(moduleName))?.[1]);
}

/** The WASI interfaces above; sockets, http and anything else are deliberately absent. */
export const providedWasiInterfaces: readonly string[] = Object.keys(guestWasiImports(() => {}));

/** Imports of a component the runner cannot satisfy (anything but alga:extension/* and the WASI above). */
export function unsupportedImports(imports: readonly string[]): string[] {
  return imports.filter((name) => !name.startsWith('alga:extension/') && !providedWasiInterfaces.includes(name.replace(/@[^/@]+$/, '')));
}
