import { AlgaError } from '../../lib/errors/index.ts';

/** A whole-number query parameter within [min, max]; undefined when absent; E_REQUEST_INVALID otherwise. */
export function wholeNumberParam(value: unknown, name: string, range: { min: number; max: number }): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < range.min || number > range.max) {
    throw new AlgaError('E_REQUEST_INVALID', `${name} must be a whole number from ${range.min} to ${range.max}.`);
  }
  return number;
}

/** An ISO date query parameter; undefined when absent; E_REQUEST_INVALID otherwise. */
export function dateParam(value: unknown, name: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new AlgaError('E_REQUEST_INVALID', `${name} must be an ISO date such as 2026-01-31T12:00:00Z.`);
  return value;
}
