# Makefile for the codesight PostgreSQL extension (PGXS).
#
# The extension script is assembled from sql/ext/*.sql in name order so that
# each concern (schema, admin API, exports, S3) keeps its own file.

EXTENSION = codesight
EXTVERSION = 1.0

MODULE_big = codesight
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = $(EXTENSION)--$(EXTVERSION).sql

# Regression tests: every sql/*.sql file with a matching expected/*.out.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=./test/codesight.conf \
	--load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config

PG_CPPFLAGS = -Isrc $(shell pkg-config --cflags libwebsockets libuv libcurl openssl 2>/dev/null)
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK = -lwebsockets -luv -lcurl -lssl -lcrypto

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: rebuild every object when a header
# changes, or a changed struct layout links with stale objects.
$(OBJS): $(wildcard src/*.h)

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/ext/*.sql))
	cat $^ > $@

.PHONY: run stop test screenshots
# Sets up and starts everything locally: packages, build, PostgreSQL with the
# worker, a local S3 server and the web page.  See README.md.
run:
	bash scripts/run.sh

stop:
	bash scripts/stop.sh

# Runs every test: regression, integration, extension, frontend and e2e.
test:
	bash test/run.sh

# Regenerates docs/screenshots/*.png from the web page's end-to-end tests
# (test runs themselves never write them).  See README.md.
screenshots:
	bash test/screenshots.sh
