// Counts one vitest JSON report for .ci/run: prints `PASSED FAILED SKIPPED` on stdout and what went wrong
// on stderr; exits 1 when the run failed (a failing test, a file that failed outside a test, a non-zero
// vitest exit code) or ran no test.
//   node .ci/vitest-counts.mjs REPORT VITEST_EXIT_CODE
import console from 'node:console';
import { existsSync, readFileSync } from 'node:fs';
import process from 'node:process';
const [, , reportPath, rcText] = process.argv;
const rc = Number(rcText);
if (!existsSync(reportPath)) {
  console.error(`ci: no vitest report at ${reportPath} (vitest exit code ${rc}${rc === 124 ? ': timed out' : ''})`);
  console.log('0 0 0');
  process.exit(1);
}
const r = JSON.parse(readFileSync(reportPath, 'utf8'));
const passed = r.numPassedTests ?? 0;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// Tests that failed, plus every test file that failed without a failing test (an import error or a
// failing hook), which vitest does not count as a test.
const brokenFiles = (r.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'),
);
for (const f of brokenFiles) {
  console.error(`ci: ${f.name} failed outside a test: ${(f.message ?? '').split('\n')[0]}`);
}
const failed = (r.numFailedTests ?? 0) + brokenFiles.length;
if (rc !== 0 && failed === 0) console.error(`ci: vitest exited with code ${rc} (unhandled errors or a timeout)`);
if (passed + failed === 0) console.error('ci: no test ran');
console.log(`${passed} ${failed} ${skipped}`);
process.exit(rc !== 0 || failed > 0 || passed + failed === 0 ? 1 : 0);
