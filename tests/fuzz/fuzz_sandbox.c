/*
** fuzz_sandbox.c: arbitrary text run as an untrusted script under small
** limits, all inputs in one host (as in the REPL or the daemon). The host
** must never crash, and no script may change what the next one sees.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch.h"

static vouch_host_t *h;

/* What a script might try to change for the scripts after it. */
static const char invariants[] =
  "assert(('').dump == nil, 'string.dump reachable')\n"
  "assert(type(getmetatable('')) == 'string', 'string metatable exposed')\n"
  "assert(io == nil and debug == nil and package == nil, 'library leaked')\n"
  "assert(load('return os.execute')() == nil, 'os.execute leaked')\n"
  "assert(type(vouch.spawn) == 'function', 'vouch changed')\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *code;
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
  code = malloc(size + 1);
  if (code == NULL) return 0;
  memcpy(code, data, size);
  code[size] = '\0';
  vouch_host_run_string(h, code, "=fuzz");
  free(code);
  if (vouch_host_run_string(h, invariants, "=invariants") != VOUCH_EXIT_OK) {
    fprintf(stderr, "sandbox invariant broken by the input above\n");
    abort();
  }
  return 0;
}
