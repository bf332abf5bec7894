/*
** fuzz_json.c: the JSON decoder and the JSON and NDJSON loaders on
** arbitrary bytes. The first input byte picks what runs; the rest is the
** text. vouch.json.decode must return a value or raise a message, and what
** it returns must encode and decode back to an equal value, integers still
** integers (or be refused for nesting), and a lone real must be the double
** strtod reads; the loaders (61-byte reads) must agree between rows() and
** into(), name the file in every error, and leave nothing behind a failed
** into(). load.json streams documents past four reads: its rows
** must be the elements json.decode finds in the same text, and a text that
** json.decode refuses must not load.
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
static char dir[64], path[96];

static const char script[] =
  "local path, flags, TEXT = '%s', %d, \"%s\"\n"
  "local json = vouch.json\n"
  "if flags & 1 == 0 then\n"
  "  -- the decoder on the text itself\n"
  "  local ok, v, err = pcall(json.decode, TEXT)\n"
  "  if not ok or (v == nil and err ~= nil) then\n"
  "    if type(v or err) ~= 'string' then error('FUZZ: decode failed without a message', 0) end\n"
  "    return\n"
  "  end\n"
  "  -- a real read without strtod (the fast path) must be strtod's double\n"
  "  local num = TEXT:match('^%%s*(%%-?%%d[%%d.eE+-]*)%%s*$')\n"
  "  if num and math.type(v) == 'float' and ('%%a'):format(v) ~= ('%%a'):format(tonumber(num)) then\n"
  "    error('FUZZ: ' .. num .. ' decoded as ' .. ('%%a'):format(v), 0)\n"
  "  end\n"
  "  local ok1, e1 = pcall(json.encode, v)\n"
  "  if not ok1 then\n"
  "    if not tostring(e1):find('nest', 1, true) then error('FUZZ: decoded value does not encode: ' .. tostring(e1), 0) end\n"
  "    return\n"
  "  end\n"
  "  local function same(a, b)\n"
  "    if type(a) ~= type(b) then return false end\n"
  "    if type(a) == 'number' then return math.type(a) == math.type(b) and (a == b or a ~= a and b ~= b) end\n"
  "    if type(a) ~= 'table' then return a == b end\n"
  "    if a == json.null or b == json.null then return a == b end\n"
  "    for k, x in pairs(a) do if not same(x, b[k]) then return false end end\n"
  "    for k in pairs(b) do if a[k] == nil then return false end end\n"
  "    return true\n"
  "  end\n"
  "  local v2 = json.decode(e1)\n"
  "  if not same(v, v2) then error('FUZZ: round trip changed the value: ' .. e1 .. ' / ' .. json.encode(v2), 0) end\n"
  "  return\n"
  "end\n"
  "local fmt = flags & 2 == 0 and 'ndjson' or 'json'\n"
  "local function named(err)\n"
  "  if type(err) ~= 'string' or not err:find(path, 1, true) then\n"
  "    error('FUZZ: an error that does not name the file: ' .. tostring(err), 0)\n"
  "  end\n"
  "end\n"
  "local n1 = 0\n"
  "local ok, e = pcall(function()\n"
  "  local src, err = vouch.load[fmt](path)\n"
  "  if not src then error(err, 0) end\n"
  "  for r in src:rows() do n1 = n1 + 1 end\n"
  "end)\n"
  "if not ok then named(e) end\n"
  "local db = vouch.db.open(':memory:')\n"
  "local ok2, n2 = pcall(function()\n"
  "  local src, err = vouch.load[fmt](path)\n"
  "  if not src then error(err, 0) end\n"
  "  return src:into(db, 't')\n"
  "end)\n"
  "if not ok2 then named(n2) end\n"
  "local have = db:one(\"SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'\").n\n"
  "local stored = have > 0 and db:one('SELECT count(*) AS n FROM t').n or 0\n"
  "if ok2 and not ok then error('FUZZ: rows() failed (' .. tostring(e) .. ') but into() stored ' .. tostring(n2), 0) end\n"
  "if ok2 and (n2 ~= n1 or stored ~= n1) then\n"
  "  error(string.format('FUZZ: rows() gave %%d rows, into() %%s, stored %%d', n1, tostring(n2), stored), 0)\n"
  "end\n"
  "if not ok2 and stored ~= 0 then error('FUZZ: a failed into() left rows', 0) end\n"
  "if fmt == 'json' then\n"
  "  -- the streamed document against the whole text decoded at once\n"
  "  local okd, dv = pcall(json.decode, TEXT)\n"
  "  local want\n"
  "  if okd and type(dv) == 'table' then\n"
  "    want = (dv[1] ~= nil or getmetatable(dv) == 'vouch.json.array') and #dv or 1\n"
  "  end\n"
  "  if okd and want == nil and ok then error('FUZZ: rows() read a document json.decode refuses', 0) end\n"
  "  if want ~= nil and not (ok and n1 == want) then\n"
  "    error(string.format('FUZZ: rows() gave %%d rows (%%s), json.decode %%d', n1, tostring(e), want), 0)\n"
  "  end\n"
  "end\n"
  "db:close()\n";

/* The bytes as the inside of a Lua string literal (malloc'd). */
static char *quote(const uint8_t *p, size_t n) {
  char *q = malloc(n * 4 + 1), *o = q;
  size_t i;
  if (q == NULL) abort();
  for (i = 0; i < n; i++) {
    if (p[i] >= 32 && p[i] < 127 && p[i] != '"' && p[i] != '\\') *o++ = (char)p[i];
    else o += sprintf(o, "\\%03d", p[i]);
  }
  *o = '\0';
  return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f;
  char *text, *code;
  size_t n;
  if (size == 0) return 0;
  {
    vouch_opts_t o;
    if (dir[0] == '\0') snprintf(dir, sizeof dir, "/tmp/fuzz_json.%ld", (long)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/in.json", dir);
    memset(&o, 0, sizeof o);
    o.max_memory = 64u << 20;
    o.timeout = 5;
    o.db_path = ":memory:";
    o.allow_read = dir;
    h = vouch_host_new(&o);
    if (h == NULL) abort();
    h->no_watchdog = 1;
  }
  if ((f = fopen(path, "wb")) == NULL) abort();
  fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  text = quote(data + 1, size - 1);
  n = sizeof script + strlen(path) + strlen(text) + 16;
  if ((code = malloc(n)) == NULL) abort();
  snprintf(code, n, script, path, data[0], text);
  free(text);
  if (vouch_host_run_string(h, code, "=fuzz_json") != VOUCH_EXIT_OK) {
    fprintf(stderr, "fuzz_json: an invariant broke on the input above\n");
    abort();
  }
  free(code);
  vouch_host_free(h);
  return 0;
}
