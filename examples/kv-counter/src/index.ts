import { createRouter, defineHandler, HttpError, json, storage, StorageConflictError } from '@alga/extension-runtime';

// Storage is private to each tenant's install, so one key holds that tenant's count.
// Requests of a tenant run at the same time: the count changes only through atomic calls.
const countKey = 'count';
const resetsKey = 'resets';

function currentCount(): { count: number; version: number | null } {
  const stored = storage.getJsonWithVersion<number>(countKey);
  return { count: stored?.value ?? 0, version: stored?.version ?? null };
}

const router = createRouter()
  .get('/count', () => json(currentCount()))
  // One atomic step: 200 concurrent increments add exactly 200. `?by=-3` counts down.
  .post('/increment', (request) => {
    const by = request.query.by === undefined ? 1 : Number(request.query.by);
    if (!Number.isSafeInteger(by)) throw new HttpError(400, 'by must be a whole number.');
    return json({ count: storage.increment(countKey, by) });
  })
  // Compare-and-set: the write happens only if nobody changed the count since the caller read
  // `version` (null: it was never set); otherwise 409 with the current count and version.
  .put('/count', (request) => {
    const { count, version } = request.json<{ count?: unknown; version?: unknown }>();
    if (!Number.isSafeInteger(count)) throw new HttpError(400, 'count must be a whole number.');
    if (version !== null && !Number.isSafeInteger(version)) throw new HttpError(400, 'version must be the version read from GET /count, or null.');
    const written = storage.putJsonIf(countKey, count, version === null ? { absent: true } : { version: version as number });
    if (!written.ok) return json({ error: { status: 409, message: 'The count changed since it was read.' }, ...currentCount() }, 409);
    return json({ count, version: written.version });
  })
  // A transaction: the count read, set to 0 and the number of resets counted in one atomic
  // step; if another request changes either key meanwhile, the callback runs again.
  .post('/reset', () => {
    try {
      return json(
        storage.transaction((tx) => {
          const previous = tx.getJson<number>(countKey) ?? 0;
          const resets = (tx.getJson<number>(resetsKey) ?? 0) + 1;
          tx.putJson(countKey, 0);
          tx.putJson(resetsKey, resets);
          return { count: 0, previous, resets };
        }),
      );
    } catch (error) {
      if (error instanceof StorageConflictError) throw new HttpError(409, 'The count kept changing while it was being reset; retry.');
      throw error;
    }
  });

export const handler = defineHandler(router);
