#!/bin/bash
# Installs every Debian package the build, the servers and the tests need.
# Idempotent and quick when everything is already there.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-client-15 libipc-run-perl
  libwebsockets-dev libuv1-dev libcurl4-openssl-dev libssl-dev
  clang libclang-rt-14-dev
  chromium
  nodejs npm
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  # nodejs/npm may come from elsewhere (e.g. a newer Node already on PATH).
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# The Debian postgresql package starts a cluster on 5432 that we do not use.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  $SUDO pg_ctlcluster 15 main stop 2>/dev/null || true
fi
