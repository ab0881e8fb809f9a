import { Counter, type Registry } from 'prom-client';
import { isAlgaError } from '../../lib/errors/index.ts';
import { RunnerSecretKeys } from '../secret-keys.ts';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';

/**
 * `alga.secrets`: the install's sealed envelope, opened with the runner's secret key (any of them
 * during a key rotation: ../secret-keys.ts) only when the capability is granted and a secret is
 * asked for; the opened values stay with the prepared install revision
 * (runner/prepared-installs.ts), in memory only. Values are never logged or recorded.
 */
export function createSecretsFactor(options: { secretKey?: string; secretKeyFile?: string; registry: Registry }): CapabilityFactor {
  const keys = new RunnerSecretKeys(options.secretKey, options.secretKeyFile);
  const reads = new Counter({ name: 'runner_secret_reads_total', help: 'Guest secret reads by result.', labelNames: ['result'], registers: [options.registry] });

  function secretsOf(scope: ExecutionScope): Readonly<Record<string, string>> {
    const secrets = scope.secrets;
    if (!secrets || secrets.envelopes.length === 0) return {};
    if (secrets.opened) return secrets.opened;
    if (!keys.available) throw new HostError('unavailable', 'The runner has no secret key to open secrets with.');
    try {
      // Opened in order: a later envelope's value wins.
      const values = Object.assign({}, ...secrets.envelopes.map((envelope) => keys.open(envelope))) as Record<string, string>;
      secrets.opened = values;
      return values;
    } catch (error) {
      throw new HostError('unavailable', isAlgaError(error) ? error.message : 'The secrets could not be opened.');
    }
  }

  return {
    capability: 'alga.secrets',
    iface: 'secrets',
    functions: {
      get: (scope, [name]) => {
        if (typeof name !== 'string' || name.length === 0) throw new HostError('invalid', 'A secret name must be a non-empty string.');
        const values = secretsOf(scope);
        const found = Object.prototype.hasOwnProperty.call(values, name);
        reads.inc({ result: found ? 'found' : 'missing' });
        return found ? values[name] : undefined;
      },
    },
  };
}
