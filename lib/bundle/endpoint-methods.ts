/**
 * How a request's method meets the methods a manifest declares for a path. HTTP asks every GET
 * resource to answer HEAD too, so a HEAD on a path declared for GET but not for HEAD calls the
 * extension with GET; the server then sends the headers of that answer without its body.
 */

/** The method to call the extension with, or undefined when the path is declared for neither `method` nor its stand-in. */
export function methodToCall(method: string, isDeclared: (method: string) => boolean): string | undefined {
  if (isDeclared(method)) return method;
  if (method === 'HEAD' && isDeclared('GET')) return 'GET';
  return undefined;
}

/** What an `Allow` header lists for a path declared for `declared`: HEAD wherever GET is, sorted. */
export function allowedMethods(declared: readonly string[]): string[] {
  const methods = new Set(declared);
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
