#!/usr/bin/env bash
# Runs the codesight benchmarks: bash bench/run.sh [--quick] [--full]
# Prints a table and writes bench/out/results.json and bench/out/results.md.
# Needs: make install done for the extension, libwebsockets-dev, node, npm
# (for the reference server's npm ci), test/node_modules (cd test && npm ci).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# 10,000 connections need 10,000+ descriptors in the load generator and in
# the worker; the postmaster (and so the worker) inherits this shell's limit.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 12000 ]; then
  echo "bench: open-file limit $(ulimit -n) is too low for 10,000 connections" >&2
fi

# CODESIGHT_BUILD=/abs/dir: benchmark a scratch build of the extension (a
# prototype of a change, or a fixed commit) without installing it: its
# codesight.so and codesight--1.0.sql are bind-mounted over the installed
# ones in a private mount namespace that only this run (and the cluster it
# starts) sees.  CODESIGHT_LIB=/abs/codesight.so mounts the library alone.
LIBDIR="$(pg_config --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)"
SHAREDIR="$(pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/15)"
if [ -n "${CODESIGHT_BUILD:-}" ] && [ -z "${CODESIGHT_LIB:-}" ]; then
  export CODESIGHT_LIB="$CODESIGHT_BUILD/codesight.so"
fi
if [ -n "${CODESIGHT_LIB:-}" ] && [ -z "${BENCH_IN_NS:-}" ]; then
  SQLFILE=""
  if [ -n "${CODESIGHT_BUILD:-}" ] && [ -f "$CODESIGHT_BUILD/codesight--1.0.sql" ]; then
    SQLFILE="$CODESIGHT_BUILD/codesight--1.0.sql"
  fi
  exec env BENCH_IN_NS=1 unshare -m --propagation private \
    bash -c 'mount --bind "$0" "$1/codesight.so" && { [ -z "$2" ] || mount --bind "$2" "$3/extension/codesight--1.0.sql"; } && exec bash "$4" "${@:5}"' \
    "$CODESIGHT_LIB" "$LIBDIR" "$SQLFILE" "$SHAREDIR" "${BASH_SOURCE[0]}" "$@"
fi

make -s -C "$HERE/loadgen"
if [ ! -d "$HERE/node-reference/node_modules" ]; then
  (cd "$HERE/node-reference" && npm ci --no-audit --no-fund --silent)
fi
if [ ! -d "$HERE/../test/node_modules" ]; then
  (cd "$HERE/../test" && npm ci --no-audit --no-fund --silent)
fi
# A private temporary folder for the throwaway cluster (readable by postgres).
export TMPDIR="$(mktemp -d /tmp/codesight-bench.XXXXXX)"
chmod 755 "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
node "$HERE/run.js" "$@"
