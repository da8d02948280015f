#!/bin/bash
# Replay fidelity suite (issue 14): the fixture corpus recorded through the
# Chrome extension and the worker, each click's locators checked with
# Playwright, every export replayed to its recorded end state, every stored
# byte searched for personal values (e2e/corpus.test.js); recorded roles and
# names against Playwright's getByRole on every fixture page
# (e2e/accessibility.test.js); the hand-described sessions of
# test/fixtures/sessions and a live shop recording (e2e/replay.test.js).
# About 2.5 minutes; CODESIGHT_LONG=1 runs the corpus three times.
set -euo pipefail
bash "$(dirname "$0")/../../scripts/build-extension.sh"
cd "$(dirname "$0")/../replay"
# @playwright/test lives here only; it uses /usr/bin/chromium, never a
# downloaded browser.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
cd ..
bash lib/node-test.sh e2e/accessibility.test.js e2e/corpus.test.js e2e/replay.test.js
# The long variant records and replays the corpus twice more: a flow that
# passes only sometimes shows up.
if [ "${CODESIGHT_LONG:-}" = 1 ]; then
  for run in 2 3; do
    echo "# corpus, run $run"
    bash lib/node-test.sh e2e/corpus.test.js
  done
fi
