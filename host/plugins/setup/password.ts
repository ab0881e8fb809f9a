import { AlgaError } from '../../../lib/errors/index.ts';
import { isPublishedPlaceholder, publishedPlaceholders } from '../../core/secrets/placeholders.ts';

/**
 * Admin password strength: long enough, not a pattern, not a common password, and not any value
 * published in the project's docs or examples (the provision.env sample, for one).
 */

export const MIN_ADMIN_PASSWORD_LENGTH = 12;
const COMMON = ['password1234', 'password12345', 'password123!', 'qwertyuiop12', '123456789012', 'administrator', 'letmein12345', 'welcome12345', 'changeme1234'];

export function checkAdminPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string' || password.length === 0) throw new AlgaError('E_SETUP_BAD_REQUEST', 'Choose an admin password.');
  const characters = [...password];
  if (characters.length < MIN_ADMIN_PASSWORD_LENGTH) throw new AlgaError('E_PASSWORD_WEAK', `It has ${characters.length} characters.`);
  if (characters.length > 1024) throw new AlgaError('E_PASSWORD_WEAK', 'It is longer than 1024 characters.');
  if (new Set(characters).size < 5) throw new AlgaError('E_PASSWORD_WEAK', 'It repeats too few different characters.');
  const lower = password.toLowerCase();
  if (COMMON.includes(lower)) throw new AlgaError('E_PASSWORD_WEAK', 'It is a well-known password.');
  if (isPublishedPlaceholder(password, publishedPlaceholders())) throw new AlgaError('E_PASSWORD_WEAK', 'It is an example value from the project\'s docs.');
}
