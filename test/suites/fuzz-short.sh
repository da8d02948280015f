#!/bin/bash
# Runs the libFuzzer targets in fuzz/ briefly (20 s each, under 2 minutes in
# all with the build); CODESIGHT_LONG=1 runs each for 10 minutes.  Fails on
# any crash, sanitizer report or invariant violation (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${CODESIGHT_LONG:-}" = 1 ]; then
  exec bash fuzz/run.sh 600
fi
exec bash fuzz/run.sh 20
