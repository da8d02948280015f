'use strict';
// Reads a vitest JSON report (--reporter=json --outputFile.json=FILE),
// lists the tests that did not run (skipped or todo) and, under CI, exits 1
// for them: the counterpart of lib/skips.js for the vitest suites.
//   node test/lib/vitest-skips.js FILE

const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2];
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const notRun = [];
for (const suite of report.testResults || []) {
  for (const t of suite.assertionResults || []) {
    if (t.status !== 'passed' && t.status !== 'failed') {
      notRun.push(`${path.relative(process.cwd(), suite.name)}: ${t.fullName} (${t.status})`);
    }
  }
}
const ci = !['', '0', 'false', undefined].includes(process.env.CI);
if (notRun.length) {
  console.error(`${notRun.length} test(s) did not run:\n${notRun.map((l) => `  - ${l}`).join('\n')}`);
  if (ci) {
    console.error('CI is set: a test that does not run fails the suite.');
    process.exit(1);
  }
}
