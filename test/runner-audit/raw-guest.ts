// Builds tiny hand-written components (WAT → core module → component, milliseconds, no
// componentize) that do what a JS guest cannot: call WASI and host imports with arbitrary
// arguments and return arbitrary responses. Used to probe the runner like an attacker would.
import { componentEmbed, componentNew, parse } from '@bytecodealliance/jco-transpile/wasm-tools';
import { contentHashOf, packBundle, storeBundle, storeSignatureFile } from '../../lib/bundle/index.ts';
import type { SigningKey } from '../../lib/signing/index.ts';
import { signatureFor } from '../runner/support.ts';

const wit = `
package audit:raw;

world guest {
  import wasi:random/random@0.2.3;
  import alga:extension/logging@0.1.0;
  export alga:extension/handler@0.1.0;
}

package wasi:random@0.2.3 {
  interface random {
    get-random-bytes: func(len: u64) -> list<u8>;
    get-random-u64: func() -> u64;
  }
}

package alga:extension@0.1.0 {
  interface types {
    record request-context { tenant-id: string, extension-id: string, install-id: string, request-id: string, version: string, content-hash: string, config: list<tuple<string, string>> }
    record http-request { method: string, path: string, query: string, headers: list<tuple<string, string>>, body: list<u8> }
    record http-response { status: u16, headers: list<tuple<string, string>>, body: list<u8> }
    variant host-error { denied(string), not-found(string), invalid(string), limit(string), unavailable(string) }
  }
  interface logging {
    use types.{host-error};
    enum level { debug, info, warn, error }
    log: func(level: level, message: string, fields: list<tuple<string, string>>) -> result<_, host-error>;
  }
  interface handler {
    use types.{request-context, http-request, http-response};
    handle: func(context: request-context, request: http-request) -> http-response;
  }
}
`;

export interface RawGuestBehaviour {
  /** Calls alga:extension/logging.log this many times before answering. */
  logCalls?: number;
  /** Calls wasi:random get-random-bytes with this length before answering. */
  randomBytes?: number;
  /** Answers with one `x-big` header whose value is this many NUL characters. */
  headerValueBytes?: number;
  /** Answers with a one-digit body counting its calls in a mutable wasm global (not in linear memory). */
  globalCounter?: boolean;
}

function wat(behaviour: RawGuestBehaviour): string {
  const headerValueBytes = behaviour.headerValueBytes ?? 0;
  return `(module
  (import "wasi:random/random@0.2.3" "get-random-bytes" (func $random (param i64 i32)))
  (import "alga:extension/logging@0.1.0" "log" (func $log (param i32 i32 i32 i32 i32 i32)))
  (memory (export "memory") 64)
  (global $heap (mut i32) (i32.const 0x300000))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 16) "x-big")
  (data (i32.const 32) "audit message")
  (data (i32.const 256) "ok")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 15)) (i32.const -16)))
    (local.set $end (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))) (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
  (func (export "alga:extension/handler@0.1.0#handle") (param i32) (result i32)
    (local $i i32)
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (i32.const ${behaviour.logCalls ?? 0})))
        (call $log (i32.const 1) (i32.const 32) (i32.const 13) (i32.const 0) (i32.const 0) (i32.const 512))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    ${behaviour.randomBytes ? `(call $random (i64.const ${behaviour.randomBytes}) (i32.const 512))` : ''}
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ${behaviour.globalCounter ? '(i32.store8 (i32.const 256) (i32.add (i32.const 48) (global.get $calls)))' : ''}
    ;; header tuple at 128: name (16, 5), value (0x80000, n) — zero bytes are valid UTF-8
    (i32.store (i32.const 128) (i32.const 16))
    (i32.store (i32.const 132) (i32.const 5))
    (i32.store (i32.const 136) (i32.const 0x80000))
    (i32.store (i32.const 140) (i32.const ${headerValueBytes}))
    ;; http-response at 64: status, headers (ptr, len), body (ptr, len)
    (i32.store16 (i32.const 64) (i32.const 200))
    (i32.store (i32.const 68) (i32.const 128))
    (i32.store (i32.const 72) (i32.const ${headerValueBytes > 0 ? 1 : 0}))
    (i32.store (i32.const 76) (i32.const 256))
    (i32.store (i32.const 80) (i32.const ${behaviour.globalCounter ? 1 : 2}))
    (i32.const 64))
)`;
}

export async function buildRawGuest(behaviour: RawGuestBehaviour): Promise<Uint8Array> {
  if ((behaviour.headerValueBytes ?? 0) > 0x300000 - 0x80000) throw new Error('headerValueBytes must fit below the heap');
  const core = await parse(wat(behaviour));
  const embedded = await componentEmbed({ binary: core, witSource: wit, world: 'audit:raw/guest' });
  return componentNew(embedded);
}

/** Packs, signs (publisher `test`) and stores a raw guest; returns its content hash. */
export async function publishRawGuest(bundleDir: string, key: SigningKey, behaviour: RawGuestBehaviour): Promise<string> {
  const component = await buildRawGuest(behaviour);
  const manifest = {
    name: 'test.audit.raw',
    publisher: 'test',
    version: '1.0.0',
    runtime: 'wasm-js@1',
    capabilities: ['alga.log'],
    api: { endpoints: [{ method: 'GET', path: '/x' }] },
  };
  const bytes = packBundle({ manifest, component });
  const hash = contentHashOf(bytes);
  storeBundle(bundleDir, bytes, hash);
  storeSignatureFile(bundleDir, hash, signatureFor(hash, key));
  return hash;
}
