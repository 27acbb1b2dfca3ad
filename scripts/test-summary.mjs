// Prints the closing "N passed, N failed" line from vitest's JSON report. When the test command failed before vitest
// ran (lint, format or typecheck), that failure is counted as one failed check.
import { existsSync, readFileSync } from 'node:fs';

const [, , reportPath, statusArg] = process.argv;
const status = Number(statusArg ?? 1);
let passed = 0;
let failed = 0;
if (reportPath && existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that failed to load has no failed test of its own: count it, so a red run never reads as all passed.
  const brokenFiles = (report.testResults ?? []).filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).every((a) => a.status !== 'failed'),
  ).length;
  failed += brokenFiles;
  if (status !== 0 && failed === 0) failed = 1;
} else if (status !== 0) {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
