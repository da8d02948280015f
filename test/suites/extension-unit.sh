#!/bin/bash
# Unit tests of the Chrome extension (extension-chrome/): vitest with jsdom.
set -euo pipefail
cd "$(dirname "$0")/../../extension-chrome"
npm ci --no-audit --no-fund --loglevel=error
# The JSON report lists skipped tests: under CI they fail the suite.
mkdir -p ../test/out
npx vitest run --reporter=default --reporter=json --outputFile.json=../test/out/extension-unit.json
node ../test/lib/vitest-skips.js ../test/out/extension-unit.json
