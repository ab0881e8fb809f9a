import type { Migration } from '../../core/store.ts';

/**
 * Forward migrations of the license area. Version 1: earlier control planes kept each
 * install-code mail, code included, in `license.outbox`; those rows are deleted (the codes stay
 * valid, and a customer who never got theirs gets a re-issued one).
 */
export function licenseMigrations(report: (line: string) => void): readonly Migration[] {
  return [
    {
      version: 1,
      description: 'no install code at rest: drop the plain-text outbox',
      up(store) {
        const outbox = store.db<unknown, string>('license.outbox');
        let removed = 0;
        for (const key of [...outbox.getKeys({})]) removed += outbox.removeSync(key) ? 1 : 0;
        if (removed > 0) report(`Removed ${removed} stored install-code mail(s) that held their codes in plain text; those codes still work, and POST /install-codes/reissue sends a new one to anyone who never got theirs.`);
      },
    },
  ];
}
