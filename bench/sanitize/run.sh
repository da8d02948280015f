#!/bin/bash
# The cost of masking on ingest (bench_sanitize.c): CPU time per event of
# parsing alone and of parsing + masking on the recorded flows of
# test/fixtures/sessions/, then instructions per event counted by
# callgrind (exact and independent of the machine's load; needs valgrind).
#
#   bash bench/sanitize/run.sh                 # the working tree's src/
#   SRC=/path/to/other/src bash bench/sanitize/run.sh   # e.g. a base commit's
#
# Built with -O2 as PGXS builds the extension.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${SRC:-src}
OUT=bench/out/sanitize
mkdir -p "$OUT"
FLOWS=(test/fixtures/sessions/flow-*.json)

gcc -std=c11 -D_DEFAULT_SOURCE -O2 -g -Wall -Wextra -I"$SRC" -o "$OUT/bench_sanitize" \
  bench/sanitize/bench_sanitize.c "$SRC/json.c" "$SRC/protocol.c" "$SRC/sanitize.c" -lm
"$OUT/bench_sanitize" -n "${ITERATIONS:-3000}" "${FLOWS[@]}"

if command -v valgrind >/dev/null; then
  n=20
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" \
    "$OUT/bench_sanitize" -n $n "${FLOWS[@]}" >"$OUT/callgrind.stdout" 2>"$OUT/callgrind.log"
  events=$(grep -o '^mix: [0-9]*' "$OUT/callgrind.stdout" | grep -o '[0-9]*$')
  # the harness runs the mix n/10+1 (warm-up) + n (parse) + n (both) times;
  # proto_sanitize_event runs in the warm-up and in "both"
  callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null |
    awk -v ev="$events" -v n=$n '
      function count(s) { gsub(",", "", s); return s + 0 }
      /proto_sanitize_event/ && !san { san = count($1) }
      /proto_parse_message/ && !par { par = count($1) }
      END {
        runs_s = int(n / 10) + 1 + n; runs_p = runs_s + n
        printf "callgrind: parse %.0f instructions/event, sanitize %.0f instructions/event\n",
          par / (runs_p * ev), san / (runs_s * ev)
      }'
fi
