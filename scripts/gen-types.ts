// Regenerates sdk/runtime/generated/ (the runtime SDK's TypeScript types) from wit/ with jco.
//   node --import tsx scripts/gen-types.ts           write the files
//   node --import tsx scripts/gen-types.ts --check   exit 1 when the files on disk are stale
import { generatedTypesDir, generateGuestTypeFiles, readGeneratedTypeFiles, writeGuestTypes } from '../lib/build/generate-types.ts';

if (process.argv.includes('--check')) {
  const fresh = await generateGuestTypeFiles();
  const onDisk = readGeneratedTypeFiles();
  const stale = [...new Set([...fresh.keys(), ...onDisk.keys()])].filter((name) => fresh.get(name) !== onDisk.get(name));
  if (stale.length > 0) {
    process.stderr.write(`stale generated types (run scripts/gen-types.ts): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`generated types are up to date (${fresh.size} files)\n`);
  }
} else {
  const written = await writeGuestTypes();
  process.stdout.write(`wrote ${written.length} files to ${generatedTypesDir}\n`);
}
