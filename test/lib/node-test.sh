#!/bin/bash
# Runs node's test runner as every suite does: from test/, one file at a
# time, the spec reporter on stdout, and lib/skips.js on stderr, which lists
# the tests that did not run and, under CI, fails the run for them.
#   bash lib/node-test.sh integration/ e2e/replay.test.js ...
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./lib/skips.js --test-reporter-destination=stderr \
  "$@"
