import { createRouter, defineHandler, json, storage } from '@alga/extension-runtime';

// Storage is private to each tenant's install, so one key holds that tenant's count.
const countKey = 'count';

function currentCount(): number {
  return storage.getJson<number>(countKey) ?? 0;
}

const router = createRouter()
  .get('/count', () => json({ count: currentCount() }))
  .post('/increment', () => {
    const count = currentCount() + 1;
    storage.putJson(countKey, count);
    return json({ count });
  });

export const handler = defineHandler(router);
