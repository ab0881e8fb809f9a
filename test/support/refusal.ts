import { isAlgaError } from '../../lib/errors/index.ts';

/** Runs `run`, which must throw an AlgaError, and returns its code and message. */
export function refusalOf(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isAlgaError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('accepted where a refusal was expected');
}
