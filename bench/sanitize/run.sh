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

# Instructions per event of parse_message and sanitize_event, from a
# callgrind run of the harness with n iterations: it runs the mix n/10+1
# (warm-up) + n (parse) + n (both) times, sanitizing in the warm-up and in
# "both".  n=0 is one pass over the flows starting with empty memos, as a
# new worker sees them (strings still repeat between the events of a
# flow); n=20 is the steady state of a worker that has seen these pages.
callgrind_per_event() {
  local n=$1 what=$2
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$n.out" \
    "$OUT/bench_sanitize" -n "$n" "${FLOWS[@]}" >"$OUT/callgrind.$n.stdout" 2>"$OUT/callgrind.$n.log"
  events=$(grep -o '^mix: [0-9]*' "$OUT/callgrind.$n.stdout" | grep -o '[0-9]*$')
  callgrind_annotate --inclusive=yes "$OUT/callgrind.$n.out" 2>/dev/null |
    awk -v ev="$events" -v n="$n" -v what="$what" '
      function count(s) { gsub(",", "", s); return s + 0 }
      /proto_sanitize_event/ && !san { san = count($1) }
      /proto_parse_message/ && !par { par = count($1) }
      END {
        runs_s = int(n / 10) + 1 + n; runs_p = runs_s + n
        printf "callgrind, %s: parse %.0f instructions/event, sanitize %.0f instructions/event\n",
          what, par / (runs_p * ev), san / (runs_s * ev)
      }'
}
if command -v valgrind >/dev/null; then
  callgrind_per_event 0 "first pass (empty memos)"
  callgrind_per_event 20 "steady state"
fi
