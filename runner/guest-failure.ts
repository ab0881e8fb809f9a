import { failureHeader } from '../sdk/runtime/failure.ts';
import type { GuestResponse } from './pool/protocol.ts';

const codePattern = /^E_[A-Z0-9_]{1,60}$/;
const maxMessageLength = 1000;

/**
 * The failure an SDK guest reports with its 5xx answer (`alga-extension-error: CODE <cause>`, see
 * sdk/runtime/failure.ts): removed from the response headers, so the caller never sees the cause,
 * and returned for the execution record. A malformed value is removed and ignored.
 */
export function takeGuestFailure(response: GuestResponse): { code: string; message: string } | undefined {
  const index = response.headers.findIndex(([name]) => name.toLowerCase() === failureHeader);
  if (index < 0) return undefined;
  const [, value] = response.headers[index];
  response.headers = response.headers.filter(([name]) => name.toLowerCase() !== failureHeader);
  const space = value.indexOf(' ');
  const code = space < 0 ? value : value.slice(0, space);
  if (!codePattern.test(code) || response.status < 400) return undefined;
  let message: string;
  try {
    message = decodeURIComponent(space < 0 ? '' : value.slice(space + 1));
  } catch {
    message = '';
  }
  return { code, message: message.slice(0, maxMessageLength) || 'The extension gave no cause.' };
}
