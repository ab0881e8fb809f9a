/**
 * Strength checks for generated secrets. A value produced by the CSPRNG passes with a wide
 * margin; hand-typed, repeated or sequential values do not.
 */

/** Estimated entropy in bits: length × Shannon entropy of the symbol frequencies. */
export function estimatedEntropyBits(symbols: ArrayLike<number> | string): number {
  const counts = new Map<number | string, number>();
  const length = symbols.length;
  for (let i = 0; i < length; i++) {
    const symbol = typeof symbols === 'string' ? symbols[i] : symbols[i];
    counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  }
  let perSymbol = 0;
  for (const count of counts.values()) {
    const p = count / length;
    perSymbol -= p * Math.log2(p);
  }
  return perSymbol * length;
}

/** True when most neighbours differ by one fixed step (0,1,2,3… or "abc…xyzABC…"). */
function isArithmeticRun(values: number[]): boolean {
  if (values.length < 3) return false;
  const steps = new Map<number, number>();
  for (let i = 1; i < values.length; i++) steps.set(values[i] - values[i - 1], (steps.get(values[i] - values[i - 1]) ?? 0) + 1);
  return Math.max(...steps.values()) >= 0.75 * (values.length - 1);
}

/** True when the value is one short chunk repeated ("abcabcabc…"). */
function isRepeatedChunk(values: number[]): boolean {
  for (let period = 1; period <= values.length / 2; period++) {
    if (values.every((value, i) => value === values[i % period])) return true;
  }
  return false;
}

export interface StrengthProblem {
  reason: string;
}

/** Checks decoded key bytes; returns why they are weak, or undefined when they are fine. */
export function checkKeyBytes(bytes: Uint8Array, minBytes: number): StrengthProblem | undefined {
  if (bytes.length < minBytes) return { reason: `it is ${bytes.length} bytes, at least ${minBytes} are required` };
  const values = Array.from(bytes);
  if (isRepeatedChunk(values) || isArithmeticRun(values)) return { reason: 'it is a repeated or sequential pattern' };
  const minBits = Math.min(128, minBytes * 4);
  if (estimatedEntropyBits(bytes) < minBits) return { reason: 'its entropy is too low for a randomly generated key' };
  return undefined;
}

/** Checks a token string (base64url, hex …); returns why it is weak, or undefined when it is fine. */
export function checkTokenString(token: string, minChars: number): StrengthProblem | undefined {
  if (token.length < minChars) return { reason: `it is ${token.length} characters, at least ${minChars} are required` };
  const values = Array.from(token, (c) => c.codePointAt(0) ?? 0);
  if (isRepeatedChunk(values) || isArithmeticRun(values)) return { reason: 'it is a repeated or sequential pattern' };
  if (estimatedEntropyBits(token) < 128) return { reason: 'its entropy is too low for a randomly generated token' };
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((pattern) => pattern.test(token)).length;
  if (classes < 2 && token.length < 64) return { reason: 'it looks hand-typed (a generated token mixes letters and digits)' };
  return undefined;
}
