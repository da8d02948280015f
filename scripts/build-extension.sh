#!/bin/bash
# Builds the Chrome extension's content script (extension-chrome/dist/,
# bundled by esbuild), which loading extension-chrome/ unpacked needs:
# `make run` and the test suites that drive the extension call this.
set -euo pipefail
cd "$(dirname "$0")/../extension-chrome"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build
