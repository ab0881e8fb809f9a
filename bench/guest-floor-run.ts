// Runs bench/guest-floor.ts in a child process and reads the hello guest call's own CPU from it,
// for benchmarks that compare a path's cost with the guest call measured in the same run.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** The examples/hello guest call alone (fastest round of bench/guest-floor.ts), µs of its thread's CPU. */
export async function guestCallCpuMicros(): Promise<number> {
  const output = await new Promise<string>((resolve, reject) => {
    const floor = spawn(process.execPath, ['--import', 'tsx', 'bench/guest-floor.ts'], { cwd: repoRoot, env: { ...process.env, BENCH_CALLS: '3000' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    floor.stdout!.on('data', (chunk) => (text += chunk));
    floor.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`guest-floor exited with ${code}`))));
  });
  const line = output.split('\n').find((candidate) => candidate.startsWith('examples/hello'));
  const micros = line?.match(/([\d.]+) µs CPU\/call/)?.[1];
  if (!micros) throw new Error(`no examples/hello figure in the guest-floor output:\n${output}`);
  return Number(micros);
}
