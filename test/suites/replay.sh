#!/bin/bash
# Replay fidelity suite: exported Playwright scripts of recorded sessions
# (fixtures, and a live recording through the Chrome extension when it and
# the worker are installed) must replay to the recorded end state.
set -euo pipefail
cd "$(dirname "$0")/../replay"
# @playwright/test lives here only; it uses /usr/bin/chromium, never a
# downloaded browser.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
cd ..
bash lib/node-test.sh e2e/replay.test.js
