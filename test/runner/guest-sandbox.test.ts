import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestWasiImports, unsupportedImports, withDirectWasiFunctions } from '../../runner/pool/guest-environment.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type RunnerFixture } from './support.ts';

describe('runner: the guest sandbox', () => {
  let fixture: RunnerFixture;
  let hash: string;

  beforeAll(async () => {
    fixture = await startFixture();
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('gives a guest no way to read a host file or open a socket', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'alga-sandbox-'));
    const secretFile = join(folder, 'host-secret.txt');
    writeFileSync(secretFile, 'HOST-FILE-MARKER-5f2c');
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.end('SOCKET-MARKER');
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    try {
      const query = `path=${encodeURIComponent(secretFile)}&url=${encodeURIComponent(`http://127.0.0.1:${port}/`)}`;
      for (const attempt of ['fetchFile', 'fetchSocket', 'process', 'require', 'deno', 'wasi']) {
        const { status, json } = await fixture.execute(executeBody({ hash, path: '/escape', query: `${query}&try=${attempt}`, providers: [] }));
        expect(JSON.stringify(json), attempt).not.toContain('HOST-FILE-MARKER');
        if (status === 200) {
          // the attempt failed inside the guest
          expect(String(guestJson(json)[attempt]), attempt).toMatch(/^(error: |undefined$)/);
        } else {
          // or the engine has no implementation and traps: the instance is discarded
          expect(json.error.code, attempt).toBe('E_RUNNER_GUEST_TRAP');
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections).toBe(0);
    } finally {
      listener.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('offers no preopened directory, no environment, refuses every filesystem call, and provides no sockets', () => {
    const imports = guestWasiImports(() => {});
    expect((imports['wasi:filesystem/preopens'].getDirectories as () => unknown[])()).toEqual([]);
    expect((imports['wasi:cli/environment'].getEnvironment as () => unknown[])()).toEqual([]);
    const Descriptor = imports['wasi:filesystem/types'].Descriptor as { prototype: Record<string, () => unknown> };
    expect(() => Descriptor.prototype.openAt()).toThrow();
    expect(() => Descriptor.prototype.readViaStream()).toThrow();
    expect(Object.keys(imports).filter((name) => name.startsWith('wasi:sockets') || name.startsWith('wasi:http'))).toEqual([]);
    expect(unsupportedImports(['wasi:io/streams@0.2.12', 'alga:extension/storage@0.1.0', 'wasi:sockets/tcp@0.2.12', 'wasi:http/outgoing-handler@0.2.12'])).toEqual([
      'wasi:sockets/tcp@0.2.12',
      'wasi:http/outgoing-handler@0.2.12',
    ]);
  });

  it('supplies clocks and random from the runner: time moves on between calls, random values differ', async () => {
    const first = guestJson((await fixture.execute(executeBody({ hash, path: '/clock', providers: [] }))).json);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = guestJson((await fixture.execute(executeBody({ hash, path: '/clock', providers: [] }))).json);
    expect(second.monotonicMs - first.monotonicMs).toBeGreaterThanOrEqual(15);
    expect(Math.abs(second.wallMs - Date.now())).toBeLessThan(60_000);
    expect(second.random).not.toBe(first.random);
    expect(second.randomWords).not.toEqual(first.randomWords);
  });

  it('hands the core module the runner clock and u64 random directly, and leaves every other import to jco', () => {
    const trampoline = () => 0n;
    const coreImports = {
      'wasi:clocks/monotonic-clock@0.2.10': { now: trampoline, 'subscribe-duration': trampoline },
      'wasi:random/random@0.2.12': { 'get-random-u64': trampoline, 'get-random-bytes': trampoline },
      'wasi:clocks/monotonic-clock@0.3.0': { now: trampoline },
      'alga:extension/storage@0.1.0': { get: trampoline },
    };
    const direct = withDirectWasiFunctions(coreImports)!;
    const now = direct['wasi:clocks/monotonic-clock@0.2.10'].now as () => bigint;
    expect(now).not.toBe(trampoline);
    const before = now();
    expect(typeof before).toBe('bigint');
    expect(now()).toBeGreaterThanOrEqual(before);
    expect(direct['wasi:random/random@0.2.12']['get-random-u64']).not.toBe(trampoline);
    expect((direct['wasi:random/random@0.2.12']['get-random-u64'] as () => bigint)()).not.toBe((direct['wasi:random/random@0.2.12']['get-random-u64'] as () => bigint)());
    expect(direct['wasi:clocks/monotonic-clock@0.2.10']['subscribe-duration']).toBe(trampoline);
    expect(direct['wasi:random/random@0.2.12']['get-random-bytes']).toBe(trampoline);
    expect(direct['wasi:clocks/monotonic-clock@0.3.0'].now).toBe(trampoline);
    expect(direct['alga:extension/storage@0.1.0']).toBe(coreImports['alga:extension/storage@0.1.0']);
    expect(coreImports['wasi:clocks/monotonic-clock@0.2.10'].now).toBe(trampoline); // the caller's object is left as it was
    expect(withDirectWasiFunctions(undefined)).toBeUndefined();
  });

  it('captures stdout instead of writing to the runner process', () => {
    const captured: string[] = [];
    const imports = guestWasiImports((stream, bytes) => captured.push(`${stream}:${Buffer.from(bytes).toString()}`));
    const stdout = (imports['wasi:cli/stdout'].getStdout as () => { blockingWriteAndFlush(bytes: Uint8Array): void })();
    stdout.blockingWriteAndFlush(Buffer.from('hi'));
    expect(captured).toEqual(['stdout:hi']);
  });
});
