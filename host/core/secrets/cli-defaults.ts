import { resolve } from 'node:path';

/** The data folder a command works on: --data, else ALGA_DATA_DIR, else ./.alga-data. */
export function resolveDataDir(option?: string): string {
  return resolve(option ?? process.env.ALGA_DATA_DIR ?? '.alga-data');
}

/** The host profile: --profile, else ALGA_PROFILE, else `all` (development). */
export function resolveProfile(option?: string): string {
  return option ?? process.env.ALGA_PROFILE ?? 'all';
}
