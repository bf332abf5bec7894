/*
** fuzz_load.c: arbitrary bytes as a CSV file (with several option sets), a
** JSON document, an NDJSON file and a string for vouch.json.decode. Errors
** are expected; crashes, leaks and hangs are not. A value that decodes must
** encode, and its encoding must decode and encode to the same text.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vouch.h"

static vouch_host_t *h;
static char path[64];

static const char script[] =
  "local p = ...\n"
  "for _, o in ipairs{{}, {skip_bad = true}, {header = false, skip_bad = true},\n"
  "                   {delimiter = ';', schema = {[1] = 'integer'}}} do\n"
  "  pcall(function()\n"
  "    local s = vouch.load.csv(p, o)\n"
  "    if s then for _ in s:rows() do end end\n"
  "  end)\n"
  "end\n"
  "pcall(function() local s = vouch.load.json(p) if s then s:all() end end)\n"
  "pcall(function()\n"
  "  local s = vouch.load.ndjson(p, {skip_bad = true})\n"
  "  if s then for _ in s:rows() do end end\n"
  "end)\n"
  "local f = io.open(p, 'rb') local text = f:read('a') f:close()\n"
  "local v = vouch.json.decode(text)\n"
  "if v ~= nil then\n"
  "  local ok, e1 = pcall(vouch.json.encode, v, {sort_keys = true})\n"
  "  if ok then\n"
  "    local e2 = vouch.json.encode(vouch.json.decode(e1), {sort_keys = true})\n"
  "    assert(e1 == e2, 'JSON did not round-trip: ' .. e1 .. ' vs ' .. e2)\n"
  "  end\n"
  "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f;
  char code[sizeof script + 128];
  if (h == NULL) {
    vouch_opts_t o;
    memset(&o, 0, sizeof o);
    o.trusted = 1;  /* io.open for the round trip; paths are not the point here */
    o.max_memory = 256u << 20;
    o.db_path = ":memory:";
    h = vouch_host_new(&o);
    if (h == NULL) abort();
    h->no_watchdog = 1;
    snprintf(path, sizeof path, "/tmp/vouch-fuzz-load-%d", (int)getpid());
  }
  f = fopen(path, "wb");
  if (f == NULL) abort();
  fwrite(data, 1, size, f);
  fclose(f);
  snprintf(code, sizeof code, "return (function(...)\n%s\nend)('%s')", script, path);
  if (vouch_host_run_string(h, code, "=fuzz_load") != VOUCH_EXIT_OK) abort();
  return 0;
}
