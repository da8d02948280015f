#!/bin/bash
# Builds the libFuzzer targets and runs each for the given number of seconds
# (default 20; CODESIGHT_LONG=1 makes the default 600).  Fails if a target
# does not build, crashes, leaks, times out or violates an invariant.
#
#   bash fuzz/run.sh [seconds] [target...]
#
# New inputs go to fuzz/build/corpus/<target> (the committed seeds in
# fuzz/corpus/<target> are read, never written); crash reproducers go to
# fuzz/build/artifacts/.  A summary line per target reports execs, time,
# coverage and corpus size.
set -uo pipefail
cd "$(dirname "$0")"

SECS=${1:-}
if [ -z "$SECS" ]; then
  if [ "${CODESIGHT_LONG:-}" = 1 ]; then SECS=600; else SECS=20; fi
fi
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} = 0 ]; then TARGETS=(sanitize protocol); fi

if ! command -v clang >/dev/null; then
  echo "clang not found: the fuzz targets need clang with libFuzzer"; exit 1
fi
make -s all || { echo "fuzz build failed"; exit 1; }
mkdir -p build/artifacts build/logs

status=0
for t in "${TARGETS[@]}"; do
  bin=build/fuzz_$t
  [ -x "$bin" ] || { echo "no such target: $t"; status=1; continue; }
  case $t in
    protocol) maxlen=65536 ;;
    *) maxlen=4096 ;;
  esac
  mkdir -p "build/corpus/$t"
  log=build/logs/$t.log
  t0=$SECONDS
  "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
    -dict="dict/$t.dict" -artifact_prefix="build/artifacts/$t-" -print_final_stats=1 \
    "build/corpus/$t" "corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  units=$(ls "build/corpus/$t" | wc -l)
  echo "fuzz_$t: rc=$rc execs=${execs:-?} time=$((SECONDS - t0))s cov=${cov:-?} ft=${ft:-?} new_corpus_units=$units"
  if [ $rc != 0 ] || grep -q "ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error\|invariant violated" "$log"; then
    echo "fuzz_$t FAILED; log $PWD/$log:"
    grep -B2 -A30 "ERROR\|runtime error\|invariant violated" "$log" | head -60
    ls build/artifacts/ | grep "^$t-" | sed 's/^/  artifact: fuzz\/build\/artifacts\//'
    status=1
  fi
done
exit $status
