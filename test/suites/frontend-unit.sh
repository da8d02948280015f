#!/bin/bash
# Frontend: install, unit and component tests (vitest), type check and build.
set -euo pipefail
cd "$(dirname "$0")/../../frontend"
npm ci --no-audit --no-fund --loglevel=error
npx vitest run
npm run build
