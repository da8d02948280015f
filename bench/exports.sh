#!/usr/bin/env bash
# Times the exports of one generated 100,000-event session:
#   bash bench/exports.sh [OLD_REV] [EVENTS]
# training_data, export_playwright, export_dataset and session_data, each
# the best of 3 runs with its result sent to the client (psql writes it to
# /dev/null).  The installed extension is measured in database bench_new;
# the same functions as of git revision OLD_REV (default: the last commit
# with the PL/pgSQL action extraction) are loaded as a plain script into
# database bench_old of the same scratch cluster, so both run side by side
# on the same data.  Needs `make install` done; runs its own PostgreSQL as
# user postgres on a free port and removes it at the end.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
OLD_REV="${1:-81d5820}"
EVENTS="${2:-100000}"
RUNS=3

BINDIR="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

DIR="$(mktemp -d /tmp/codesight-bench-exports.XXXXXX)"
chmod 755 "$DIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
PORT=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  run_pg "$BINDIR/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

run_pg "$BINDIR/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
shared_buffers = 256MB
work_mem = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = 'codesight'
codesight.database = 'bench_new'
codesight.port = 0
EOF
run_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
PSQL=(run_pg psql -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" -U postgres)

"${PSQL[@]}" -d postgres -c 'CREATE DATABASE bench_new' -c 'CREATE DATABASE bench_old'
"${PSQL[@]}" -d bench_new -c 'SET client_min_messages = error' -c 'CREATE EXTENSION codesight'

# The old version: its sql/ext/*.sql run as a plain script (not an
# extension), C functions bound to the installed library.
OLD_SQL="$DIR/old.sql"
{
  echo 'SET client_min_messages = error; SET check_function_bodies = off;'
  echo 'CREATE SCHEMA codesight;'
  for f in $(git -C "$ROOT" ls-tree --name-only "$OLD_REV" sql/ext/ | sort); do
    git -C "$ROOT" show "$OLD_REV:$f" | grep -v '^\\echo' | grep -v '_extension_created();$' \
      | sed "s|'MODULE_PATHNAME'|'\$libdir/codesight'|g"
  done
} >"$OLD_SQL"
chmod 644 "$OLD_SQL"
"${PSQL[@]}" -d bench_old -f "$OLD_SQL" >/dev/null

# One session of $EVENTS events in blocks of 100: a typed navigation, a
# page load, a click into a search field and 50 keystrokes with the change
# on blur, a run of 20 scrolls to the bottom, 5 hovers (one revealing a
# menu), two selects, Enter with its submit and form navigation, 15 clicks
# on buttons and a double click.
GEN="
SET TimeZone = 'UTC';
INSERT INTO codesight.sessions (session_id, status, started_at)
VALUES ('bench', 'completed', '2026-03-01 00:00:00+00');
INSERT INTO codesight.uploads (session_id, kind, bucket, object_key, content_type, size_bytes,
                               status, recording_started_at)
VALUES ('bench', 'video', 'media', 'sessions/bench/screen.webm', 'video/webm', 1, 'complete',
        '2026-03-01 00:00:01+00');
INSERT INTO codesight.events (session_id, seq, type, client_ts, page_url, selector, payload)
SELECT 'bench', n, t, '2026-03-01 00:00:00+00'::timestamptz + n * interval '250 ms', url, sel,
       jsonb_build_object('type', t, 'timestamp', 1772323200000 + n * 250, 'data', CASE
         WHEN t = 'navigation' THEN jsonb_build_object('url', url, 'frameId', 0,
              'transitionType', CASE WHEN k = 0 THEN 'typed' ELSE 'form_submit' END)
         WHEN t = 'page' THEN jsonb_build_object('action', 'load', 'url', url, 'framePath', '[]'::jsonb)
         WHEN t IN ('input', 'change') THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb,
              'selector', sel, 'selectors', jsonb_build_object('placeholder', 'Search products', 'css', sel),
              'element', jsonb_build_object('tag', 'input', 'attributes', jsonb_build_object('type', 'search')),
              'value', left('running shoes for trail and road with <EMAIL> in it', least(k - 2, 50)),
              'masked', NULL, 'inputType', 'search')
         WHEN t = 'scroll' THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb,
              'scroll', jsonb_build_object('x', 0, 'y', (k - 54) * 100), 'direction', 'down',
              'viewport', jsonb_build_object('width', 1280, 'height', 700), 'documentHeight', 2500 + k)
         WHEN t = 'hover' THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb, 'selector', sel,
              'selectors', jsonb_build_object('text', 'Menu ' || k), 'element', jsonb_build_object('tag', 'span', 'text', 'Menu ' || k),
              'durationMs', 700, 'revealed', k = 74)
         WHEN t = 'select' THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb, 'selector', sel,
              'selectors', jsonb_build_object('label', 'Size', 'css', sel), 'element', jsonb_build_object('tag', 'select'),
              'value', 'S' || k, 'optionText', 'Size ' || k, 'selectedIndex', k - 78)
         WHEN t = 'keypress' THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb, 'selector', sel,
              'selectors', jsonb_build_object('placeholder', 'Search products'), 'key', 'Enter')
         WHEN t = 'submit' THEN jsonb_build_object('url', url, 'framePath', '[]'::jsonb, 'formSelector', 'form.search', 'fieldCount', 1)
         ELSE jsonb_build_object('url', url, 'framePath', '[]'::jsonb, 'selector', sel,
              'selectors', jsonb_build_object('testId', jsonb_build_object('attribute', 'data-testid', 'value', 'btn-' || k),
                                              'role', jsonb_build_object('role', 'button', 'name', 'Button \"' || k || '\"'),
                                              'css', sel),
              'element', jsonb_build_object('tag', 'button', 'role', 'button', 'name', 'Button ' || k, 'text', 'Button ' || k,
                                            'boundingBox', jsonb_build_object('x', 10 * k, 'y', 300, 'width', 120, 'height', 40)),
              'coordinates', CASE WHEN k % 2 = 0 THEN jsonb_build_object('x', 10 * k + 5, 'y', 310) END)
         END)
  FROM (SELECT n, k,
               CASE WHEN k = 0 THEN 'navigation' WHEN k = 1 THEN 'page' WHEN k = 2 THEN 'click'
                    WHEN k < 53 THEN 'input' WHEN k = 53 THEN 'change' WHEN k < 74 THEN 'scroll'
                    WHEN k < 79 THEN 'hover' WHEN k < 81 THEN 'select' WHEN k = 81 THEN 'keypress'
                    WHEN k = 82 THEN 'submit' WHEN k = 83 THEN 'navigation' WHEN k < 99 THEN 'click'
                    ELSE 'dblclick' END AS t,
               CASE WHEN k BETWEEN 2 AND 53 OR k IN (81, 82) THEN 'input[name=\"q\"]'
                    WHEN k IN (79, 80) THEN '#size' WHEN k BETWEEN 74 AND 78 THEN 'nav > span:nth-child(' || k || ')'
                    WHEN k >= 84 THEN '#b' || k END AS sel,
               CASE WHEN k < 83 THEN 'https://shop.test/search?page=' || (n / 100)
                    ELSE 'https://shop.test/results?page=' || (n / 100) END AS url
          FROM (SELECT n, (n - 1) % 100 AS k FROM generate_series(1, $EVENTS) n) g) s;
"
for db in bench_new bench_old; do
  "${PSQL[@]}" -d "$db" -c "$GEN" -c 'VACUUM ANALYZE codesight.events'
done

# Best of $RUNS wall-clock times in ms of one statement, output discarded.
best() {
  local db=$1 sql=$2
  for _ in $(seq "$RUNS"); do
    "${PSQL[@]}" -d "$db" -At -o /dev/null -c '\timing on' -c "$sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
  done | sort -n | head -1
}

declare -A SQL=(
  [training_data]="SELECT codesight.training_data('bench')"
  [export_playwright]="SELECT codesight.export_playwright('bench')"
  [export_dataset]="SELECT x FROM codesight.export_dataset(NULL, NULL) AS x"
  [session_data]="SELECT codesight.session_data('bench')"
)
echo "exports of one session of $EVENTS events (best of $RUNS, wall-clock ms; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-18s %12s %12s %8s\n' function "old $OLD_REV" installed speedup
for f in training_data export_playwright export_dataset session_data; do
  old=$(best bench_old "${SQL[$f]}")
  new=$(best bench_new "${SQL[$f]}")
  printf '%-18s %12.1f %12.1f %7.1fx\n' "$f" "$old" "$new" "$(echo "$old / $new" | bc -l)"
done

# The same output from both versions, or the benchmark compares nothing.
for f in training_data export_playwright export_dataset session_data; do
  a=$("${PSQL[@]}" -d bench_old -At -c "${SQL[$f]}" | md5sum)
  b=$("${PSQL[@]}" -d bench_new -At -c "${SQL[$f]}" | md5sum)
  [ "$a" = "$b" ] || echo "bench: $f differs between $OLD_REV and the installed version" >&2
done
