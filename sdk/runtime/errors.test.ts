import { describe, expect, it } from 'vitest';
import {
  callHost,
  HostDeniedError,
  HostError,
  HostInvalidError,
  HostLimitError,
  HostNotFoundError,
  HostUnavailableError,
  toHostError,
} from './errors.ts';

/** What a component import returning `err(host-error)` throws inside the guest. */
function thrownByImport(tag: string, val: string): Error {
  return Object.assign(new Error(`${val} (see error.payload)`), { payload: { tag, val } });
}

describe('host error mapping', () => {
  const cases = [
    ['denied', HostDeniedError],
    ['not-found', HostNotFoundError],
    ['invalid', HostInvalidError],
    ['limit', HostLimitError],
    ['unavailable', HostUnavailableError],
  ] as const;

  for (const [tag, type] of cases) {
    it(`turns a ${tag} host error into ${type.name}`, () => {
      let caught: unknown;
      try {
        callHost('storage.put', () => {
          throw thrownByImport(tag, 'The reason, in one sentence.');
        });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(type);
      expect(caught).toBeInstanceOf(HostError);
      expect(caught).toMatchObject({ kind: tag, operation: 'storage.put', message: 'storage.put: The reason, in one sentence.', name: type.name });
    });
  }

  it('passes other errors through unchanged', () => {
    const plain = new TypeError('not a host error');
    expect(toHostError(plain, 'x')).toBe(plain);
    const unknownTag = thrownByImport('other', 'x');
    expect(toHostError(unknownTag, 'x')).toBe(unknownTag);
  });

  it('returns the host result when the call succeeds', () => {
    expect(callHost('secrets.get', () => 'value')).toBe('value');
  });
});
