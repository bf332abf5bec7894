/*
** fuzz_csv.c: the CSV loader on arbitrary bytes, through the Lua API a
** script uses (vouch.load.csv, src:rows, src:into), with 61-byte reads so
** that records cross chunk boundaries. The first input byte picks options;
** the rest is the file. The host must not crash or leak, every failure must
** be an error naming the file, and rows() and into() must agree: the same
** row count, or both failing; a failed into() leaves no row behind.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vouch.h"

/* A fresh host per input: mallocs and frees balance, so libFuzzer's leak
** check means something (and stays cheap). */
static vouch_host_t *h;
static char dir[64], path[96], code[4096];

static const char script[] =
  "local path, flags = %s, %d\n"
  "local delims = { ',', ';', '\\t', '|' }\n"
  "local opts = { header = flags & 1 == 0, skip_bad = flags & 2 ~= 0,\n"
  "  delimiter = delims[(flags >> 2 & 3) + 1] }\n"
  "if flags & 16 ~= 0 then opts.columns = { 'a', 'b', 'c' }; opts.header = false end\n"
  "if flags & 32 ~= 0 then opts.schema = { a = 'integer', b = 'number', c = 'string' } end\n"
  "local function named(err)\n"
  "  if type(err) ~= 'string' or not err:find(path, 1, true) then\n"
  "    error('FUZZ: an error that does not name the file: ' .. tostring(err), 0)\n"
  "  end\n"
  "end\n"
  "local n1, e1 = 0, nil\n"
  "local okc, src, err = pcall(vouch.load.csv, path, opts)\n"
  "if not okc or not src then named(okc and err or src)\n"
  "  local ok2, e2 = pcall(function() return vouch.load.csv(path, opts):into(vouch.db.open(':memory:'), 't') end)\n"
  "  if ok2 then error('FUZZ: open failed (' .. tostring(src) .. ') but into() worked', 0) end\n"
  "  return\n"
  "end\n"
  "local ok, e = pcall(function()\n"
  "  for r in src:rows() do\n"
  "    n1 = n1 + 1\n"
  "    for k, v in pairs(r) do assert(type(k) == 'string' or math.type(k) == 'integer') end\n"
  "  end\n"
  "end)\n"
  "if not ok then named(e); e1 = e end\n"
  "local db = vouch.db.open(':memory:')\n"
  "local src2 = vouch.load.csv(path, opts)\n"
  "local ok2, n2 = pcall(src2.into, src2, db, 't')\n"
  "if not ok2 then named(n2) end\n"
  "-- SQLite's column names ignore case: 'a' and 'A' are two keys of a row\n"
  "-- but one column, so into() alone refuses them (naming the file).\n"
  "local case_dup = not ok2 and tostring(n2):find('duplicate column name', 1, true)\n"
  "if ok ~= ok2 and not (ok and case_dup) then\n"
  "  error('FUZZ: rows() ' .. tostring(e1 or n1) .. ' but into() ' .. tostring(n2), 0)\n"
  "end\n"
  "local have = db:one(\"SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'\").n\n"
  "local stored = have > 0 and db:one('SELECT count(*) AS n FROM t').n or 0\n"
  "if ok2 and (n2 ~= n1 or stored ~= n1) then\n"
  "  error(string.format('FUZZ: rows() gave %%d rows, into() %%s, stored %%d', n1, tostring(n2), stored), 0)\n"
  "end\n"
  "if not ok2 and stored ~= 0 then error('FUZZ: a failed into() left rows', 0) end\n"
  "db:close()\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f;
  int flags;
  if (size == 0) return 0;
  {
    vouch_opts_t o;
    if (dir[0] == '\0') snprintf(dir, sizeof dir, "/tmp/fuzz_csv.%ld", (long)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/in.csv", dir);
    memset(&o, 0, sizeof o);
    o.max_memory = 64u << 20;
    o.timeout = 5;
    o.db_path = ":memory:";
    o.allow_read = dir;
    h = vouch_host_new(&o);
    if (h == NULL) abort();
    h->no_watchdog = 1;
  }
  flags = data[0];
  if ((f = fopen(path, "wb")) == NULL) abort();
  fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  {
    char q[128];
    snprintf(q, sizeof q, "'%s'", path);
    snprintf(code, sizeof code, script, q, flags);
  }
  if (vouch_host_run_string(h, code, "=fuzz_csv") != VOUCH_EXIT_OK) {
    fprintf(stderr, "fuzz_csv: an invariant broke on the input above\n");
    abort();
  }
  vouch_host_free(h);
  return 0;
}
