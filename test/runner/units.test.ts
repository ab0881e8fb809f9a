import { describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { openSecrets, runnerPublicKeyOf, sealSecrets } from '../../lib/sealed-secrets.ts';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import { capModuleMemory } from '../../runner/loading/memory-cap.ts';
import { isPrivateAddress } from '../../runner/capabilities/egress-address.ts';
import { safeUiPath } from '../../runner/http/ext-ui.ts';
import { Admission } from '../../runner/admission.ts';
import { configFromEnv, resolveConfig } from '../../runner/config.ts';

describe('memory cap', () => {
  // (module (memory (export "memory") 1))
  const module = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x0a, 0x01, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00]);

  it('gives an uncapped memory a maximum, so growing past it fails', async () => {
    const uncapped = (await WebAssembly.instantiate(module)).instance.exports.memory as WebAssembly.Memory;
    expect(() => uncapped.grow(10)).not.toThrow();
    const { bytes, initialPages } = capModuleMemory(module, 3 * 65536);
    expect(initialPages).toBe(1);
    const memory = (await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>)).instance.exports.memory as WebAssembly.Memory;
    expect(() => memory.grow(2)).not.toThrow();
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it('refuses a cap below the memory the module starts with', () => {
    try {
      capModuleMemory(module, 1024);
      expect.unreachable();
    } catch (error) {
      expect(isAlgaError(error, 'E_RUNNER_MEMORY_LIMIT_TOO_SMALL')).toBe(true);
    }
  });
});

describe('egress address checks', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a00:1', '224.0.0.1'])(
    'treats %s as private',
    (address) => expect(isPrivateAddress(address)).toBe(true),
  );
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('treats %s as public', (address) => expect(isPrivateAddress(address)).toBe(false));
});

describe('sealed secrets', () => {
  const runner = nacl.box.keyPair();
  const secretKey = Buffer.from(runner.secretKey).toString('base64');
  const publicKey = Buffer.from(runner.publicKey).toString('base64');

  it('round-trips through the runner key and no other', () => {
    expect(runnerPublicKeyOf(secretKey)).toBe(publicKey);
    const envelope = sealSecrets({ token: 'abc', other: 'é' }, publicKey);
    expect(JSON.stringify(envelope)).not.toContain('abc');
    expect(openSecrets(envelope, secretKey)).toEqual({ token: 'abc', other: 'é' });
    const stranger = Buffer.from(nacl.box.keyPair().secretKey).toString('base64');
    expect(() => openSecrets(envelope, stranger)).toThrow(/different key or altered/);
    const tampered = { ...envelope, ciphertext: Buffer.from(Buffer.from(envelope.ciphertext, 'base64').map((byte, index) => (index === 0 ? byte ^ 1 : byte))).toString('base64') };
    expect(() => openSecrets(tampered, secretKey)).toThrow(/different key or altered/);
  });
});

describe('ui paths and admission', () => {
  it('accepts only relative paths inside ui/', () => {
    expect(safeUiPath('index.html')).toBe(true);
    expect(safeUiPath('assets/app.js')).toBe(true);
    for (const path of ['../x', 'a/../b', './a', '/etc/passwd', 'a\\b', 'a//b', 'a\u0000b']) expect(safeUiPath(path), path).toBe(false);
  });

  it('refuses past the tenant, extension and queue limits, and frees on release', () => {
    const admission = new Admission({ perTenant: 2, perExtension: 3, queueMax: 0 }, () => 3);
    const first = admission.admit('t1', 'e1');
    admission.admit('t1', 'e1');
    expect(() => admission.admit('t1', 'e2')).toThrow(/Tenant limit/);
    admission.admit('t2', 'e1');
    expect(() => admission.admit('t3', 'e1')).toThrow(/Extension limit/);
    expect(() => admission.admit('t3', 'e9')).toThrow(/waiting/);
    first();
    first();
    expect(admission.inFlight).toBe(2);
    expect(() => admission.admit('t1', 'e2')).not.toThrow();
  });
});

describe('runner configuration from the environment', () => {
  it('reads UI_PROXY_MAX_RESPONSE_BYTES, and refuses a value that is not a number', () => {
    expect(configFromEnv({ UI_PROXY_MAX_RESPONSE_BYTES: '65536' }).uiProxy).toMatchObject({ maxResponseBytes: 65536 });
    expect(configFromEnv({}).uiProxy?.maxResponseBytes).toBeUndefined();
    expect(() => configFromEnv({ UI_PROXY_MAX_RESPONSE_BYTES: 'lots' })).toThrow(expect.objectContaining({ code: 'E_RUNNER_CONFIG_INVALID', message: expect.stringContaining('UI_PROXY_MAX_RESPONSE_BYTES') }));
  });

  it('reads the scheduler settings, with a reserve worker, an instance budget and an instantiation budget by default', () => {
    const env = { RUNNER_WORKERS: '3', RUNNER_RESERVE_WORKERS: '0', RUNNER_INSTANCES_PER_WORKER: '8', RUNNER_INSTANCE_MEMORY_MB: '96', RUNNER_INSTANTIATE_TIMEOUT_MS: '2500' };
    expect(resolveConfig(configFromEnv(env))).toMatchObject({ workers: 3, reserveWorkers: 0, instancesPerWorker: 8, instanceMemoryMb: 96, instantiateTimeoutMs: 2500 });
    expect(resolveConfig({ dataDir: '/tmp/x' })).toMatchObject({ reserveWorkers: 1, instancesPerWorker: 64, instanceMemoryMb: 256, instantiateTimeoutMs: 5000, preparedToRemember: 64 });
    expect(() => configFromEnv({ RUNNER_RESERVE_WORKERS: 'one' })).toThrow(expect.objectContaining({ code: 'E_RUNNER_CONFIG_INVALID', message: expect.stringContaining('RUNNER_RESERVE_WORKERS') }));
  });
});

describe('errors', () => {
  it('a refusal (4xx) carries no stack, a fault (5xx) keeps its own, and the stack limit is left as it was', () => {
    const limitBefore = Error.stackTraceLimit;
    const refusal = new AlgaError('E_EXT_RATE_LIMITED', 'more than 10 requests a minute');
    const fault = new AlgaError('E_RUNNER_INTERNAL');
    expect(refusal.status).toBe(429);
    expect(refusal.message).toContain('more than 10 requests a minute');
    expect(refusal.stack).not.toMatch(/\n\s+at /);
    expect(fault.status).toBe(500);
    expect(fault.stack).toMatch(/\n\s+at /);
    expect(Error.stackTraceLimit).toBe(limitBefore);
    expect(new Error('plain').stack).toMatch(/\n\s+at /);
  });
});
