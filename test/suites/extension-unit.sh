#!/bin/bash
# Unit tests of the Chrome extension (extension-chrome/): vitest with jsdom.
set -euo pipefail
cd "$(dirname "$0")/../../extension-chrome"
npm ci --no-audit --no-fund --loglevel=error
npx vitest run
