/*
** fuzz_sandbox.c: arbitrary text run as an untrusted script under small
** limits, all inputs in one host (as in the REPL or the daemon). The host
** must never crash, and no script may change what the next one sees.
**
** What breaks an invariant is usually an earlier input, not the last one,
** so the last RING inputs are kept and, when an invariant breaks, written
** in order to $VOUCH_FUZZ_SEQ (default fuzz-out/sandbox.seq) as files
** 0000, 0001, ... Running the target on those files, in that order, in one
** process, replays the sequence:
**
**   ./build-fuzz/fuzz_sandbox fuzz-out/sandbox.seq/0*
*/
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vouch.h"

#define RING 256   /* inputs kept for the replay */

static vouch_host_t *h;
static int err_fd = -1;   /* the real stderr, kept before libFuzzer closes it */

static struct { uint8_t *data; size_t size; } ring[RING];
static unsigned long ring_next;  /* inputs seen so far */

/* What a script might try to change for the scripts after it. */
static const char invariants[] =
  "assert(('').dump == nil, 'string.dump reachable')\n"
  "assert(type(getmetatable('')) == 'string', 'string metatable exposed')\n"
  "assert(io == nil and debug == nil and package == nil, 'library leaked')\n"
  "assert(load('return os.execute')() == nil, 'os.execute leaked')\n"
  "assert(type(vouch.spawn) == 'function', 'vouch changed')\n"
  "local n = 0 for i = 1, 1000 do n = n + i end\n"
  "assert(n == 500500, 'a loop of the host broken')\n";


int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  err_fd = dup(2);  /* -close_fd_mask=2 sends fd 2 to /dev/null later */
  return 0;
}


static void say(const char *msg) {
  if (err_fd >= 0 && write(err_fd, msg, strlen(msg)) < 0) { /* nowhere else */ }
}


static void keep(const uint8_t *data, size_t size) {
  unsigned long i = ring_next++ % RING;
  free(ring[i].data);
  ring[i].data = malloc(size ? size : 1);
  ring[i].size = ring[i].data ? size : 0;
  if (ring[i].data) memcpy(ring[i].data, data, size);
}


/* Write the kept inputs, oldest first, where a replay can find them. */
static void save_sequence(void) {
  const char *dir = getenv("VOUCH_FUZZ_SEQ");
  unsigned long n = ring_next < RING ? ring_next : RING, k;
  char path[4096], msg[4200];
  if (dir == NULL || *dir == '\0') dir = "fuzz-out/sandbox.seq";
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    snprintf(msg, sizeof msg, "cannot create %s: %s\n", dir, strerror(errno));
    say(msg);
    return;
  }
  for (k = 0; k < n; k++) {
    unsigned long i = (ring_next - n + k) % RING;
    FILE *f;
    snprintf(path, sizeof path, "%s/%04lu", dir, k);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(ring[i].data, 1, ring[i].size, f) != ring[i].size) {
      snprintf(msg, sizeof msg, "cannot write %s: %s\n", path, strerror(errno));
      say(msg);
    }
    if (f) fclose(f);
  }
  snprintf(msg, sizeof msg,
           "the last %lu inputs are in %s; replay them in order with\n"
           "  ./build-fuzz/fuzz_sandbox %s/0*\n", n, dir, dir);
  say(msg);
}


/*
** Run the invariants with the host's reports going to the real stderr, so
** that the one that broke is named with its message.
*/
static int check_invariants(void) {
  int quiet = -1, status;
  double timeout = h->timeout;
  fflush(stderr);
  if (err_fd >= 0 && (quiet = dup(2)) >= 0) dup2(err_fd, 2);
  /* The invariants get time of their own: on a machine busy with other
     work their half second of wall time ran out, which read as a broken
     invariant. A limit an input left tripped still stops them at once. */
  h->timeout = 5;
  status = vouch_host_run_string(h, invariants, "=invariants");
  h->timeout = timeout;
  fflush(stderr);
  if (quiet >= 0) {
    dup2(quiet, 2);
    close(quiet);
  }
  return status;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *code;
  int status;
  if (h == NULL) {
    vouch_opts_t o;
    memset(&o, 0, sizeof o);
    o.max_memory = 32u << 20;
    o.timeout = 0.5;
    o.db_path = ":memory:";
    o.allow_read = "/nonexistent";
    h = vouch_host_new(&o);
    if (h == NULL) abort();
    h->no_watchdog = 1;  /* libFuzzer's own -timeout reports stalls in C */
  }
  keep(data, size);
  code = malloc(size + 1);
  if (code == NULL) return 0;
  memcpy(code, data, size);
  code[size] = '\0';
  vouch_host_run_string(h, code, "=fuzz");
  free(code);
  if (vouch_tasks_live(h) != 0) {
    say("vouch: a task outlived the script that spawned it\n");
    status = -1;
  } else if (uv_loop_alive(&h->loop)) {
    say("vouch: a timer or handle outlived the script that started it\n");
    status = -1;
  } else if (h->used_memory > h->max_memory / 2) {
    /* The run's garbage is collected as it ends: what is left is live. */
    char msg[128];
    snprintf(msg, sizeof msg, "vouch: %zu bytes still charged after the script ended\n",
             h->used_memory);
    say(msg);
    status = -1;
  } else {
    status = check_invariants();
  }
  if (status != VOUCH_EXIT_OK) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "sandbox invariant broken (exit %d) after input %lu; the error is above\n",
             status, ring_next);
    say(msg);
    save_sequence();
    abort();
  }
  return 0;
}
