// Plain JavaScript: loaded by componentize-process.js, which runs without the TypeScript loader.
import binaryen from 'binaryen';

/**
 * StarlingMonkey reads WASI random bytes (hash seeds, the Math.random state) and clocks while
 * wizer pre-initialises it, and wizer keeps what it read in the snapshot: ~1,000 bytes that
 * differed on every build. Wizer (10) has no flag to pin them, so the engine module handed to it
 * is changed instead: while the init function runs, `random_get` returns a fixed sequence and
 * `clock_time_get` a clock that starts at 0 and moves 1 ms per read; once it returns (and so in
 * the snapshot and at run time) both call the real imports again. The pinned values end up in
 * the published bundle, where they were readable before too.
 * @param {Uint8Array} engine the core module componentize-js gives wizer
 * @param {string} initFunction the export wizer runs
 * @returns {Uint8Array}
 */
export function pinInitEntropy(engine, initFunction) {
  const module = binaryen.readBinary(engine);
  try {
    const { i32, i64 } = binaryen;
    // Pinned from the start: wizer runs `_initialize` (C++ static constructors) before the init function.
    module.addGlobal('alga_pinned', i32, true, module.i32.const(1));
    module.addGlobal('alga_random_state', i64, true, module.i64.const(0x4f6cdd1d2545f491n));
    module.addGlobal('alga_clock', i64, true, module.i64.const(0n));

    replaceImport(module, 'random_get', (real) => {
      // (buf: i32, len: i32) -> errno; local 2 counts bytes written.
      const nextState = module.global.set('alga_random_state', module.i64.add(module.i64.mul(module.global.get('alga_random_state', i64), module.i64.const(0x5851f42d4c957f2dn)), module.i64.const(0x14057b7ef767814fn)));
      const fill = module.block('done', [
        module.loop('next', module.block(null, [
          module.br('done', module.i32.ge_u(module.local.get(2, i32), module.local.get(1, i32))),
          nextState,
          module.i32.store8(0, 1, module.i32.add(module.local.get(0, i32), module.local.get(2, i32)), module.i32.wrap(module.i64.shr_u(module.global.get('alga_random_state', i64), module.i64.const(56n)))),
          module.local.set(2, module.i32.add(module.local.get(2, i32), module.i32.const(1))),
          module.br('next'),
        ])),
      ]);
      return {
        vars: [i32],
        body: module.if(module.global.get('alga_pinned', i32), module.block(null, [fill, module.i32.const(0)], i32), real([module.local.get(0, i32), module.local.get(1, i32)])),
      };
    });
    replaceImport(module, 'clock_time_get', (real) => {
      // (id: i32, precision: i64, out: i32) -> errno
      const tick = module.global.set('alga_clock', module.i64.add(module.global.get('alga_clock', i64), module.i64.const(1_000_000n)));
      return {
        vars: [],
        body: module.if(
          module.global.get('alga_pinned', i32),
          module.block(null, [tick, module.i64.store(0, 8, module.local.get(2, i32), module.global.get('alga_clock', i64)), module.i32.const(0)], i32),
          real([module.local.get(0, i32), module.local.get(1, i64), module.local.get(2, i32)]),
        ),
      };
    });

    const exported = binaryen.getExportInfo(module.getExport(initFunction)).value;
    module.removeExport(initFunction);
    module.addFunction('alga_pinned_init', binaryen.none, binaryen.none, [], module.block(null, [
      module.call(exported, [], binaryen.none),
      module.global.set('alga_pinned', module.i32.const(0)),
    ]));
    module.addFunctionExport('alga_pinned_init', initFunction);
    return module.emitBinary();
  } finally {
    module.dispose();
  }
}

/** Turns the `wasi_snapshot_preview1.<name>` import into a function of the same name that may call it. */
function replaceImport(module, name, define) {
  for (let index = 0; index < module.getNumFunctions(); index++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(index));
    if (info.module !== 'wasi_snapshot_preview1' || info.base !== name) continue;
    const realName = `alga_real_${name}`;
    module.addFunctionImport(realName, info.module, info.base, info.params, info.results);
    module.removeFunction(info.name);
    const { vars, body } = define((operands) => module.call(realName, operands, info.results));
    module.addFunction(info.name, info.params, info.results, vars, body);
    return;
  }
  throw new Error(`the engine module does not import wasi_snapshot_preview1.${name}; lib/build/pin-init-entropy.js needs updating.`);
}
