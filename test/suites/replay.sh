#!/bin/bash
# Replay fidelity suite (issue 14): the fixture corpus recorded through the
# Chrome extension and the worker, each click's locators checked with
# Playwright, every export replayed to its recorded end state, every stored
# byte searched for personal values (e2e/corpus.test.js); recorded roles and
# names against Playwright's getByRole on every fixture page
# (e2e/accessibility.test.js); the hand-described sessions of
# test/fixtures/sessions and a live shop recording (e2e/replay.test.js).
set -euo pipefail
bash "$(dirname "$0")/../../scripts/build-extension.sh"
cd "$(dirname "$0")/../replay"
# @playwright/test lives here only; it uses /usr/bin/chromium, never a
# downloaded browser.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
cd ..
node --test --test-concurrency=1 --test-reporter=spec e2e/accessibility.test.js e2e/corpus.test.js e2e/replay.test.js
