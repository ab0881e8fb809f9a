import { readFileSync } from 'node:fs';
import { openSecretsWithAny, type SealedSecretEnvelope } from '../lib/sealed-secrets.ts';

/**
 * The runner's secret keys: RUNNER_SECRET_KEY, or RUNNER_SECRET_KEY_FILE with one base64 key per
 * line (the active key first). During a key rotation (`alga-host rotate-key runner-envelope`) the
 * file holds the new and the old key, and installs' envelopes move from one to the other; an
 * envelope that no key in memory opens makes the runner re-read the file once (at most once a
 * second) before it gives up, so a running runner picks up a new key without a restart.
 */
export class RunnerSecretKeys {
  private keys: string[];
  private lastRead = 0;

  constructor(initial: string | undefined, private readonly file?: string) {
    this.keys = RunnerSecretKeys.parse(initial ?? '');
  }

  static parse(text: string): string[] {
    return text.split(/\s+/).map((line) => line.trim()).filter(Boolean);
  }

  get available(): boolean {
    return this.keys.length > 0 || this.file !== undefined;
  }

  open(envelope: SealedSecretEnvelope): Record<string, string> {
    try {
      return openSecretsWithAny(envelope, this.keys);
    } catch (error) {
      if (!this.reread()) throw error;
      return openSecretsWithAny(envelope, this.keys);
    }
  }

  private reread(): boolean {
    if (!this.file || Date.now() - this.lastRead < 1000) return false;
    this.lastRead = Date.now();
    try {
      const keys = RunnerSecretKeys.parse(readFileSync(this.file, 'utf8'));
      const changed = keys.join('\n') !== this.keys.join('\n');
      if (keys.length > 0) this.keys = keys;
      return changed && keys.length > 0;
    } catch {
      return false;
    }
  }
}
