// Preloaded with `node --import` into a CLI process under test: counts the Worker threads the
// project's own code starts (not a library's helper thread) and prints the count on exit.
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';

let started = 0;
const Original = workerThreads.Worker;
workerThreads.Worker = class extends Original {
  constructor(...args) {
    super(...args);
    const caller = new Error().stack.split('\n')[2] ?? '';
    if (!caller.includes('node_modules')) started++;
  }
};
syncBuiltinESMExports();
process.on('exit', () => process.stderr.write(`\nworker threads started: ${started}\n`));
