// Adds up the vitest JSON reports and the static checks into the plain closing line
// `N passed, N failed` that CI reads; a project that crashed without a report counts as a failure.
import { existsSync, readFileSync } from 'node:fs';

const [dir, checksPassed, checksFailed] = process.argv.slice(2);
let passed = Number(checksPassed);
let failed = Number(checksFailed);
let skipped = 0;
for (const project of ['unit', 'e2e', 'ui']) {
  const file = `${dir}/${project}.json`;
  const rc = existsSync(`${dir}/${project}.rc`) ? Number(readFileSync(`${dir}/${project}.rc`, 'utf8')) : 1;
  if (!existsSync(file)) {
    console.error(`vitest ${project}: no report (exit ${rc})`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // A suite that failed to load has no failed tests but fails the run.
  if (rc !== 0 && r.numFailedTests === 0) {
    console.error(`vitest ${project}: exit ${rc} with no failed test (a file failed to load?)`);
    failed += 1;
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
