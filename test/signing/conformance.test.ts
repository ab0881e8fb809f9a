import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlgaError } from '../../lib/errors/index.ts';
import { verifySigstoreBundle } from '../../lib/signing/index.ts';

/** The public Sigstore conformance cases: every `_fail` case refused, every other verified. */
const root = '/work/shared/fixtures/sigstore-conformance/bundle-verify';
const defaultIdentity =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const defaultIssuer = 'https://token.actions.githubusercontent.com';

const cases = existsSync(root)
  ? readdirSync(root, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
  : [];

function optional(dir: string, file: string): string | undefined {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Runs one case the way `alga-ext verify --sigstore` does; returns the refusal code or 'verified'. */
function runCase(name: string): string {
  const dir = join(root, name);
  const key = optional(dir, 'key.pub');
  const trustedRoot = optional(dir, 'trusted_root.json');
  try {
    let bundle: unknown;
    try {
      bundle = JSON.parse(readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'));
    } catch {
      return 'E_SIGSTORE_INVALID (not JSON)';
    }
    verifySigstoreBundle({
      bundle,
      artifact: readFileSync(existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(root, 'a.txt')),
      trustedRoot: trustedRoot ? JSON.parse(trustedRoot) : undefined,
      key,
      identity: key ? undefined : (optional(dir, 'identity')?.trim() ?? defaultIdentity),
      issuer: key ? undefined : (optional(dir, 'issuer')?.trim() ?? defaultIssuer),
    });
    return 'verified';
  } catch (error) {
    if (isAlgaError(error)) return error.code;
    throw error;
  }
}

describe('Sigstore conformance (bundle-verify)', () => {
  it('has the cases on disk', () => {
    expect(cases.length).toBeGreaterThanOrEqual(70);
  });

  for (const name of cases) {
    if (name.endsWith('_fail')) {
      it(`refuses ${name}`, () => expect(runCase(name)).toMatch(/^E_SIGSTORE_INVALID/));
    } else {
      it(`verifies ${name}`, () => expect(runCase(name)).toBe('verified'));
    }
  }
});

describe('Sigstore policy beyond the conformance cases', () => {
  const happy = join(root, 'happy-path-v0.3');
  const bundle = () => JSON.parse(readFileSync(join(happy, 'bundle.sigstore.json'), 'utf8'));
  const artifact = () => readFileSync(join(root, 'a.txt'));

  it('refuses a valid bundle signed by another identity or issuer than required', () => {
    const wrongIdentity = () => verifySigstoreBundle({ bundle: bundle(), artifact: artifact(), identity: 'https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main', issuer: defaultIssuer });
    const wrongIssuer = () => verifySigstoreBundle({ bundle: bundle(), artifact: artifact(), identity: defaultIdentity, issuer: 'https://accounts.google.com' });
    expect(wrongIdentity).toThrow(expect.objectContaining({ code: 'E_SIGSTORE_INVALID' }));
    expect(wrongIssuer).toThrow(expect.objectContaining({ code: 'E_SIGSTORE_INVALID' }));
    expect(verifySigstoreBundle({ bundle: bundle(), artifact: artifact(), identity: defaultIdentity, issuer: defaultIssuer }).identity).toBe(defaultIdentity);
  });

  it('refuses to verify with neither a key nor an identity', () => {
    expect(() => verifySigstoreBundle({ bundle: bundle(), artifact: artifact() })).toThrow(expect.objectContaining({ code: 'E_SIGSTORE_INVALID' }));
  });

  it('refuses an in-toto bundle for an artifact its statement does not name', () => {
    const dsse = JSON.parse(readFileSync(join(root, 'happy-path-intoto-in-dsse-v3', 'bundle.sigstore.json'), 'utf8'));
    const run = () => verifySigstoreBundle({ bundle: dsse, artifact: new TextEncoder().encode('not the subject'), identity: defaultIdentity, issuer: defaultIssuer });
    expect(run).toThrow(/does not name the artifact/);
  });
});
