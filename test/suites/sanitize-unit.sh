#!/bin/bash
# Builds test/unit/sanitize_test.c against src/sanitize.c with AddressSanitizer
# and UndefinedBehaviorSanitizer and runs it.  CODESIGHT_LONG=1 runs many more
# random inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=test/out/sanitize
mkdir -p "$OUT"

gcc -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -fsanitize=address,undefined \
  -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1 -Isrc \
  -o "$OUT/sanitize_test" test/unit/sanitize_test.c src/sanitize.c

ITER=20000
if [ "${CODESIGHT_LONG:-}" = 1 ]; then ITER=1000000; fi
"$OUT/sanitize_test" "$ITER"
