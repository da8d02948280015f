#!/bin/bash
# Builds test/unit/sanitize_test.c against src/sanitize.c with AddressSanitizer
# and UndefinedBehaviorSanitizer and runs it, then again with allocation
# failures injected.  CODESIGHT_LONG=1 runs many more
# random inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=test/out/sanitize
mkdir -p "$OUT"

FLAGS=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -fsanitize=address,undefined
       -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1 -Isrc)
gcc "${FLAGS[@]}" -o "$OUT/sanitize_test" test/unit/sanitize_test.c src/sanitize.c
# The same tests with the module compiled in and allocation failures injected.
gcc "${FLAGS[@]}" -DSAN_OOM_TEST -o "$OUT/sanitize_oom_test" test/unit/sanitize_test.c

ITER=20000
if [ "${CODESIGHT_LONG:-}" = 1 ]; then ITER=1000000; fi
"$OUT/sanitize_test" "$ITER"
"$OUT/sanitize_oom_test" 2000
