import type { Database, RootDatabase } from 'lmdb';
import { Counter, type Registry } from 'prom-client';
import { openPrivateLmdb } from '../../lib/private-lmdb.ts';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';

/**
 * `alga.storage`: LMDB key-value storage namespaced by tenant + extension, so one tenant's
 * keys are unreachable from another's. Key-count and byte quotas per namespace. The LMDB files are 0600.
 */

interface Usage {
  keys: number;
  bytes: number;
}

const maxKeyBytes = 512;
const maxPageSize = 1000;
const separator = '\u0000';

export function createStorageFactor(options: { path: string; registry: Registry }): CapabilityFactor & { root: RootDatabase } {
  const root = openPrivateLmdb({ path: options.path, compression: false });
  const values: Database<Buffer, string> = root.openDB({ name: 'values', encoding: 'binary' });
  const usage: Database<Usage, string> = root.openDB({ name: 'usage', encoding: 'msgpack' });
  const operations = new Counter({
    name: 'runner_storage_operations_total',
    help: 'Guest storage operations by operation and result.',
    labelNames: ['operation', 'result'],
    registers: [options.registry],
  });

  const namespaceOf = (scope: ExecutionScope): string => `${scope.tenantId}${separator}${scope.extensionId}${separator}`;

  function checkKey(key: unknown): string {
    if (typeof key !== 'string' || key.length === 0) throw new HostError('invalid', 'A storage key must be a non-empty string.');
    if (Buffer.byteLength(key) > maxKeyBytes) throw new HostError('invalid', `A storage key must be at most ${maxKeyBytes} bytes.`);
    if (key.includes(separator)) throw new HostError('invalid', 'A storage key must not contain NUL.');
    return key;
  }

  function counted<T>(operation: string, run: () => T): T {
    try {
      const result = run();
      operations.inc({ operation, result: 'ok' });
      return result;
    } catch (error) {
      operations.inc({ operation, result: error instanceof HostError ? error.tag : 'error' });
      throw error;
    }
  }

  return {
    capability: 'alga.storage',
    iface: 'storage',
    root,
    functions: {
      get: (scope, [key]) =>
        counted('get', () => {
          const value = values.get(namespaceOf(scope) + checkKey(key));
          return value === undefined ? undefined : new Uint8Array(value);
        }),
      put: (scope, [key, value]) =>
        counted('put', () => {
          const name = checkKey(key);
          if (!(value instanceof Uint8Array)) throw new HostError('invalid', 'A storage value must be bytes.');
          if (value.length > scope.limits.maxStorageValueBytes) throw new HostError('limit', `A value may be at most ${scope.limits.maxStorageValueBytes} bytes.`);
          const namespace = namespaceOf(scope);
          values.transactionSync(() => {
            const current = usage.get(namespace) ?? { keys: 0, bytes: 0 };
            const previous = values.get(namespace + name);
            const next = {
              keys: current.keys + (previous === undefined ? 1 : 0),
              bytes: current.bytes + value.length + (previous === undefined ? Buffer.byteLength(name) : -previous.length),
            };
            if (next.keys > scope.limits.maxStorageKeys) throw new HostError('limit', `This install may keep at most ${scope.limits.maxStorageKeys} keys.`);
            if (next.bytes > scope.limits.maxStorageBytes) throw new HostError('limit', `This install may keep at most ${scope.limits.maxStorageBytes} bytes.`);
            values.putSync(namespace + name, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
            usage.putSync(namespace, next);
          });
        }),
      delete: (scope, [key]) =>
        counted('delete', () => {
          const name = checkKey(key);
          const namespace = namespaceOf(scope);
          return values.transactionSync(() => {
            const previous = values.get(namespace + name);
            if (previous === undefined) return false;
            const current = usage.get(namespace) ?? { keys: 1, bytes: previous.length + Buffer.byteLength(name) };
            values.removeSync(namespace + name);
            usage.putSync(namespace, { keys: Math.max(0, current.keys - 1), bytes: Math.max(0, current.bytes - previous.length - Buffer.byteLength(name)) });
            return true;
          });
        }),
      listByPrefix: (scope, [prefix, cursor, limit]) =>
        counted('list', () => {
          if (typeof prefix !== 'string' || prefix.includes(separator)) throw new HostError('invalid', 'The prefix must be a string without NUL.');
          if (cursor !== undefined && typeof cursor !== 'string') throw new HostError('invalid', 'The cursor must be a string from a previous page.');
          const pageSize = Math.max(1, Math.min(Number(limit) || 100, maxPageSize));
          const namespace = namespaceOf(scope);
          const start = namespace + (cursor && cursor.startsWith(prefix) ? cursor : prefix);
          const entries: { key: string; value: Uint8Array }[] = [];
          let more = false;
          for (const { key, value } of values.getRange({ start })) {
            if (!key.startsWith(namespace + prefix)) break;
            const name = key.slice(namespace.length);
            if (cursor && name === cursor) continue;
            if (entries.length === pageSize) {
              more = true;
              break;
            }
            entries.push({ key: name, value: new Uint8Array(value) });
          }
          return { entries, cursor: more ? entries[entries.length - 1].key : undefined };
        }),
    },
    close: () => root.close(),
  };
}
