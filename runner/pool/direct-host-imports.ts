import { withImportsReplaced } from './guest-environment.ts';

/**
 * The `alga:extension` imports a handler calls most — storage `get` and `put`, `logging.log`,
 * `metrics.counter` and `metrics.histogram` — handed to the guest's core module directly instead
 * of through jco's trampolines. jco wraps every import call in component-model task bookkeeping
 * and generic lifting helpers; this does the same canonical ABI lifting and lowering for these
 * signatures (WIT package alga:extension@0.1.0), and nothing else:
 *
 *   storage.get:   (key-ptr, key-len, return-area)                            result<option<list<u8>>, host-error>
 *   storage.put:   (key-ptr, key-len, value-ptr, value-len, return-area)      result<_, host-error>
 *   logging.log:   (level, message-ptr, message-len, fields-ptr, fields-len, return-area)
 *   metrics.counter, metrics.histogram:
 *                  (name-ptr, name-len, value: f64, labels-ptr, labels-len, return-area)
 *
 * A `list<tuple<string, string>>` is 16 bytes an element (two pointer/length pairs). The return
 * area (16 bytes, align 4, the caller's): the result's case at 0 (ok 0, err 1), its payload at 4.
 * `get`'s ok: the option's case at 4 (none 0, some 1), the list's pointer at 8 and length at 12.
 * An err: the host-error case at 4 (in wit/types.wit order), the message's pointer at 8 and length
 * at 12. Lists and strings going in are allocated with the module's `cabi_realloc`.
 */

const version = '@0.1.0';
/** wit/types.wit `variant host-error`, in declaration order. */
const hostErrorCases = ['denied', 'not-found', 'invalid', 'limit', 'unavailable'];
/** wit/logging.wit `enum level`, in declaration order. */
const levels = ['debug', 'info', 'warn', 'error'];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

/**
 * How the runner answers a host call (`iface` and `fn` as jco names them: `storage`, `get`): its
 * value, or a thrown `{payload: {tag, val}}` for a host error.
 */
export type HostCall = (iface: string, fn: string, args: unknown[]) => unknown;

export interface DirectHostImports {
  /** The core module's imports, with the functions above in place of jco's trampolines when this module can take them. */
  imports: WebAssembly.Imports | undefined;
  /** Gives them the instance's memory and allocator; call it once the module is instantiated. */
  attach(instance: WebAssembly.Instance): void;
}

/**
 * For a core module that imports any of the functions above and exports its own `memory` and
 * `cabi_realloc` (componentize-js's main module), replaces those imports; any other module's
 * imports are left as they are.
 */
export function withDirectHostImports(module: WebAssembly.Module, coreImports: WebAssembly.Imports | undefined, call: HostCall): DirectHostImports {
  const exported = new Set(WebAssembly.Module.exports(module).map(({ name }) => name));
  const unchanged = { imports: coreImports, attach: () => {} };
  if (!coreImports || !exported.has('memory') || !exported.has('cabi_realloc')) return unchanged;

  let memory: WebAssembly.Memory | undefined;
  let realloc: Realloc | undefined;

  const liftString = (pointer: number, length: number): string => decoder.decode(new Uint8Array(memory!.buffer, pointer, length));

  const liftStringPairs = (pointer: number, count: number): Array<[string, string]> => {
    if (pointer % 4 !== 0) throw new TypeError(`A list at ${pointer} is not aligned to 4.`);
    const view = new DataView(memory!.buffer);
    const pairs: Array<[string, string]> = [];
    for (let index = 0; index < count; index++) {
      const at = pointer + index * 16;
      pairs.push([liftString(view.getUint32(at, true), view.getUint32(at + 4, true)), liftString(view.getUint32(at + 8, true), view.getUint32(at + 12, true))]);
    }
    return pairs;
  };

  const lowerBytes = (bytes: Uint8Array): number => {
    const pointer = realloc!(0, 0, 1, bytes.length);
    new Uint8Array(memory!.buffer, pointer, bytes.length).set(bytes); // after the allocation: it may have grown the memory
    return pointer;
  };

  /** Runs the call; a host error is written to the return area and gives undefined, anything else thrown traps the guest (as through jco). */
  const answer = (returnArea: number, iface: string, fn: string, args: unknown[]): { value: unknown } | undefined => {
    let error: { tag: unknown; val: unknown };
    try {
      return { value: call(iface, fn, args) };
    } catch (thrown) {
      if (!thrown || typeof thrown !== 'object' || !('payload' in thrown)) throw thrown;
      error = (thrown as { payload: { tag: unknown; val: unknown } }).payload;
    }
    const caseIndex = hostErrorCases.indexOf(String(error?.tag));
    if (caseIndex < 0) throw new TypeError(`Not a host-error case: ${String(error?.tag)}.`);
    const message = encoder.encode(String(error.val ?? ''));
    const pointer = lowerBytes(message);
    const view = new DataView(memory!.buffer);
    view.setUint8(returnArea, 1);
    view.setUint8(returnArea + 4, caseIndex);
    view.setUint32(returnArea + 8, pointer, true);
    view.setUint32(returnArea + 12, message.length, true);
    return undefined;
  };

  /** For the functions whose ok carries nothing: `result<_, host-error>`. */
  const unitResult = (returnArea: number, iface: string, fn: string, args: unknown[]): void => {
    if (answer(returnArea, iface, fn, args)) new DataView(memory!.buffer).setUint8(returnArea, 0);
  };

  const get = (keyPointer: number, keyLength: number, returnArea: number): void => {
    const answered = answer(returnArea, 'storage', 'get', [liftString(keyPointer, keyLength)]);
    if (!answered) return;
    const { value } = answered;
    if (value !== undefined && value !== null && !ArrayBuffer.isView(value)) throw new TypeError('A storage value must be bytes.');
    const bytes = value ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : undefined;
    const pointer = bytes ? lowerBytes(bytes) : 0;
    const view = new DataView(memory!.buffer);
    view.setUint8(returnArea, 0);
    view.setUint8(returnArea + 4, bytes ? 1 : 0);
    if (bytes) {
      view.setUint32(returnArea + 8, pointer, true);
      view.setUint32(returnArea + 12, bytes.length, true);
    }
  };

  const put = (keyPointer: number, keyLength: number, valuePointer: number, valueLength: number, returnArea: number): void => {
    // A copy of its own: the value goes to another thread, and the guest's memory changes. (A
    // view first: out of bounds traps, where slice() would quietly cut the value short.)
    const value = new Uint8Array(new Uint8Array(memory!.buffer, valuePointer, valueLength));
    unitResult(returnArea, 'storage', 'put', [liftString(keyPointer, keyLength), value]);
  };

  const log = (level: number, messagePointer: number, messageLength: number, fieldsPointer: number, fieldsCount: number, returnArea: number): void => {
    if (levels[level] === undefined) throw new TypeError(`Not a log level: ${level}.`);
    unitResult(returnArea, 'logging', 'log', [levels[level], liftString(messagePointer, messageLength), liftStringPairs(fieldsPointer, fieldsCount)]);
  };

  const metric = (fn: 'counter' | 'histogram') => (namePointer: number, nameLength: number, value: number, labelsPointer: number, labelsCount: number, returnArea: number): void =>
    unitResult(returnArea, 'metrics', fn, [liftString(namePointer, nameLength), value, liftStringPairs(labelsPointer, labelsCount)]);

  const direct: Record<string, Record<string, Function>> = {
    [`alga:extension/storage${version}`]: { get, put },
    [`alga:extension/logging${version}`]: { log },
    [`alga:extension/metrics${version}`]: { counter: metric('counter'), histogram: metric('histogram') },
  };
  const replaced = withImportsReplaced(coreImports, (moduleName) => (Object.hasOwn(direct, moduleName) ? direct[moduleName] : undefined));
  if (replaced === coreImports) return unchanged;
  return {
    imports: replaced,
    attach(instance) {
      memory = instance.exports.memory as WebAssembly.Memory;
      realloc = instance.exports.cabi_realloc as Realloc;
    },
  };
}
