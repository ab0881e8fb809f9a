/**
 * What an operator command says when its data folder held no host yet: it makes one there (so a
 * host can be prepared before its first start), but a mistyped --data would otherwise go unnoticed.
 */
export function noteFreshDataFolder(dataDir: string): void {
  process.stderr.write(`Note: ${dataDir} held no host data, so a new data folder was set up there. A host started on another folder will not see this; pass the --data (or ALGA_DATA_DIR) that host uses.\n`);
}
