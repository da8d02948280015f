#!/usr/bin/env bash
# Side by side in one run: the same benchmark sections against two builds,
# alternating A B A B, then one table of the isolation figures.
#
#   bash bench/ab.sh A_DIR B_DIR [--only isolation] [--quick]
#
# A_DIR and B_DIR hold a build (codesight.so and codesight--1.0.sql, as
# `make` leaves them in a checkout of another commit); "installed" stands
# for the installed build.  Results: bench/out/ab-{A,B}{1,2}.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
A=$1; B=$2; shift 2
ARGS=("$@")
[ ${#ARGS[@]} -gt 0 ] || ARGS=(--only isolation)
run() {
  local build=$1 out=$2
  if [ "$build" = installed ]; then
    bash "$HERE/run.sh" "${ARGS[@]}" --out "$out"
  else
    CODESIGHT_BUILD="$build" bash "$HERE/run.sh" "${ARGS[@]}" --out "$out"
  fi
}
for rep in 1 2; do
  run "$A" "ab-A$rep"
  run "$B" "ab-B$rep"
done
node "$HERE/run.js" --report-ab "$HERE"/out/ab-A1.json "$HERE"/out/ab-B1.json "$HERE"/out/ab-A2.json "$HERE"/out/ab-B2.json
