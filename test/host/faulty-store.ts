import type { HostStore } from '../../host/core/store.ts';

/** What lmdb-js throws when a write meets a full disk: the errno as a number. */
export function noSpaceError(): Error {
  return Object.assign(new Error('No space left on device'), { code: 28 });
}

const writeMethods = new Set(['putSync', 'removeSync', 'put', 'remove', 'transactionSync', 'clearSync', 'clearAsync', 'dropSync', 'drop', 'ifNoExists', 'ifVersion', 'batch']);

/**
 * A real store whose writes fail like a full disk's while `disk.full` is set: every write a
 * sub-database offers throws (or rejects) the way lmdb-js does, and a transaction that runs while
 * the disk is full is rolled back at commit. Reads are untouched.
 */
export function faultyStore(store: HostStore): { store: HostStore; disk: { full: boolean } } {
  const disk = { full: false };
  const wrapped = new Map<string, unknown>();
  const wrapDb = (name: string, database: object) => {
    let proxy = wrapped.get(name);
    if (!proxy) {
      proxy = new Proxy(database, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (typeof property === 'string' && writeMethods.has(property)) {
            return (...args: unknown[]) => {
              if (!disk.full) return value.apply(target, args);
              if (property === 'put' || property === 'remove' || property === 'drop' || property === 'clearAsync') return Promise.reject(noSpaceError());
              throw noSpaceError();
            };
          }
          return value.bind(target);
        },
      });
      wrapped.set(name, proxy);
    }
    return proxy;
  };
  const faulty: HostStore = {
    get path() {
      return store.path;
    },
    db: ((name: string) => wrapDb(name, store.db(name))) as HostStore['db'],
    transaction: (action) =>
      store.transaction(() => {
        const result = action();
        if (disk.full) throw noSpaceError(); // the commit is what a full disk refuses
        return result;
      }),
    migrate: (area, migrations) => store.migrate(area, migrations),
    schemaVersion: (area) => store.schemaVersion(area),
    flushed: () => store.flushed(),
    close: () => store.close(),
  };
  return { store: faulty, disk };
}
