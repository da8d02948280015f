#!/bin/bash
# The test command (README: `make test`).  Builds and installs the extension,
# then runs every suite; the exit status is non-zero if any suite failed.
#
#   CODESIGHT_LONG=1 make test   runs the long sizes and the soak (30 min;
#                                CODESIGHT_SOAK_MINUTES=N for another length)
# Under CI (set by .ci/run) a test that does not run fails its suite.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/test/out
mkdir -p "$OUT"

bash scripts/install-deps.sh || exit 1

# The servers run as postgres and read the build and the web page from the
# checkout; a checkout under a private home folder is copied where they can.
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -r "$ROOT/Makefile"; then
  COPY=/tmp/codesight-test-checkout
  echo "postgres can not read $ROOT; running the tests from a copy in $COPY"
  rm -rf "$COPY" && cp -a "$ROOT" "$COPY" && chmod 755 "$COPY"
  exec bash "$COPY/test/run.sh" "$@"
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

passed=0; failed=0; failed_names=()

# Each suite's time limit, in seconds: several times what it takes on a
# quiet CI machine, so that a hang fails its suite within minutes instead
# of eating CI's 90.  With CODESIGHT_LONG=1 the long suites get longer.
SOAK_MINUTES=${CODESIGHT_SOAK_MINUTES:-30}
limit_of() {
  local long=${CODESIGHT_LONG:-}
  case $1 in
    build|regress|node-deps) echo 600 ;;
    sanitize-unit|sigv4-unit) if [ "$long" = 1 ]; then echo 1800; else echo 300; fi ;;
    fuzz-short) if [ "$long" = 1 ]; then echo 2400; else echo 600; fi ;;
    integration) if [ "$long" = 1 ]; then echo 3600; else echo 1200; fi ;;
    soak) echo $(((SOAK_MINUTES + 15) * 60)) ;;
    *) echo 1200 ;;
  esac
}

# Runs one suite (a command, or a function of this script) under its time
# limit and records its outcome; returns the suite's status.  At the limit
# timeout sends TERM to the suite's whole process group, KILL 30 s later.
SUITE_PID=
suite() {
  local name=$1; shift
  local limit rc=0 t0=$SECONDS
  limit=$(limit_of "$name")
  echo
  echo "=== suite: $name (limit $((limit / 60)) min)"
  timeout --kill-after=30 "$limit" bash -c '"$@"' suite "$@" &
  SUITE_PID=$!
  wait "$SUITE_PID" || rc=$?
  SUITE_PID=
  if [ $rc = 0 ]; then
    passed=$((passed + 1)); echo "=== suite $name: ok ($((SECONDS - t0)) s)"
  else
    if [ $rc = 124 ] || [ $rc = 137 ]; then echo "=== suite $name: timed out after $limit s"; fi
    failed=$((failed + 1)); failed_names+=("$name"); echo "=== suite $name: FAILED ($((SECONDS - t0)) s)"
  fi
  return $rc
}

# timeout gives the suite a process group of its own, which a Ctrl-C or a
# cancelled CI job no longer reaches: pass the stop on.
trap 'if [ -n "$SUITE_PID" ]; then kill -TERM "$SUITE_PID" 2>/dev/null; wait "$SUITE_PID"; fi; exit 130' INT TERM

build() {
  make -s clean >/dev/null 2>&1
  make -s COPT=-Werror 2>&1 | tee "$OUT/build.log" && [ "${PIPESTATUS[0]}" = 0 ] || return 1
  if grep -q "warning:" "$OUT/build.log"; then echo "build has warnings"; return 1; fi
  $SUDO make -s install
}

# pg_regress starts its own temporary instance; initdb refuses root, so it
# runs as postgres in a folder postgres owns.
regress() {
  local dir=$OUT/regress
  rm -rf "$dir"; mkdir -p "$dir"
  mkdir -p "$dir/test"
  cp -r Makefile codesight.control sql expected src "$dir/"
  cp test/codesight.conf "$dir/test/"
  cp codesight--*.sql "$dir/"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres:postgres "$dir"
    runuser -u postgres -- make -s -C "$dir" installcheck NO_INSTALL=1
  else
    make -s -C "$dir" installcheck
  fi
  local rc=$?
  [ $rc = 0 ] || cat "$dir/regression.diffs" 2>/dev/null | head -200
  return $rc
}

node_deps() {
  (cd test && npm ci --no-audit --no-fund --loglevel=error)
}

integration() {
  bash test/lib/node-test.sh integration/
}

# The long run (docs/reliability.md), with CODESIGHT_LONG=1 only.
soak() {
  (cd test && node soak/soak.js --minutes "$SOAK_MINUTES")
}

# The suites run in suite()'s own shell, as functions of this script.
export -f build regress node_deps integration soak
export OUT SUDO SOAK_MINUTES

# Every later suite tests the installed library: after a failed build that
# would be the previous one, so nothing runs.
if ! suite build build; then
  echo "the build failed: no suite runs against a previously installed library"
  echo "suites: 0 passed, 1 failed"
  exit 1
fi
suite regress regress
suite node-deps node_deps
suite extension-build bash scripts/build-extension.sh
suite integration integration

for extra in test/suites/*.sh; do
  [ -e "$extra" ] || continue
  suite "$(basename "$extra" .sh)" bash "$extra"
done

if [ "${CODESIGHT_LONG:-}" = 1 ]; then
  suite soak soak
fi

echo
if [ $failed -gt 0 ]; then echo "failed suites: ${failed_names[*]}"; fi
echo "suites: $passed passed, $failed failed"
[ $failed = 0 ]
