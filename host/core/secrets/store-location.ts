import { existsSync } from 'node:fs';
import { resolveFleetSettings } from '../fleet-config.ts';
import { storePathOf } from '../store.ts';

/**
 * Why the values a data folder's keys protect are not all in the folder's own store, or
 * undefined when they are. They are not when the host store is a fleet's PostgreSQL database
 * (ALGA_DATABASE_URL, or a config file in ALGA_CONFIG naming one), nor when the folder has no
 * store at all (a fleet node's folder). Rotations then re-encrypt and re-seal nothing and keep
 * every earlier key, and no key may be retired: values this command cannot see may need it.
 */
export function valuesOutsideFolder(dataDir: string, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  if (resolveFleetSettings({}, env).databaseUrl !== undefined) return "the host store is the fleet's PostgreSQL database (ALGA_DATABASE_URL or ALGA_CONFIG), not this folder";
  if (!existsSync(storePathOf(dataDir))) return `${dataDir} holds no host store (a fleet node's folder: its values are in the fleet's database)`;
  return undefined;
}
