/**
 * The one path-pattern matcher, shared by the SDK router and the host gateway.
 *
 * A pattern is a path of `/`-separated segments. A segment is literal text, `:name`
 * (exactly one non-empty segment, captured as `params.name`, percent-decoded), or, as the
 * last segment only, `*` (the rest of the path, possibly empty, captured as `params['*']`).
 * A single trailing slash on the path is ignored; matching is case-sensitive.
 *
 *   /items/:id   matches /items/42            → { id: '42' }
 *   /files/*     matches /files/a/b.txt       → { '*': 'a/b.txt' }  and /files → { '*': '' }
 */

export type PathParams = Record<string, string>;

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string } | { kind: 'rest' };

export interface PathPattern {
  readonly source: string;
  /** Names of the `:name` parameters, in order (plus `*` when the pattern ends with it). */
  readonly paramNames: readonly string[];
  /** The captured parameters when `path` matches, otherwise null. */
  match(path: string): PathParams | null;
}

/** Thrown for a pattern that cannot be used; the message says why. */
export class PathPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`Invalid path pattern "${pattern}": ${reason}`);
    this.name = 'PathPatternError';
  }
}

const paramName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parse(pattern: string): Segment[] {
  if (typeof pattern !== 'string' || !pattern.startsWith('/')) throw new PathPatternError(String(pattern), 'it must start with "/"');
  if (/[?#\s]/.test(pattern)) throw new PathPatternError(pattern, 'it must not contain "?", "#" or whitespace');
  const parts = splitPath(pattern);
  const seen = new Set<string>();
  return parts.map((part, index): Segment => {
    if (part === '*') {
      if (index !== parts.length - 1) throw new PathPatternError(pattern, '"*" is only allowed as the last segment');
      return { kind: 'rest' };
    }
    if (part.startsWith(':')) {
      const name = part.slice(1);
      if (!paramName.test(name)) throw new PathPatternError(pattern, `"${part}" is not a valid parameter (letters, digits and "_")`);
      if (seen.has(name)) throw new PathPatternError(pattern, `parameter ":${name}" appears twice`);
      seen.add(name);
      return { kind: 'param', name };
    }
    if (part === '') throw new PathPatternError(pattern, 'it contains an empty segment ("//")');
    if (part.includes('*') || part.includes(':')) throw new PathPatternError(pattern, `segment "${part}" mixes text with ":" or "*"`);
    return { kind: 'literal', text: part };
  });
}

/** `/a/b/` → ['a', 'b']; `/` → []. A single trailing slash is ignored. */
function splitPath(path: string): string[] {
  let body = path.slice(1);
  if (body.endsWith('/')) body = body.slice(0, -1);
  return body === '' ? [] : body.split('/');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Parses and checks a pattern once; throws PathPatternError for an unusable one. */
export function compilePathPattern(pattern: string): PathPattern {
  const segments = parse(pattern);
  const paramNames = segments.flatMap((segment) => (segment.kind === 'param' ? [segment.name] : segment.kind === 'rest' ? ['*'] : []));
  const endsWithRest = segments.at(-1)?.kind === 'rest';
  const fixedCount = endsWithRest ? segments.length - 1 : segments.length;

  if (paramNames.length === 0) {
    // Only literal segments: the same answer as below, without splitting the path.
    const exact = `/${segments.map((segment) => (segment as { text: string }).text).join('/')}`;
    const withSlash = `${exact}/`;
    return { source: pattern, paramNames, match: (path: string) => (path === exact || path === withSlash ? {} : null) };
  }

  return {
    source: pattern,
    paramNames,
    match(path: string): PathParams | null {
      if (typeof path !== 'string' || !path.startsWith('/')) return null;
      const parts = splitPath(path);
      if (endsWithRest ? parts.length < fixedCount : parts.length !== fixedCount) return null;
      const params: PathParams = {};
      for (let index = 0; index < fixedCount; index++) {
        const segment = segments[index];
        const part = parts[index];
        if (segment.kind === 'literal') {
          if (part !== segment.text) return null;
        } else if (segment.kind === 'param') {
          if (part === '') return null;
          params[segment.name] = decodeSegment(part);
        }
      }
      if (endsWithRest) params['*'] = parts.slice(fixedCount).map(decodeSegment).join('/');
      return params;
    },
  };
}

/** True when `pattern` is a usable path pattern. */
export function isValidPathPattern(pattern: string): boolean {
  try {
    parse(pattern);
    return true;
  } catch {
    return false;
  }
}

/** One-off match without keeping the compiled pattern. */
export function matchPath(pattern: string, path: string): PathParams | null {
  return compilePathPattern(pattern).match(path);
}
