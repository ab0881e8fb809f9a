/**
 * `alga:extension/storage@0.1.0`'s `get` and `put`, handed to the guest's core module directly
 * instead of through jco's trampolines. Handlers call these more than any other import, and jco
 * wraps every import call in component-model task bookkeeping and generic lowering helpers; this
 * does the same canonical ABI lifting and lowering for these two signatures, and nothing else:
 *
 *   get: func(key: string) -> result<option<list<u8>>, host-error>
 *        core (key-ptr, key-len, return-area) -> ()
 *   put: func(key: string, value: list<u8>) -> result<_, host-error>
 *        core (key-ptr, key-len, value-ptr, value-len, return-area) -> ()
 *
 * The return area (16 bytes, align 4, the caller's): the result's case at 0 (ok 0, err 1), its
 * payload at 4. `get`'s ok: the option's case at 4 (none 0, some 1), the list's pointer at 8 and
 * length at 12. An err: the host-error case at 4 (in wit/types.wit order), the message's pointer at
 * 8 and length at 12. Lists and strings going in are allocated with the module's `cabi_realloc`.
 */

const storageInterface = 'alga:extension/storage@0.1.0';
/** wit/types.wit `variant host-error`, in declaration order. */
const hostErrorCases = ['denied', 'not-found', 'invalid', 'limit', 'unavailable'];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

/**
 * How the runner answers a storage call (`fn` is the WIT function's name as jco spells it, `get`
 * or `put`): its value, or a thrown `{payload: {tag, val}}` for a host error.
 */
export type StorageCall = (fn: 'get' | 'put', args: unknown[]) => unknown;

export interface DirectStorageImports {
  /** The core module's imports, with `get` and `put` in place of jco's trampolines when this module can take them. */
  imports: WebAssembly.Imports | undefined;
  /** Gives them the instance's memory and allocator; call it once the module is instantiated. */
  attach(instance: WebAssembly.Instance): void;
}

/**
 * For a core module that imports the storage `get` or `put` and exports its own `memory` and
 * `cabi_realloc` (componentize-js's main module), replaces those imports; any other module's
 * imports are left as they are.
 */
export function withDirectStorageImports(module: WebAssembly.Module, coreImports: WebAssembly.Imports | undefined, call: StorageCall): DirectStorageImports {
  const members = coreImports?.[storageInterface];
  const exported = new Set(WebAssembly.Module.exports(module).map(({ name }) => name));
  const taken = (['get', 'put'] as const).filter((name) => typeof members?.[name] === 'function');
  if (taken.length === 0 || !exported.has('memory') || !exported.has('cabi_realloc')) return { imports: coreImports, attach: () => {} };

  let memory: WebAssembly.Memory | undefined;
  let realloc: Realloc | undefined;

  const liftString = (pointer: number, length: number): string => decoder.decode(new Uint8Array(memory!.buffer, pointer, length));

  const lowerBytes = (bytes: Uint8Array): number => {
    const pointer = realloc!(0, 0, 1, bytes.length);
    new Uint8Array(memory!.buffer, pointer, bytes.length).set(bytes); // after the allocation: it may have grown the memory
    return pointer;
  };

  /** Runs the call; a host error is written to the return area and gives undefined, anything else thrown traps the guest (as through jco). */
  const answer = (returnArea: number, fn: 'get' | 'put', args: unknown[]): { value: unknown } | undefined => {
    let error: { tag: unknown; val: unknown };
    try {
      return { value: call(fn, args) };
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

  const get = (keyPointer: number, keyLength: number, returnArea: number): void => {
    const answered = answer(returnArea, 'get', [liftString(keyPointer, keyLength)]);
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
    if (!answer(returnArea, 'put', [liftString(keyPointer, keyLength), value])) return;
    new DataView(memory!.buffer).setUint8(returnArea, 0);
  };

  return {
    imports: { ...coreImports, [storageInterface]: { ...members, ...Object.fromEntries(taken.map((name) => [name, name === 'get' ? get : put])) } },
    attach(instance) {
      memory = instance.exports.memory as WebAssembly.Memory;
      realloc = instance.exports.cabi_realloc as Realloc;
    },
  };
}
