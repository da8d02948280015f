#!/bin/bash
# The web page and the real Chrome extension together in one Chromium: the
# page records and starts/stops the extension, the worker shops on the
# fixture shop, the video goes to s3rver.  Builds the page; needs the worker
# built and installed (run.sh's build suite) and test/node_modules (node-deps).
set -euo pipefail
bash "$(dirname "$0")/../../scripts/build-extension.sh"
cd "$(dirname "$0")/../.."
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cd test
bash lib/node-test.sh e2e/together.test.js
