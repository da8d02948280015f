#!/bin/bash
# End-to-end tests of the Chrome extension: Chromium with the extension, the
# worker in a throwaway cluster, the fixture shop.
set -euo pipefail
bash "$(dirname "$0")/../../scripts/build-extension.sh"
cd "$(dirname "$0")/.."
bash lib/node-test.sh e2e/extension*.test.js
