import { describe, expect, it } from 'vitest';
import { compilePathPattern, isValidPathPattern, matchPath, PathPatternError } from './path-pattern.ts';

describe('path patterns', () => {
  it('matches literal paths exactly, ignoring one trailing slash', () => {
    expect(matchPath('/hello', '/hello')).toEqual({});
    expect(matchPath('/hello', '/hello/')).toEqual({});
    expect(matchPath('/hello', '/hello/x')).toBeNull();
    expect(matchPath('/hello', '/Hello')).toBeNull();
    expect(matchPath('/', '/')).toEqual({});
    expect(matchPath('/', '/x')).toBeNull();
    expect(matchPath('/hello', '/hello//')).toBeNull();
    expect(matchPath('/a/b', '/a//b')).toBeNull();
    expect(matchPath('/a/b', '/a/b/')).toEqual({});
    expect(matchPath('/a/b', 'a/b')).toBeNull();
  });

  it('captures :params as one non-empty, percent-decoded segment', () => {
    expect(matchPath('/items/:id', '/items/42')).toEqual({ id: '42' });
    expect(matchPath('/items/:id', '/items/a%20b')).toEqual({ id: 'a b' });
    expect(matchPath('/items/:id', '/items/')).toBeNull();
    expect(matchPath('/items/:id', '/items')).toBeNull();
    expect(matchPath('/items/:id', '/items/1/2')).toBeNull();
    expect(matchPath('/a/:x/b/:y', '/a/1/b/2')).toEqual({ x: '1', y: '2' });
    expect(matchPath('/items/:id', '/items/%E0%A4%A')).toEqual({ id: '%E0%A4%A' });
  });

  it('captures the rest of the path with a trailing *', () => {
    expect(matchPath('/files/*', '/files/a/b.txt')).toEqual({ '*': 'a/b.txt' });
    expect(matchPath('/files/*', '/files')).toEqual({ '*': '' });
    expect(matchPath('/files/*', '/filesx')).toBeNull();
    expect(matchPath('/*', '/anything/at/all')).toEqual({ '*': 'anything/at/all' });
  });

  it('lists parameter names', () => {
    expect(compilePathPattern('/a/:x/*').paramNames).toEqual(['x', '*']);
  });

  it('refuses patterns it cannot match unambiguously, saying why', () => {
    const bad: Array<[string, RegExp]> = [
      ['items', /must start with "\/"/],
      ['/files/*/x', /only allowed as the last segment/],
      ['/a/:', /not a valid parameter/],
      ['/a/:x/:x', /appears twice/],
      ['/a//b', /empty segment/],
      ['/a/b:c', /mixes text/],
      ['/a?b', /must not contain/],
    ];
    for (const [pattern, reason] of bad) {
      expect(() => compilePathPattern(pattern)).toThrow(PathPatternError);
      expect(() => compilePathPattern(pattern)).toThrow(reason);
      expect(isValidPathPattern(pattern)).toBe(false);
    }
    expect(isValidPathPattern('/items/:id')).toBe(true);
  });

  it('does not match paths that are not absolute', () => {
    expect(matchPath('/items/:id', 'items/1')).toBeNull();
  });
});
