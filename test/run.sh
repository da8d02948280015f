#!/bin/bash
# The test command (README: `make test`).  Builds and installs the extension,
# then runs every suite; the exit status is non-zero if any suite failed.
#
#   CODESIGHT_LONG=1 make test   also runs the long suites (soak, long fuzz)
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
# Runs one suite, records its outcome.
suite() {
  local name=$1; shift
  echo
  echo "=== suite: $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "=== suite $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "=== suite $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

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
  (cd test && node --test --test-concurrency=1 --test-reporter=spec integration/)
}

suite build build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
suite regress regress
suite node-deps node_deps
suite extension-build bash scripts/build-extension.sh
suite integration integration

for extra in test/suites/*.sh; do
  [ -e "$extra" ] || continue
  suite "$(basename "$extra" .sh)" bash "$extra"
done

echo
if [ $failed -gt 0 ]; then echo "failed suites: ${failed_names[*]}"; fi
echo "suites: $passed passed, $failed failed"
[ $failed = 0 ]
