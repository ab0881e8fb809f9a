/// <reference path="./generated/extension@0.1.0.d.ts" />
import { get } from 'alga:extension/secrets@0.1.0';
import { callHost, HostNotFoundError } from './errors.ts';

/** The install's secrets (capability `alga.secrets`). Never log or return them. */
export const secrets = {
  /** The secret's value, or undefined when the install has none of that name. */
  get(name: string): string | undefined {
    return callHost('secrets.get', () => get(name));
  },

  /** The secret's value; throws HostNotFoundError when the install has none of that name. */
  require(name: string): string {
    const value = secrets.get(name);
    if (value === undefined) throw new HostNotFoundError('secrets.require', `The install has no secret named "${name}".`);
    return value;
  },
};
