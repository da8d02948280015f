#!/bin/bash
# `make stop`: stops what `make run` started.
cd "$(dirname "$0")/.."
RUN=$PWD/.run
if [ -f "$RUN/pgdata/postmaster.pid" ]; then
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$RUN/pgdata" -m fast -w stop
  else
    /usr/lib/postgresql/15/bin/pg_ctl -D "$RUN/pgdata" -m fast -w stop
  fi
fi
if [ -f "$RUN/s3.pid" ]; then
  kill "$(cat "$RUN/s3.pid")" 2>/dev/null
  rm -f "$RUN/s3.pid"
fi
exit 0
