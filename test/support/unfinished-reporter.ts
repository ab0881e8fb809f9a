import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Names the test files that never finished. When a test process dies (a native crash, a signal),
 * vitest says only "Worker exited unexpectedly", and the file is missing from the counts without a
 * name; this prints it, with the tests that had not reported, at the end of the run.
 */
export default class UnfinishedReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const unfinished = testModules.filter((module) => !['passed', 'failed', 'skipped'].includes(module.state()));
    for (const module of unfinished) {
      const pending = [...module.children.allTests()].filter((test) => test.result().state === 'pending').map((test) => test.fullName);
      process.stderr.write(`did not finish: ${relative(process.cwd(), module.moduleId)} (state ${module.state()}${pending.length ? `; not reported: ${pending.join(' | ')}` : ''})\n`);
    }
  }
}
