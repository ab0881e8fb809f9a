import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveHostConfig } from '../../host/core/config.ts';
import { runnerEnvironment } from '../../runner/fleet/command-line.ts';
import { tempDir } from './temp-dir.ts';

const dir = tempDir('alga-fleet-config-');
afterAll(() => dir.remove());

function file(name: string, content: unknown): string {
  const path = join(dir.path, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const code = (action: () => unknown): string | undefined => {
  try {
    action();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

describe('fleet settings of alga-host start', () => {
  it('leaves the embedded default alone when nothing names a database, Redis or runners', () => {
    const config = resolveHostConfig({ env: {} });
    expect(config.fleet).toEqual({ databaseUrl: undefined, redisUrl: undefined, runnerUrls: [], discoverRunners: false, redisPrefix: 'alga' });
    expect(config.runnerBaseUrl).toBeUndefined();
  });

  it('takes flags first, then the environment, then the config file', () => {
    const configFile = file('host.json', { database: 'postgres://file@db/alga', redis: 'redis://file:6379', runners: ['http://r1:7001', 'http://r2:7001'], redisPrefix: 'from-file' });
    const fromFile = resolveHostConfig({ configFile, env: {} }).fleet;
    expect(fromFile).toEqual({ databaseUrl: 'postgres://file@db/alga', redisUrl: 'redis://file:6379', runnerUrls: ['http://r1:7001', 'http://r2:7001'], discoverRunners: false, redisPrefix: 'from-file' });
    const env = { ALGA_CONFIG: configFile, ALGA_DATABASE_URL: 'postgres://env@db/alga', ALGA_RUNNER_DISCOVERY: 'redis' };
    const fromEnv = resolveHostConfig({ env }).fleet;
    expect([fromEnv.databaseUrl, fromEnv.redisUrl, fromEnv.discoverRunners]).toEqual(['postgres://env@db/alga', 'redis://file:6379', true]);
    const fromFlags = resolveHostConfig({ env, database: 'postgres://flag@db/alga', runners: ['http://flag:7001/'] });
    expect([fromFlags.fleet.databaseUrl, fromFlags.fleet.runnerUrls, fromFlags.runnerBaseUrl]).toEqual(['postgres://flag@db/alga', ['http://flag:7001'], 'http://flag:7001']);
  });

  it('reads RUNNER_BASE_URL as one runner (as before) or, with commas, a fleet', () => {
    expect(resolveHostConfig({ env: { RUNNER_BASE_URL: 'http://r1:7001' } }).runnerBaseUrl).toBe('http://r1:7001');
    const fleet = resolveHostConfig({ env: { RUNNER_BASE_URL: 'http://r1:7001, http://r2:7001' } });
    expect([fleet.runnerBaseUrl, fleet.fleet.runnerUrls]).toEqual([undefined, ['http://r1:7001', 'http://r2:7001']]);
  });

  it('refuses what it cannot use, with a catalog code', () => {
    expect(code(() => resolveHostConfig({ env: {}, database: 'mysql://db/alga' }))).toBe('E_DATABASE_URL_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, redis: 'http://redis' }))).toBe('E_REDIS_URL_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, runners: ['redis'] }))).toBe('E_FLEET_CONFIG_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, runners: ['ftp://r1'] }))).toBe('E_FLEET_CONFIG_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, configFile: file('bad.json', '{not json') }))).toBe('E_FLEET_CONFIG_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, configFile: file('unknown.json', { databse: 'postgres://x' }) }))).toBe('E_FLEET_CONFIG_INVALID');
    expect(code(() => resolveHostConfig({ env: {}, configFile: join(dir.path, 'missing.json') }))).toBe('E_FLEET_CONFIG_INVALID');
  });
});

describe('alga-runner flags and config file', () => {
  it('maps flags and the file onto the runner\'s environment, flags over environment over file', () => {
    const configFile = file('runner.json', { port: 7001, database: 'postgres://file@db/alga', redis: 'redis://file:6379', advertise: 'http://file:7001' });
    const env = runnerEnvironment(['--config', configFile, '--port', '7002'], { RUNNER_REDIS_URL: 'redis://env:6379' });
    expect([env.RUNNER_PORT, env.RUNNER_DATABASE_URL, env.RUNNER_REDIS_URL, env.RUNNER_ADVERTISE_URL]).toEqual(['7002', 'postgres://file@db/alga', 'redis://env:6379', 'http://file:7001']);
    expect(runnerEnvironment([], { RUNNER_PORT: '9' }).RUNNER_PORT).toBe('9');
  });

  it('refuses an unknown flag or file key with E_RUNNER_CONFIG_INVALID', () => {
    expect(code(() => runnerEnvironment(['--databse', 'x'], {}))).toBe('E_RUNNER_CONFIG_INVALID');
    expect(code(() => runnerEnvironment(['--config', file('runner-bad.json', { prot: 1 })], {}))).toBe('E_RUNNER_CONFIG_INVALID');
  });
});
