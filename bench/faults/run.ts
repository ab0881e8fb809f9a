// The fault harness: inflicts each fault on a real host (`alga-host start`, its runner child,
// loopback only, bounded in time and load) and checks what must hold afterwards. Not part of
// `npm test`. Run: npm run faults [-- scenario ...]   (no names: all of them)
import { diskFull } from './disk-full.ts';
import { hostKill } from './host-kill.ts';
import { redisLoss } from './redis-loss.ts';
import { runnerKill } from './runner-kill.ts';
import type { Scenario } from './scenario.ts';
import { slowClients } from './slow-clients.ts';

const scenarios: Scenario[] = [runnerKill, hostKill, diskFull, redisLoss, slowClients];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !scenarios.some((scenario) => scenario.name === name));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; choose from ${scenarios.map((scenario) => scenario.name).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const scenario of scenarios.filter((candidate) => wanted.length === 0 || wanted.includes(candidate.name))) {
  console.log(`\n== ${scenario.name}: ${scenario.summary}`);
  const reason = scenario.unavailable?.();
  if (reason) {
    console.log(`   SKIPPED (${reason})`);
    continue;
  }
  const started = performance.now();
  try {
    const checks = await scenario.run((line) => console.log(`   ${line}`));
    for (const result of checks) {
      if (!result.ok) failed++;
      console.log(`   ${result.ok ? 'PASS' : 'FAIL'}  ${result.what}${result.detail ? ` — ${result.detail}` : ''}`);
    }
  } catch (error) {
    failed++;
    console.log(`   FAIL  the scenario itself failed: ${(error as Error).stack ?? error}`);
  }
  console.log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(failed === 0 ? '\nall fault checks passed' : `\n${failed} fault check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
