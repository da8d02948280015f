#!/bin/bash
# `make run`: installs packages, builds and installs the extension, builds the
# web page, and starts a local PostgreSQL with the codesight worker plus a
# local S3 server.  Everything lives under .run/ (git-ignored).  Re-running it
# restarts what is running.  `make stop` stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=$ROOT/.run
PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=${CODESIGHT_PG_PORT:-54329}
WS_PORT=${CODESIGHT_PORT:-8787}
S3_PORT=${CODESIGHT_S3_PORT:-4569}
BUCKET=codesight

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

echo "==> packages"
bash scripts/install-deps.sh

echo "==> build and install the extension"
make -s
$SUDO make -s install

echo "==> node packages (test tools, local S3)"
(cd test && npm ci --no-audit --no-fund --loglevel=error)

echo "==> Chrome extension (bundles its content script)"
bash scripts/build-extension.sh

mkdir -p "$RUN"
if [ -f frontend/package.json ]; then
  echo "==> web page"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)
  rm -rf "$RUN/www" && cp -r frontend/dist "$RUN/www"
fi

bash scripts/stop.sh >/dev/null 2>&1 || true

echo "==> local S3 on 127.0.0.1:$S3_PORT"
mkdir -p "$RUN/s3"
nohup node scripts/s3-local.js "$RUN/s3" "$S3_PORT" "$BUCKET" > "$RUN/s3.log" 2>&1 &
echo $! > "$RUN/s3.pid"

echo "==> PostgreSQL on port $PG_PORT with the codesight worker on $WS_PORT"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN"
if [ ! -f "$RUN/pgdata/PG_VERSION" ]; then
  as_postgres "$PG_BIN/initdb" -D "$RUN/pgdata" -A trust -U postgres -E UTF8 --locale=C >/dev/null
  cat >> "$RUN/pgdata/postgresql.conf" <<CONF

# codesight (make run)
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$RUN'
shared_preload_libraries = 'codesight'
codesight.listen_address = '127.0.0.1'
codesight.port = $WS_PORT
codesight.database = 'postgres'
codesight.static_dir = '$RUN/www'
codesight.s3_endpoint = 'http://127.0.0.1:$S3_PORT'
codesight.s3_url_style = 'path'
codesight.s3_bucket = '$BUCKET'
codesight.s3_region = 'us-east-1'
codesight.s3_access_key_id = 'S3RVER'
codesight.s3_secret_access_key = 'S3RVER'
CONF
fi
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$RUN/pgdata" "$RUN/www" 2>/dev/null || true
as_postgres "$PG_BIN/pg_ctl" -D "$RUN/pgdata" -l "$RUN/postgres.log" -w start >/dev/null
PSQL=(psql -X -q -h "$RUN" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
"${PSQL[@]}" -c "CREATE EXTENSION IF NOT EXISTS codesight"

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$WS_PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$WS_PORT/health" >/dev/null

if [ ! -s "$RUN/admin-token" ]; then
  "${PSQL[@]}" -At -c "SELECT codesight.issue_admin_token('make run')->>'token'" > "$RUN/admin-token"
fi

cat <<MSG

CodeSight is running.
  Web page:        http://127.0.0.1:$WS_PORT/
  Extension URL:   ws://127.0.0.1:$WS_PORT/extension-ws   (load extension-chrome/ unpacked)
  Admin token:     $(cat "$RUN/admin-token")
  SQL:             psql -h $RUN -p $PG_PORT -U postgres
  Local S3:        http://127.0.0.1:$S3_PORT  bucket $BUCKET (S3RVER / S3RVER)
  Logs:            $RUN/postgres.log, $RUN/s3.log
Stop with: make stop
MSG
