#!/bin/bash
# Installs every Debian package the build, the servers and the tests need.
# Idempotent and quick when everything is already there.
set -euo pipefail

# Tools the scripts and tests call: openssl (TLS test certificates), procps
# (kill), curl and ca-certificates (make run), util-linux (runuser),
# iproute2 (ip: a test address for clients "from another host",
# test/lib/outside-address.js).
PACKAGES=(
  build-essential pkg-config
  postgresql-15 postgresql-server-dev-15 postgresql-client-15
  libwebsockets-dev libuv1-dev libcurl4-openssl-dev libssl-dev
  clang libclang-rt-14-dev
  chromium
  openssl procps curl ca-certificates util-linux iproute2
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

# The web page's toolchain (Vite 8) needs Node.js 20 or later; Debian 12's
# own nodejs is 18, so say so plainly instead of failing deep in a build.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "Node.js 20 or later is needed (found $(node --version)); install it and rerun." >&2
  exit 1
fi
# Vite 8 does not install with npm 10, which machines of this kind keep
# when their upgrade to npm 11 at start failed: upgrade it from the npm
# registry, and say so plainly if that fails too.
if [ "$(npm --version | cut -d. -f1)" -lt 11 ]; then
  echo "upgrading npm $(npm --version) to 11"
  $SUDO npm install -g npm@11 --no-audit --no-fund --loglevel=error || true
  hash -r
  if [ "$(npm --version | cut -d. -f1)" -lt 11 ]; then
    echo "npm 11 or later is needed (found $(npm --version)); install it and rerun." >&2
    exit 1
  fi
fi

# The Debian postgresql package starts a cluster on 5432 that we do not use.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  $SUDO pg_ctlcluster 15 main stop 2>/dev/null || true
fi
