#!/bin/bash
# Builds test/unit/sigv4_test.c against src/sigv4.c with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs it.  CODESIGHT_LONG=1 runs many more
# random inputs; with clang available it also runs a short libFuzzer session.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=test/out/sigv4
mkdir -p "$OUT"

FLAGS=(-std=c11 -D_DEFAULT_SOURCE -g -O1 -Wall -Wextra -Werror -Isrc
       -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
gcc "${FLAGS[@]}" -o "$OUT/sigv4_test" test/unit/sigv4_test.c src/sigv4.c -lcrypto

ITER=20000
if [ "${CODESIGHT_LONG:-}" = 1 ]; then ITER=2000000; fi
"$OUT/sigv4_test" "$ITER"

if [ "${CODESIGHT_LONG:-}" = 1 ] && command -v clang >/dev/null; then
  clang -std=c11 -D_DEFAULT_SOURCE -g -O1 -Isrc -DSIGV4_LIBFUZZER \
    -fsanitize=fuzzer,address,undefined -o "$OUT/sigv4_fuzz" \
    test/unit/sigv4_test.c src/sigv4.c -lcrypto
  mkdir -p "$OUT/corpus"
  "$OUT/sigv4_fuzz" -max_total_time=60 "$OUT/corpus"
fi
