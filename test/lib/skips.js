'use strict';
// A node:test reporter that lists the tests that did not run (skipped, or
// left as todo) and, under CI, fails the run: `node --test` counts a
// skipped test as passed, so a test that quietly stopped running (a missing
// address, a missing build) would leave CI green.  Used beside the spec
// reporter by test/lib/node-test.sh.

const FILTERED = ['test name does not match pattern', "'only' option not set"];

function ciSet() {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

module.exports = async function* skips(source) {
  const notRun = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, todo } = event.data;
    // Left out by --test-name-pattern or --test-only: chosen, not quiet.
    if (FILTERED.includes(skip)) continue;
    if (skip !== undefined || todo !== undefined) {
      const why = skip !== undefined ? `skipped${typeof skip === 'string' ? `: ${skip}` : ''}` : 'todo';
      notRun.push(`${file ? `${file}: ` : ''}${name} (${why})`);
    }
  }
  if (notRun.length === 0) return;
  yield `\n${notRun.length} test(s) did not run:\n${notRun.map((l) => `  - ${l}`).join('\n')}\n`;
  if (ciSet()) {
    yield 'CI is set: a test that does not run fails the suite.\n';
    process.exitCode = 1;
  }
};
