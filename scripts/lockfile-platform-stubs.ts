/**
 * `npm ci` needs a lockfile entry for every optional dependency, including the native bindings of
 * other platforms. The registry this project installs from lacks some of those versions, so
 * `npm install` leaves them out and `npm ci` then refuses the lockfile. This adds an entry naming
 * the version and its platform (never installed here: os/cpu/libc do not match), for each
 * exactly-pinned optional dependency the lockfile is missing. Run it after `npm install`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, LockEntry> };
const packages = lock.packages;

function resolveFrom(location: string, name: string): string | undefined {
  let base = location;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (candidate in packages) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent >= 0 ? base.slice(0, parent) : '';
  }
}

function platformOf(name: string): Pick<LockEntry, 'os' | 'cpu' | 'libc'> {
  const tokens = name.split('/').pop()!.split('-');
  const os = tokens.find((token) => ['android', 'darwin', 'freebsd', 'linux', 'win32', 'openharmony'].includes(token));
  const cpuToken = tokens.find((token) => ['arm64', 'x64', 'arm', 'ppc64', 's390x', 'ia32', 'riscv64', 'wasm32', 'wasi'].includes(token));
  const cpu = cpuToken === 'wasi' ? 'wasm32' : cpuToken;
  const libc = tokens.includes('musl') ? 'musl' : os === 'linux' && tokens.some((token) => token.startsWith('gnu')) ? 'glibc' : undefined;
  return { ...(os && cpu !== 'wasm32' ? { os: [os] } : {}), ...(cpu ? { cpu: [cpu] } : {}), ...(libc ? { libc: [libc] } : {}) };
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    if (!/^\d+\.\d+\.\d+$/.test(spec)) continue;
    const found = resolveFrom(location, name);
    if (found && packages[found].version === spec) continue;
    const target = found && location ? `${location}/node_modules/${name}` : `node_modules/${name}`;
    if (target in packages) continue;
    packages[target] = { version: spec, ...(entry.dev ? { dev: true } : {}), optional: true, ...platformOf(name) };
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`added ${added} platform entries to package-lock.json\n`);
