/*
** json.c: vouch.json, RFC 8259 JSON.
**
** Decoding is json_decode.c's, straight into Lua values: strict (no
** comments, no trailing commas, no NaN, valid UTF-8 only, at most 2048
** levels of nesting). Integers are kept
** exact as Lua integers; an integer outside the 64-bit range is an error
** ("too big integer"), never a silently rounded float. `null` decodes to
** vouch.json.null, so a null value and a missing key differ.
**
** Encoding is done here rather than with json_dumps, to write floats in
** their shortest round-trip form and to decide arrays and objects by the
** rule below:
**   - a table marked by vouch.json.array(t) or vouch.json.object(t) is that;
**     decode marks the empty arrays and objects it makes, so they round-trip;
**   - otherwise an empty table is an object, `{}`;
**   - a table whose keys are exactly 1..n is an array, one whose keys are
**     all strings is an object, and anything else is an error.
** Cycles, non-finite numbers (unless written as null on request), invalid
** UTF-8 (unless replaced on request) and nesting deeper than 1000 are
** refused with an error.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_decode.h"
#include "load.h"

#define NULL_KEY "vouch.json.null.value"  /* the sentinel, in the registry */
#define NULL_MT "vouch.json.null"
#define ARRAY_MT VOUCH_JSON_ARRAY_MT
#define OBJECT_MT VOUCH_JSON_OBJECT_MT
#define MAX_ENCODE_DEPTH 1000


void vouch_json_pushnull(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, NULL_KEY);
}


static int is_null(lua_State *L, int idx) {
  int r;
  if (lua_type(L, idx) != LUA_TUSERDATA) return 0;
  vouch_json_pushnull(L);
  r = lua_rawequal(L, idx, -1);
  lua_pop(L, 1);
  return r;
}


/* 1 for an array marker, 2 for an object marker, 0 for none. */
static int marker(lua_State *L, int idx) {
  int r = 0;
  if (!lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, ARRAY_MT);
  if (lua_rawequal(L, -1, -2)) r = 1;
  lua_pop(L, 1);
  luaL_getmetatable(L, OBJECT_MT);
  if (lua_rawequal(L, -1, -2)) r = 2;
  lua_pop(L, 2);
  return r;
}


/* Frees the decoder's scratch when a Lua error leaves the decoding. */
static int dec_gc(lua_State *L) {
  vouch_jdec_t *d = lua_touserdata(L, 1);
  free(d->scratch);
  d->scratch = NULL;
  return 0;
}


/*
** vouch.json.decode(s [, name]): the value, or nil and "name:line:col:
** message" (name defaults to "json").
*/
static int json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, "json");
  vouch_jdec_t *d;
  long line = 1, col = 0;
  lua_settop(L, 2);
  d = lua_newuserdatauv(L, sizeof *d, 0);  /* at 3: owns the scratch */
  memset(d, 0, sizeof *d);
  luaL_setmetatable(L, "vouch.json.dec");
  vouch_json_begin(d, L, s, n, 1);
  vouch_json_push_begin(d, L);
  if (vouch_json_decode(d) == VOUCH_JSON_OK) {
    free(d->scratch);
    d->scratch = NULL;
    return 1;
  }
  free(d->scratch);
  d->scratch = NULL;
  vouch_json_where(s, d->err_at, &line, &col);
  lua_pushnil(L);
  lua_pushfstring(L, "%s:%I:%I: %s", name, (lua_Integer)line, (lua_Integer)(col > 0 ? col : 1),
                  d->msg);
  return 2;
}


/*
** {======================================================
** Encoding
** =======================================================
*/

typedef struct enc {
  vouch_json_buf *b;        /* where the text goes: &own, or the caller's */
  vouch_json_buf own;       /* the text of vouch.json.encode (freed by __gc) */
  int indent;               /* spaces per level, 0 for compact */
  int sort;                 /* sort object keys */
  int nonfinite_null;       /* write NaN and infinities as null, not raise */
  int replace_invalid;      /* write a byte that is not UTF-8 as U+FFFD, not raise */
  int seen;                 /* stack index of the table of tables being encoded */
} enc;


static void put(lua_State *L, vouch_json_buf *b, const char *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *np;
    while (cap < b->n + n) cap *= 2;
    /* The text is charged to --max-memory as it grows: a table holding one
    ** long string many times is small, its encoding need not be. */
    if (vouch_mem_charge(vouch_host(L), cap - b->cap) != 0)
      luaL_error(L, "%s", vouch_limit_message(vouch_host(L)));
    np = realloc(b->p, cap);
    if (np == NULL) {
      vouch_mem_release(vouch_host(L), cap - b->cap);
      luaL_error(L, "not enough memory");
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}


static void putc_(lua_State *L, vouch_json_buf *b, char c) {
  if (b->n < b->cap) b->p[b->n++] = c;
  else put(L, b, &c, 1);
}


void vouch_json_buf_free(lua_State *L, vouch_json_buf *b) {
  free(b->p);
  vouch_mem_release(vouch_host(L), b->cap);
  b->p = NULL;
  b->n = b->cap = 0;
}


static void newline(lua_State *L, enc *e, int depth) {
  int i;
  if (e->indent == 0) return;
  putc_(L, e->b, '\n');
  for (i = 0; i < depth * e->indent; i++) putc_(L, e->b, ' ');
}


static int utf8_ok(const unsigned char *p, size_t avail) {
  unsigned c = p[0], cp;
  int n, i;
  if (c < 0xC2) return 0;
  n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
  if (n == 0 || (size_t)n > avail) return 0;
  cp = c & (0x3Fu >> (n - 1));
  for (i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3Fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}


/* The string s as JSON; a byte that is not part of valid UTF-8 raises, or
** with `replace` is written as U+FFFD. */
static void put_string(lua_State *L, vouch_json_buf *e, const char *s, size_t n, int replace) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  putc_(L, e, '"');
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
    if (p > run) put(L, e, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    if (*p >= 0x80) {
      int k = utf8_ok(p, (size_t)(end - p));
      if (k == 0) {
        if (!replace) luaL_error(L, "cannot encode a string that is not valid UTF-8");
        put(L, e, "\xEF\xBF\xBD", 3);
        p++;
        continue;
      }
      put(L, e, (const char *)p, (size_t)k);
      p += k;
      continue;
    }
    switch (*p) {
      case '"': put(L, e, "\\\"", 2); break;
      case '\\': put(L, e, "\\\\", 2); break;
      case '\n': put(L, e, "\\n", 2); break;
      case '\r': put(L, e, "\\r", 2); break;
      case '\t': put(L, e, "\\t", 2); break;
      case '\b': put(L, e, "\\b", 2); break;
      case '\f': put(L, e, "\\f", 2); break;
      default: {
        char u[8];
        snprintf(u, sizeof u, "\\u%04x", *p);
        put(L, e, u, 6);
      }
    }
    p++;
  }
  putc_(L, e, '"');
}


static const double P10[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


/* The integer `r` with `k` of its digits after a decimal point, at `b`;
** trailing zeros after the point dropped, and the point with them. */
static int put_fixed(char *b, int neg, uint64_t r, int k) {
  char t[24];
  int n = 0, len = 0, i;
  do { t[n++] = (char)('0' + r % 10); r /= 10; } while (r);
  while (n <= k) t[n++] = '0';
  if (neg) b[len++] = '-';
  for (i = n - 1; i >= k; i--) b[len++] = t[i];
  if (k > 0) {
    int last = 0;
    while (last < k && t[last] == '0') last++;
    if (last < k) {
      b[len++] = '.';
      for (i = k - 1; i >= last; i--) b[len++] = t[i];
    }
  }
  b[len] = '\0';
  return len;
}


/*
** Format `d` at `b` (64 bytes) as printf's "%.*g" would with `digits`
** significant digits, or with digits 0 in the shortest form that reads
** back as `d` (the shortest of %.15g, %.16g and %.17g). Each stored input
** row and score row has a few dozen numbers, and glibc's printf takes
** about half a microsecond for one, so the common case is done here
** exactly, without it: a number of at most 15 significant digits in the
** range where %g writes no exponent. `r / 10^k == d` is an exact test
** that the decimal r * 10^-k reads back as `d` (r < 2^53 and 10^k are
** exact, and one division rounds correctly); at 15 digits or fewer only
** one decimal of a length can read back as a given double, so the first
** found is the one printf writes. Returns the length.
*/
int vouch_json_fmt(char *b, double d, int digits) {
  double a = fabs(d);
  int len, k;
  if (digits == 0 && a >= 1e-4 && a < 1e15) {
    for (k = 0; k <= 19; k++) {
      double s = a * P10[k], r;
      if (s >= 1e15) break;
      r = nearbyint(s);
      if (r / P10[k] == a) return put_fixed(b, d < 0, (uint64_t)r, k);
    }
  } else if (digits > 0 && digits <= 15 && a >= 1e-4 && a < P10[digits]) {
    int x = -4;  /* the decimal exponent of a, 10^x <= a < 10^(x+1), near enough: */
    double r;    /* a miss at a power of ten shows in r's length, and printf does it */
    while (x < digits - 1 && a >= (x + 1 >= 0 ? P10[x + 1] : 1 / P10[-x - 1])) x++;
    k = digits - 1 - x;
    r = nearbyint(a * P10[k]);
    if (r >= P10[digits - 1] && r < P10[digits]) return put_fixed(b, d < 0, (uint64_t)r, k);
  }
  if (digits > 0) return snprintf(b, 64, "%.*g", digits, d);
  for (k = 15; k <= 17; k++) {
    len = snprintf(b, 64, "%.*g", k, d);
    if (strtod(b, NULL) == d) break;
  }
  return len;
}


static void put_number(lua_State *L, vouch_json_buf *e, int idx) {
  char b[64];
  int len;
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    len = i < 0 ? (b[0] = '-', 1 + put_fixed(b + 1, 0, 0 - (uint64_t)i, 0))
                : put_fixed(b, 0, (uint64_t)i, 0);
  } else {
    double d = lua_tonumber(L, idx);
    if (!isfinite(d)) luaL_error(L, "cannot encode a non-finite number (%s)",
                                 isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
    len = vouch_json_fmt(b, d, 0);
    if (strpbrk(b, ".eEn") == NULL) {  /* keep it a float when read back */
      b[len++] = '.';
      b[len++] = '0';
      b[len] = '\0';
    }
  }
  put(L, e, b, (size_t)len);
}


static int cmp_keys(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  size_t nx = strlen(*x), ny = strlen(*y);  /* keys with NULs sort by their prefix */
  int c = memcmp(*x, *y, nx < ny ? nx : ny);
  return c ? c : (nx > ny) - (nx < ny);
}


static void encode(lua_State *L, enc *e, int idx, int depth);

static void encode_table(lua_State *L, enc *e, int idx, int depth) {
  int kind = marker(L, idx);
  lua_Integer n = 0, count = 0, maxi = 0;
  int strs = 0, others = 0;
  if (depth >= MAX_ENCODE_DEPTH)
    luaL_error(L, "cannot encode tables nested deeper than %d", MAX_ENCODE_DEPTH);
  luaL_checkstack(L, 8, "JSON nested too deeply");
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->seen) != LUA_TNIL)
    luaL_error(L, "cannot encode a table that contains itself");
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, e->seen);
  if (kind != 1) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      count++;
      if (lua_type(L, -1) == LUA_TSTRING) strs++;
      else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
        if (lua_tointeger(L, -1) > maxi) maxi = lua_tointeger(L, -1);
      } else others++;
    }
    if (kind == 0) {
      if (count == 0) kind = 2;
      else if (strs == count) kind = 2;
      else if (strs == 0 && others == 0 && maxi == count) kind = 1;
      else luaL_error(L, "cannot encode a table with mixed or sparse keys (use string "
                      "keys for an object or the keys 1..n for an array)");
    } else if (strs != count) {
      luaL_error(L, "cannot encode an object with a key that is not a string");
    }
  }
  if (kind == 1) {
    lua_Integer i;
    n = (lua_Integer)lua_rawlen(L, idx);
    putc_(L, e->b, '[');
    for (i = 1; i <= n; i++) {
      if (i > 1) putc_(L, e->b, ',');
      newline(L, e, depth + 1);
      lua_rawgeti(L, idx, i);
      encode(L, e, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    if (n > 0) newline(L, e, depth);
    putc_(L, e->b, ']');
  } else {
    int first = 1;
    putc_(L, e->b, '{');
    if (e->sort && count > 1) {
      const char **keys = lua_newuserdatauv(L, sizeof *keys * (size_t)count, 0);
      lua_Integer i = 0;
      int kt = lua_gettop(L);
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[i++] = lua_tostring(L, -1);  /* anchored by the table itself */
      }
      qsort(keys, (size_t)count, sizeof *keys, cmp_keys);
      for (i = 0; i < count; i++) {
        if (!first) putc_(L, e->b, ',');
        first = 0;
        newline(L, e, depth + 1);
        lua_pushstring(L, keys[i]);
        put_string(L, e->b, keys[i], strlen(keys[i]), e->replace_invalid);
        put(L, e->b, ": ", e->indent ? 2 : 1);
        lua_rawget(L, idx);
        encode(L, e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
      }
      lua_remove(L, kt);
    } else {
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        size_t kn;
        const char *k = lua_tolstring(L, -2, &kn);
        if (!first) putc_(L, e->b, ',');
        first = 0;
        newline(L, e, depth + 1);
        put_string(L, e->b, k, kn, e->replace_invalid);
        put(L, e->b, ": ", e->indent ? 2 : 1);
        encode(L, e, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
      }
    }
    if (!first) newline(L, e, depth);
    putc_(L, e->b, '}');
  }
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, e->seen);
}


static void encode(lua_State *L, enc *e, int idx, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: put(L, e->b, "null", 4); break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) put(L, e->b, "true", 4);
      else put(L, e->b, "false", 5);
      break;
    case LUA_TNUMBER:
      if (e->nonfinite_null && !lua_isinteger(L, idx) && !isfinite(lua_tonumber(L, idx)))
        put(L, e->b, "null", 4);
      else put_number(L, e->b, idx);
      break;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      put_string(L, e->b, s, n, e->replace_invalid);
      break;
    }
    case LUA_TTABLE: encode_table(L, e, idx, depth); break;
    default:
      if (is_null(L, idx)) { put(L, e->b, "null", 4); break; }
      luaL_error(L, "cannot encode a %s", luaL_typename(L, idx));
  }
}


/* Free the text and give its charge back; the encoder's __gc does it too. */
static void enc_free(lua_State *L, enc *e) {
  vouch_json_buf_free(L, &e->own);
}


static int enc_gc(lua_State *L) {
  enc_free(L, lua_touserdata(L, 1));
  return 0;
}


/*
** Push the JSON text of the fields `keys[0..n-1]` of the table at `tbl` as
** an array, in that order (absent fields are null); with keys NULL, the
** whole table as an object with its keys in byte order. For the record's
** input rows: the same row always gives the same text. Raises on values
** JSON cannot hold.
*/
void vouch_json_push_fields(lua_State *L, int tbl, const char *const *keys, int n) {
  enc *e;
  int i, top;
  tbl = lua_absindex(L, tbl);
  e = lua_newuserdatauv(L, sizeof *e, 0);
  memset(e, 0, sizeof *e);
  e->b = &e->own;
  luaL_setmetatable(L, "vouch.json.enc");
  top = lua_gettop(L);
  lua_newtable(L);
  e->seen = top + 1;
  if (keys == NULL) {
    e->sort = 1;
    encode(L, e, tbl, 0);
  } else {
    putc_(L, e->b, '[');
    for (i = 0; i < n; i++) {
      if (i) putc_(L, e->b, ',');
      lua_pushstring(L, keys[i]);
      lua_rawget(L, tbl);
      encode(L, e, lua_gettop(L), 1);
      lua_pop(L, 1);
    }
    putc_(L, e->b, ']');
  }
  lua_pushlstring(L, e->own.p ? e->own.p : "", e->own.n);
  enc_free(L, e);
  lua_replace(L, top);  /* the text where the encoder was */
  lua_settop(L, top);
}


/*
** Writers that keep their own buffer (the run record's, reused for every
** row): append to `b`, which grows as put() grows it (charged to the host)
** and is the caller's to free with vouch_json_buf_free.
*/
void vouch_json_add(lua_State *L, vouch_json_buf *b, const char *s, size_t n) {
  put(L, b, s, n);
}

void vouch_json_add_string(lua_State *L, vouch_json_buf *b, const char *s, size_t n) {
  put_string(L, b, s, n, 0);
}

/* The number at `idx`: an integer as it is, a float to `digits`
** significant digits as %g writes it (0: in its shortest round-trip form);
** null for a non-finite one. */
void vouch_json_add_number(lua_State *L, vouch_json_buf *b, int idx, int digits) {
  char t[64];
  double d;
  if (digits == 0 || lua_isinteger(L, idx)) {
    if (lua_isinteger(L, idx) || isfinite(lua_tonumber(L, idx))) put_number(L, b, idx);
    else put(L, b, "null", 4);
    return;
  }
  d = lua_tonumber(L, idx);
  if (!isfinite(d)) put(L, b, "null", 4);
  else put(L, b, t, (size_t)vouch_json_fmt(t, d, digits));
}

/* The value at `idx`, compact, object keys in byte order. */
void vouch_json_add_value(lua_State *L, vouch_json_buf *b, int idx) {
  enc e;
  memset(&e, 0, sizeof e);
  e.b = b;
  e.sort = 1;
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  e.seen = lua_gettop(L);
  encode(L, &e, idx, 0);
  lua_pop(L, 1);
}

/* The fields of the table at `tbl` named by the strings keys[1..n] of the
** table at `keys`, as an array in that order (absent fields are null). */
void vouch_json_add_fields(lua_State *L, vouch_json_buf *b, int tbl, int keys, int n) {
  enc e;
  int i;
  memset(&e, 0, sizeof e);
  e.b = b;
  tbl = lua_absindex(L, tbl);
  keys = lua_absindex(L, keys);
  lua_newtable(L);
  e.seen = lua_gettop(L);
  putc_(L, b, '[');
  for (i = 1; i <= n; i++) {
    if (i > 1) putc_(L, b, ',');
    lua_rawgeti(L, keys, i);
    lua_rawget(L, tbl);
    encode(L, &e, lua_gettop(L), 1);
    lua_pop(L, 1);
  }
  putc_(L, b, ']');
  lua_pop(L, 1);
}


/*
** vouch.json.encode(v [, opts]): JSON text. opts.indent: spaces per level
** (or true for 2); opts.sort_keys: write object keys in byte order;
** opts.nonfinite: "error" (the default) or "null", to write NaN and the
** infinities as null, as the record stores them; opts.invalid_utf8:
** "error" (the default) or "replace", to write each byte of a string that
** is not valid UTF-8 as U+FFFD (a file name in another encoding). Raises
** on values JSON cannot hold.
*/
static int json_encode(lua_State *L) {
  enc *e;
  luaL_checkany(L, 1);
  lua_settop(L, 2);
  e = lua_newuserdatauv(L, sizeof *e, 0);  /* at 3 */
  memset(e, 0, sizeof *e);
  e->b = &e->own;
  luaL_setmetatable(L, "vouch.json.enc");
  if (!lua_isnil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "indent");
    if (lua_isboolean(L, -1)) e->indent = lua_toboolean(L, -1) ? 2 : 0;
    else if (!lua_isnil(L, -1)) {
      lua_Integer n = lua_tointeger(L, -1);
      if (!lua_isinteger(L, -1) || n < 0 || n > 16)
        return luaL_error(L, "bad argument #2 to 'encode' (opts.indent must be 0..16)");
      e->indent = (int)n;
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "sort_keys");
    e->sort = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 2, "nonfinite");
    if (!lua_isnil(L, -1)) {
      const char *how = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
      if (strcmp(how, "null") == 0) e->nonfinite_null = 1;
      else if (strcmp(how, "error") != 0)
        return luaL_error(L, "bad argument #2 to 'encode' (opts.nonfinite must be "
                             "'error' or 'null')");
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "invalid_utf8");
    if (!lua_isnil(L, -1)) {
      const char *how = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
      if (strcmp(how, "replace") == 0) e->replace_invalid = 1;
      else if (strcmp(how, "error") != 0)
        return luaL_error(L, "bad argument #2 to 'encode' (opts.invalid_utf8 must be "
                             "'error' or 'replace')");
    }
    lua_pop(L, 1);
  }
  lua_newtable(L);  /* at 4: tables being encoded */
  e->seen = 4;
  encode(L, e, 1, 0);
  lua_pushlstring(L, e->own.p ? e->own.p : "", e->own.n);
  enc_free(L, e);                       /* the text is a string now */
  return 1;
}

/* }====================================================== */


static int mark(lua_State *L, const char *mt, const char *other) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, other);
    if (!lua_rawequal(L, -1, -2)) {
      luaL_getmetatable(L, mt);
      if (!lua_rawequal(L, -1, -3))
        return luaL_argerror(L, 1, "table already has a metatable");
    }
  }
  lua_settop(L, 1);
  luaL_setmetatable(L, mt);
  return 1;
}

/* vouch.json.array(t): mark t to be encoded as an array, even when empty.
** (Named json_mark*: json_array and json_object are jansson's.) */
static int json_markarray(lua_State *L) { return mark(L, ARRAY_MT, OBJECT_MT); }

/* vouch.json.object(t): mark t to be encoded as an object, even when empty. */
static int json_markobject(lua_State *L) { return mark(L, OBJECT_MT, ARRAY_MT); }


static int null_tostring(lua_State *L) {
  lua_pushliteral(L, "null");
  return 1;
}


/* luaL_newmetatable, protected: its __metatable field is its name. */
static void new_metatable(lua_State *L, const char *name) {
  luaL_newmetatable(L, name);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__metatable");
}


int luaopen_vouch_json(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"decode", json_decode}, {"encode", json_encode},
    {"array", json_markarray}, {"object", json_markobject}, {NULL, NULL}
  };
  /* Every script shares the marks of arrays and objects, which are tables:
  ** getmetatable answers their name, so no script can add a finalizer (or
  ** anything else) that another would meet. The sandbox's getmetatable
  ** hides the metatables of userdata already. */
  new_metatable(L, ARRAY_MT);
  lua_pop(L, 1);
  new_metatable(L, OBJECT_MT);
  lua_pop(L, 1);
  luaL_newmetatable(L, "vouch.json.dec");
  lua_pushcfunction(L, dec_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, "vouch.json.enc");
  lua_pushcfunction(L, enc_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_newuserdatauv(L, 0, 0);
  luaL_newmetatable(L, NULL_MT);
  lua_pushcfunction(L, null_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, NULL_KEY);
  lua_setfield(L, -2, "null");
  return 1;
}
