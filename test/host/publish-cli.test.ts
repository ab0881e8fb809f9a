import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/projects.ts';
import { tempDir } from './temp-dir.ts';

const run = promisify(execFile);

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('alga-ext publish', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('says the registry cannot be reached with a catalog code, and exits 1', async () => {
    const bundle = join(dir.path, 'x.algabundle');
    writeFileSync(bundle, 'not really a bundle');
    writeFileSync(`${bundle}.sig.json`, '{}');
    const registry = `http://127.0.0.1:${await closedPort()}`;
    const failed = await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'publish', bundle, '--registry', registry, '--token', 'alga_p_secret-token-value'], { cwd: repoRoot }).catch((error) => error);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(new RegExp(`^error E_REGISTRY_UNREACHABLE: The registry could not be reached.*${registry}: ECONNREFUSED`, 'm'));
    expect(failed.stderr).not.toContain('secret-token-value');
  });
});
