#!/bin/bash
# Regenerates docs/screenshots/*.png (`make screenshots`): builds and
# installs the extension, builds the web page, and runs the web page's
# end-to-end tests with CODESIGHT_SCREENSHOTS=1, which makes them save each
# screen they reach.  Other test runs never write there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/install-deps.sh
# The servers run as postgres and serve the page from the checkout; a
# checkout under a private home folder runs from a copy (as test/run.sh
# does), and the screenshots are copied back.
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -r "$ROOT/Makefile"; then
  COPY=/tmp/codesight-screenshots-checkout
  echo "postgres can not read $ROOT; taking the screenshots in a copy in $COPY"
  rm -rf "$COPY" && cp -a "$ROOT" "$COPY" && chmod 755 "$COPY"
  bash "$COPY/test/screenshots.sh"
  cp "$COPY"/docs/screenshots/*.png "$ROOT/docs/screenshots/"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
make -s
$SUDO make -s install
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cd test
npm ci --no-audit --no-fund --loglevel=error
CODESIGHT_SCREENSHOTS=1 node --test --test-concurrency=1 --test-reporter=spec \
  e2e/frontend.test.js e2e/frontend-review.test.js e2e/together.test.js
echo "screenshots written to docs/screenshots/"
