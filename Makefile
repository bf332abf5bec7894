# vouch: a Lua 5.4 host for partnership-vetting rules.
#
#   make            build ./vouch
#   make deps       install the Debian packages the build and tests need
#   make demo       install what is missing, build, vet the example partners
#   make test       install what is missing, build, run every test
#   make test SANITIZE=1   the same under ASan + UBSan (leak checking on)
#   make test VALGRIND=1   the same under valgrind memcheck
#   make bench      benchmarks;  make fuzz  fuzzers (clang);  make soak  the long REPL soak
#   make install PREFIX=/usr/local (DESTDIR too): vouch and its manual page, vouch.1

PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := lua5.4 libuv sqlite3 libcurl jansson libedit libxxhash minizip expat xlsxwriter libh2o openssl libpq
# Headers only: these are loaded on first use (host/dl.h), not linked.
LAZY    := libcurl minizip expat xlsxwriter libh2o openssl libpq
# Debian packages: the -dev packages behind PKGS and the tools the tests use.
DEBS    := build-essential pkg-config liblua5.4-dev libuv1-dev libsqlite3-dev \
           libcurl4-openssl-dev libjansson-dev libedit-dev \
           libcmocka-dev libxxhash-dev libminizip-dev libexpat1-dev \
           libxlsxwriter-dev libh2o-dev libssl-dev libpq-dev sqlite3 python3 tmux tzdata \
           clang libclang-rt-14-dev lua5.4 chromium fonts-thai-tlwg postgresql
BUILD   := build
ifeq ($(SANITIZE),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(SANFLAGS)
LDFLAGS += $(SANFLAGS)

# Missing -dev packages are named with the exact line that installs them.
HAVE_PKGS := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
ifeq ($(HAVE_PKGS),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(filter-out $(LAZY),$(PKGS))) -lm -ldl
endif

SRCS    := $(sort $(wildcard host/*.c))
OBJS    := $(SRCS:host/%.c=$(BUILD)/%.o) $(BUILD)/stdlib.o
LUAMODS := $(sort $(shell find stdlib -name '*.lua' ! -path 'stdlib/types/*'))
# The bundled scorecards ship inside the binary too: scripts/x.lua is
# vouch.scripts.x, found wherever vouch runs or is installed.
LUAMODS += $(sort $(filter-out %_test.lua,$(wildcard scripts/*.lua)))

all: vouch$(if $(filter 1,$(SANITIZE)),-san)

check-deps:
ifneq ($(HAVE_PKGS),yes)
	@echo "vouch: missing build dependencies; install them with:" >&2
	@echo "  apt-get install -y $(DEBS)" >&2
	@echo "(or run 'make deps')" >&2
	@exit 1
endif

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# check-deps only stops a build that cannot go on: it never makes vouch out of date
vouch vouch-san: $(OBJS) | check-deps
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS) -lpthread

$(BUILD)/%.o: host/%.c host/*.h | $(BUILD)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Ihost -c -o $@ $<

# stdlib/ is compiled into the binary: stdlib/a/b.lua becomes module vouch.a.b.
$(BUILD)/stdlib.c: $(LUAMODS) host/embed.sh | $(BUILD)
	sh host/embed.sh $(LUAMODS) > $@

$(BUILD)/stdlib.o: $(BUILD)/stdlib.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD):
	mkdir -p $@

demo: deps
	$(MAKE) vouch
	sh examples/demo.sh

test: deps
	$(MAKE) vouch$(if $(filter 1,$(SANITIZE)),-san)
	$(MAKE) -s test-c
	VOUCH=./vouch$(if $(filter 1,$(SANITIZE)),-san) BUILD=$(BUILD) VALGRIND=$(VALGRIND) \
	  SANITIZE_SKIP="$(if $(filter 1,$(SANITIZE)),$(SANITIZE_SKIP))" sh tests/run.sh

# Under the sanitizers, the tests run again on a PostgreSQL server are left
# to the plain run (tests/run.sh says why).
SANITIZE_SKIP := pg_schedule.sh pg_schedule_lua.sh pg_daemon.sh pg_trust_schedule.sh pg_failover.sh \
  pg_report.sh pg_scorecard.sh pg_own_dimensions.sh pg_formats.sh pg_listing.sh pg_xlsx.sh pg_monitor.sh pg_retention.sh pg_serve.sh pg_trust_db.sh \
  pg_vet_scale.sh pg_errors.sh pg_scorecard_errors.sh pg_sources.sh pg_loading.sh pg_db.sh pg_kill.sh pg_soak.sh pg_concurrency.sh pg_db_lua.sh

# C unit tests: tests/c/test-*.c, cmocka, linked with the host minus main.
TEST_SRCS := $(wildcard tests/c/test-*.c)
TEST_BINS := $(TEST_SRCS:tests/c/%.c=$(BUILD)/tests/%)
test-c: $(TEST_BINS)
$(BUILD)/tests/%: tests/c/%.c $(filter-out $(BUILD)/main.o,$(OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Ihost -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcmocka -lpthread

# wrk, the load generator of tests/bench/serve.sh, is the benchmarks' own.
bench: vouch
	$(MAKE) -s deps DEBS=wrk
	sh tests/bench/run.sh

# The long soak: 10,000 REPL statements through a pty (make test runs
# 1,500 of them).
REPL_SOAK_STATEMENTS ?= 10000
soak: vouch
	REPL_SOAK_STATEMENTS=$(REPL_SOAK_STATEMENTS) VOUCH=./vouch BUILD=$(BUILD) sh tests/run.sh repl_soak

# libFuzzer targets (clang): tests/fuzz/fuzz_NAME.c with seeds in
# tests/fuzz/corpus/NAME. FUZZ_SECONDS per target (default 30), new inputs
# kept in fuzz-out/NAME. FUZZ_RUNS=N instead runs N inputs per target with a
# fixed seed from the seed corpus alone: the same inputs every time (CI).
# The loaders are built with 61-byte reads so short inputs cross chunks.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJS := $(SRCS:host/%.c=build-fuzz/%.o) build-fuzz/stdlib.o
build-fuzz/%.o: host/%.c host/*.h
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -DVOUCH_LOAD_CHUNK=61 -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -Ihost -c -o $@ $<
build-fuzz/stdlib.o: $(BUILD)/stdlib.c
	@mkdir -p build-fuzz
	clang -c -o $@ $<
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(filter-out build-fuzz/main.o,$(FUZZ_OBJS))
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) -Ihost -o $@ $^ $(PKG_LIBS) -lpthread $(if $(filter fuzz_xlsx,$(notdir $@)),$$(pkg-config --libs minizip))
# A directory tests/fuzz/regress/NAME-WHAT/ holds a sequence of inputs that
# once broke target NAME only together: they are replayed in order, in one
# process, before NAME is fuzzed.
fuzz: check-deps $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
	@mkdir -p fuzz-out; for t in $(FUZZ_TARGETS); do \
	  for d in tests/fuzz/regress/$$t-*/; do \
	    [ -d "$$d" ] || continue; \
	    echo "replay $$d"; \
	    ./build-fuzz/fuzz_$$t -close_fd_mask=3 $$d* 2>fuzz-out/$$t.replay.log || \
	      { tail -n 40 fuzz-out/$$t.replay.log; exit 1; }; \
	  done; \
	  if [ -n "$(FUZZ_RUNS)" ]; then \
	    rm -rf fuzz-out/$$t.ci; mkdir -p fuzz-out/$$t.ci fuzz-out/$$t; \
	    echo "fuzz $$t for $(FUZZ_RUNS) runs (seed 1)"; \
	    set -- -runs=$(FUZZ_RUNS) -seed=1 fuzz-out/$$t.ci; \
	  else \
	    mkdir -p fuzz-out/$$t; \
	    echo "fuzz $$t for $(FUZZ_SECONDS)s"; \
	    set -- -max_total_time=$(FUZZ_SECONDS) fuzz-out/$$t; \
	  fi; \
	  ./build-fuzz/fuzz_$$t "$$@" -timeout=30 -rss_limit_mb=2048 -close_fd_mask=3 \
	    -artifact_prefix=fuzz-out/$$t/ tests/fuzz/corpus/$$t \
	    2>fuzz-out/$$t.log || { tail -n 40 fuzz-out/$$t.log; exit 1; }; \
	  grep -E "^#[0-9]+ +DONE" fuzz-out/$$t.log || tail -n 2 fuzz-out/$$t.log; \
	done

# The manual page is printed by vouch from its table of commands.
vouch.1: vouch
	./vouch help --man > $@

install: vouch vouch.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vouch/scripts $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 vouch $(DESTDIR)$(PREFIX)/bin/vouch
	install -m 644 vouch.1 $(DESTDIR)$(PREFIX)/share/man/man1/vouch.1
	for f in scripts/*.lua; do [ ! -f "$$f" ] || install -m 644 "$$f" $(DESTDIR)$(PREFIX)/share/vouch/scripts/; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/vouch $(DESTDIR)$(PREFIX)/share/man/man1/vouch.1
	rm -rf $(DESTDIR)$(PREFIX)/share/vouch

clean:
	rm -rf build build-san build-fuzz fuzz-out vouch vouch-san vouch.1

# Keep the fuzz objects between runs.
.SECONDARY:

.PHONY: all check-deps deps demo test test-c bench soak fuzz install uninstall clean
