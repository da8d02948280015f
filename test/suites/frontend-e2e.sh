#!/bin/bash
# Frontend end to end: builds the page, then drives it in Chromium against the
# real worker (serving frontend/dist) and s3rver.  Needs the extension built
# and installed (run.sh's build suite) and test/node_modules (node-deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cd test
bash lib/node-test.sh e2e/frontend*.test.js
