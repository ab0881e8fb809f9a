import { closeSync, openSync, writeSync } from 'node:fs';
import type { HostStore } from '../../core/store.ts';
import { recordToken } from './state.ts';
import { hashSetupToken, mintSetupToken, setupTokenPath, writeSetupTokenFile } from './token.ts';

/**
 * Mints a setup token, stores its hash, writes it to `<data>/setup-token` (0600) and returns the
 * console banner. Used by `alga-host start` (the last step of provisioning) and `reset-claim`.
 */
export function openSetupWithFreshToken(options: { store: HostStore; dataDir: string; ttlMinutes?: number; setupUrl: string }): { token: string; banner: string[] } {
  const token = mintSetupToken();
  const state = recordToken(options.store, hashSetupToken(token), options.ttlMinutes);
  writeSetupTokenFile(options.dataDir, token);
  const banner = [
    '',
    '  This host is UNCLAIMED. To claim it, open',
    `    ${options.setupUrl}`,
    '  and enter this one-time setup token:',
    '',
    `    ${token}`,
    '',
    `  (also in ${setupTokenPath(options.dataDir)}, mode 0600${state.tokenExpiresAt ? `; valid until ${state.tokenExpiresAt}` : ''})`,
    '',
  ];
  return { token, banner };
}

/** Writes lines to a console device such as /dev/tty1 (created 0600 if it is a plain path). */
export function writeToConsoleDevice(device: string, lines: string[]): void {
  const fd = openSync(device, 'a', 0o600);
  try {
    writeSync(fd, `${lines.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}
