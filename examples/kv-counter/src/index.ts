import { createRouter, defineHandler, HttpError, json, storage } from '@alga/extension-runtime';

// Storage is private to each tenant's install, so one key holds that tenant's count.
// Requests of a tenant run at the same time: the count changes only through atomic calls.
const countKey = 'count';

function currentCount(): { count: number; version: number | null } {
  const stored = storage.getJsonWithVersion<number>(countKey);
  return { count: stored?.value ?? 0, version: stored?.version ?? null };
}

const router = createRouter()
  .get('/count', () => json(currentCount()))
  // One atomic step: 200 concurrent increments add exactly 200.
  .post('/increment', () => json({ count: storage.increment(countKey) }))
  // Compare-and-set: the write happens only if nobody changed the count since the caller read
  // `version` (null: it was never set); otherwise 409 with the current count and version.
  .put('/count', (request) => {
    const { count, version } = request.json<{ count?: unknown; version?: unknown }>();
    if (!Number.isSafeInteger(count)) throw new HttpError(400, 'count must be a whole number.');
    if (version !== null && !Number.isSafeInteger(version)) throw new HttpError(400, 'version must be the version read from GET /count, or null.');
    const written = storage.putJsonIf(countKey, count, version === null ? { absent: true } : { version: version as number });
    if (!written.ok) return json({ error: { status: 409, message: 'The count changed since it was read.' }, ...currentCount() }, 409);
    return json({ count, version: written.version });
  });

export const handler = defineHandler(router);
