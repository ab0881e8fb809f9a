// A guest built with the SDK whose handlers fail on purpose, for the tests of SDK failures (not
// traps), their catalog codes and causes, and stack traces mapped to this file. Line numbers
// below are asserted by test/runner/sdk-failures.test.ts: keep `throw` on line 11.
import { createRouter, defineHandler, HttpError, json, storage } from '@alga/extension-runtime';

let count = 0;

function giveUp(reason: string): never {
  const detail = `the handler gave up: ${reason}`;
  // the next line is line 11
  throw new Error(detail);
}

const router = createRouter()
  .get('/count', () => json({ count: ++count }))
  .get('/throw', () => giveUp('on purpose'))
  .get('/denied', () => json({ value: storage.getText('greeting') ?? null }))
  .get('/refused', () => {
    throw new HttpError(409, 'Already there.', { code: 'E_ITEM_EXISTS' });
  });

export const handler = defineHandler(router);
