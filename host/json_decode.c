/*
** json_decode.c: RFC 8259 JSON straight into Lua values.
**
** Why our own, and not lua-cjson (Debian's lua-cjson for 5.4) or yajl: on
** the bench's 100,000 partners (tests/bench/json.sh, two loaded cores),
** NDJSON through rows() ran at 62 to 107 MB/s here against 55 to 82 MB/s
** for lua-cjson decoding each line in plain lua5.4 and 16 to 29 MB/s for
** Python's json.loads; one 49 MB array decoded at 49 to 81 MB/s (CPU time)
** against lua-cjson's 51 to 61 and Python's 40 to 54. lua-cjson is no
** faster, and it cannot be used as it is: every number becomes a float
** (9007199254740993 reads back as 9.007199254741e+15), `123\0` decodes as
** 123, its errors give no line or column, and it decodes whole texts only,
** so no stream. yajl streams but hands out events through callbacks into
** a tree of our own making; it was not measured.
**
** The grammar is jansson's strict one (no comments, no trailing commas, no
** NaN, valid UTF-8 only, at most 2048 levels), and so are the error texts
** and their line:column, so that messages did not change with the decoder.
** It differs where jansson was wrong: a NUL byte after a value (`123\0`)
** is an error, not the end of the text, and an object key may hold an
** escaped NUL (`{"a\u0000b": 1}`). Integers stay exact in 64 bits ("too big
** integer" beyond); empty arrays and objects are marked so they encode
** back as they came.
**
** The lexer works in place: a string without escapes is pushed from the
** text itself, one with escapes is unescaped into the scratch buffer.
** Object keys are remembered by their place, so that rows of one shape
** push the last row's key strings instead of having Lua intern each again
** (a quarter of the NDJSON time); short decimals are read exactly without
** strtod (fast_real).
** Running out of bytes before eof is VOUCH_JSON_NEED at any point, so a
** stream's reader can come back with more (load_json.c).
*/
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "json_decode.h"

#define isdig(c) ((unsigned)((c) - '0') < 10u)
#define isalpha_(c) ((unsigned)(((c) | 0x20) - 'a') < 26u)

#define KEYS_KEY "vouch.json.keys"    /* the key cache, in the registry */
#define MAX_CACHED_KEY 40             /* longer keys are not interned by Lua either */


/*
** The key cache is one per host: a userdata holding the text of each slot,
** whose user value is a table holding the Lua strings (slot i at i + 1),
** so that they live as long as the pointers to their text do.
*/
void vouch_json_push_begin(vouch_jdec_t *d, lua_State *L) {
  vouch_json_pushnull(L);
  d->nullidx = lua_gettop(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, KEYS_KEY) == LUA_TNIL) {
    lua_pop(L, 1);
    d->keys = lua_newuserdatauv(L, VOUCH_JSON_KEYS * sizeof *d->keys, 1);
    memset(d->keys, 0, VOUCH_JSON_KEYS * sizeof *d->keys);
    lua_createtable(L, VOUCH_JSON_KEYS, 0);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, KEYS_KEY);
  }
  d->keys = lua_touserdata(L, -1);
  lua_getiuservalue(L, -1, 1);
  lua_replace(L, -2);  /* the table in the userdata's place */
  d->keysidx = lua_gettop(L);
  d->push = 1;
}


void vouch_json_push_end(vouch_jdec_t *d, lua_State *L) {
  lua_remove(L, d->keysidx);
  lua_remove(L, d->nullidx);
}


/* Push the object key d->str, the n-th of its object. */
static void push_key(vouch_jdec_t *d, int n) {
  lua_State *L = d->L;
  int slot;
  vouch_jkey_t *k;
  if (d->depth > VOUCH_JSON_KEY_DEPTHS || n >= VOUCH_JSON_KEY_PLACES ||
      d->slen - 1 >= MAX_CACHED_KEY) {  /* an empty key too */
    lua_pushlstring(L, d->str, d->slen);
    return;
  }
  slot = (d->depth - 1) * VOUCH_JSON_KEY_PLACES + n;
  k = &d->keys[slot];
  if (k->len == d->slen && memcmp(k->s, d->str, d->slen) == 0) {
    lua_rawgeti(L, d->keysidx, slot + 1);
    return;
  }
  k->s = lua_pushlstring(L, d->str, d->slen);
  k->len = d->slen;
  lua_pushvalue(L, -1);
  lua_rawseti(L, d->keysidx, slot + 1);
}


void vouch_json_begin(vouch_jdec_t *d, lua_State *L, const char *p, size_t n, int eof) {
  d->L = L;
  d->p = p;
  d->end = p + n;
  d->eof = eof;
  d->depth = 0;
  d->tok = VOUCH_JT_EOF;
  d->ts = d->te = p;
  d->err_at = NULL;
  d->msg[0] = '\0';
}


/* Make room for n bytes in the scratch; NULL when out of memory. */
static char *scratch(vouch_jdec_t *d, size_t n) {
  if (n > d->scap) {
    size_t cap = d->scap ? d->scap : 256;
    char *np;
    while (cap < n) cap *= 2;
    np = realloc(d->scratch, cap);
    if (np == NULL) return NULL;
    d->scratch = np;
    d->scap = cap;
  }
  return d->scratch;
}


/*
** The error `fmt` at `at` (what was read up to it), with the text from the
** token's start to `upto` as its context, as jansson words it: "near 'x'"
** for a context of 1 to 20 bytes, none when longer, "near end of file" when
** empty (but not for a UTF-8 error). Control bytes in the context are
** written as \u00XX.
*/
static int failv(vouch_jdec_t *d, const char *at, const char *upto, int utf8,
                 const char *fmt, va_list ap) {
  size_t n = (size_t)(upto - d->ts), k;
  int len = vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  char *o;
  d->err_at = at;
  if (len < 0 || (size_t)len >= sizeof d->msg - 1) return VOUCH_JSON_BAD;
  o = d->msg + len;
  if (n == 0) {
    if (!utf8) snprintf(o, sizeof d->msg - (size_t)len, " near end of file");
  } else if (n <= 20) {
    char ctx[20 * 6 + 1], *c = ctx;
    for (k = 0; k < n; k++) {
      unsigned char b = (unsigned char)d->ts[k];
      if (b < 0x20) c += sprintf(c, "\\u%04x", b);
      else *c++ = (char)b;
    }
    *c = '\0';
    snprintf(o, sizeof d->msg - (size_t)len, " near '%s'", ctx);
  }
  return VOUCH_JSON_BAD;
}


static int lexfail(vouch_jdec_t *d, const char *at, const char *upto, int utf8,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(d, at, upto, utf8, fmt, ap);
  va_end(ap);
  return d->tok = VOUCH_JT_ERR;
}


int vouch_json_fail(vouch_jdec_t *d, const char *msg) {
  lexfail(d, d->te, d->te, 0, "%s", msg);
  return VOUCH_JSON_BAD;
}


/* The length of the UTF-8 sequence at q (q < e): 0 when invalid, -1 when it
** runs past e. */
static int utf8_len(const unsigned char *q, const unsigned char *e) {
  unsigned c = q[0], cp;
  int n, i;
  n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0) return 0;
  cp = c & (0x3Fu >> (n - 1));
  for (i = 1; i < n; i++) {
    if (q + i >= e) return -1;
    if ((q[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (q[i] & 0x3Fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return n;
}


/*
** The byte after a number or a word at q, which jansson read (and so
** checked as UTF-8) before it gave it back: VOUCH_JT_NEED, VOUCH_JT_ERR, or 0.
*/
static int lookahead(vouch_jdec_t *d, const char *q) {
  int n;
  if (q == d->end) return d->eof ? 0 : (d->tok = VOUCH_JT_NEED);
  if ((unsigned char)*q < 0x80) return 0;
  n = utf8_len((const unsigned char *)q, (const unsigned char *)d->end);
  if (n > 0) return 0;
  if (n < 0 && !d->eof) return d->tok = VOUCH_JT_NEED;
  return lexfail(d, q, q, 1, "unable to decode byte 0x%x", (unsigned char)*q);
}


static int hexval(int c) {
  return isdig(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}


static unsigned hex4(const char *p) {
  return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}


static int put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}


/* A string token from d->ts (its opening quote). */
static int lex_string(vouch_jdec_t *d) {
  const unsigned char *s = (const unsigned char *)d->ts + 1;
  const unsigned char *e = (const unsigned char *)d->end;
  const char *q;
  int esc = 0;
  for (;;) {
    unsigned c;
    while (s < e && *s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\') s++;
    if (s == e) {
      if (!d->eof) return d->tok = VOUCH_JT_NEED;
      return lexfail(d, d->end, d->end, 0, "premature end of input");
    }
    c = *s;
    if (c == '"') break;
    if (c == '\\') {
      const unsigned char *x = s + 1;
      esc = 1;
      if (x == e) {
        if (!d->eof) return d->tok = VOUCH_JT_NEED;
        return lexfail(d, d->end, d->end, 0, "invalid escape");
      }
      if (*x == 'u') {
        int i;
        for (i = 1; i <= 4; i++) {
          if (x + i == e) {
            if (!d->eof) return d->tok = VOUCH_JT_NEED;
            return lexfail(d, d->end, d->end, 0, "invalid escape");
          }
          if (!isdig(x[i]) && !((unsigned)((x[i] | 0x20) - 'a') < 6u))
            return lexfail(d, (const char *)x + i + 1, (const char *)x + i + 1, 0,
                           "invalid escape");
        }
        s = x + 5;
      } else if (*x == '"' || *x == '\\' || *x == '/' || *x == 'b' || *x == 'f' ||
                 *x == 'n' || *x == 'r' || *x == 't') {
        s = x + 1;
      } else {
        return lexfail(d, (const char *)x + 1, (const char *)x + 1, 0, "invalid escape");
      }
      continue;
    }
    if (c < 0x20) {
      if (c == '\n') return lexfail(d, (const char *)s, (const char *)s, 0, "unexpected newline");
      return lexfail(d, (const char *)s, (const char *)s, 0, "control character 0x%x", c);
    }
    {
      int n = utf8_len(s, e);
      if (n < 0 && !d->eof) return d->tok = VOUCH_JT_NEED;
      if (n <= 0)
        return lexfail(d, (const char *)s, (const char *)s, 1, "unable to decode byte 0x%x", c);
      s += n;
    }
  }
  d->te = d->p = (const char *)s + 1;
  if (!esc) {
    d->str = d->ts + 1;
    d->slen = (size_t)((const char *)s - d->str);
    return d->tok = VOUCH_JT_STRING;
  }
  {  /* unescape: never longer than the text */
    char *o = scratch(d, (size_t)((const char *)s - d->ts));
    char *o0 = o;
    if (o == NULL) return lexfail(d, d->te, d->te, 0, "not enough memory");
    for (q = d->ts + 1; q < (const char *)s;) {
      const char *run = q;
      while (q < (const char *)s && *q != '\\') q++;
      memcpy(o, run, (size_t)(q - run));
      o += q - run;
      if (q == (const char *)s) break;
      q++;
      switch (*q) {
        case 'b': *o++ = '\b'; q++; break;
        case 'f': *o++ = '\f'; q++; break;
        case 'n': *o++ = '\n'; q++; break;
        case 'r': *o++ = '\r'; q++; break;
        case 't': *o++ = '\t'; q++; break;
        case 'u': {
          unsigned cp = hex4(q + 1);
          q += 5;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned lo;
            if (q[0] != '\\' || q[1] != 'u')
              return lexfail(d, d->te, d->te, 0, "invalid Unicode '\\u%04X'", cp);
            lo = hex4(q + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
              return lexfail(d, d->te, d->te, 0, "invalid Unicode '\\u%04X\\u%04X'", cp, lo);
            q += 6;
            cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return lexfail(d, d->te, d->te, 0, "invalid Unicode '\\u%04X'", cp);
          }
          o += put_utf8(o, cp);
          break;
        }
        default: *o++ = *q++;  /* " \ / */
      }
    }
    d->str = o0;
    d->slen = (size_t)(o - o0);
  }
  return d->tok = VOUCH_JT_STRING;
}


/*
** A valid real number in t[0..e) whose digits, the point dropped, make an
** integer m below 2^53 and whose value is m * 10^x with |x| <= 22, is m
** times or divided by 10^|x|: both are exact doubles, so the one rounding
** of that product or quotient is the correctly rounded value, as strtod's
** (Clinger's fast path). Short decimals, most of the reals in data, are
** such. 0 for any other number, which strtod reads.
*/
static int fast_real(const char *t, const char *e, double *out) {
  static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
                                 1e20, 1e21, 1e22};
  uint64_t m = 0;
  int neg = *t == '-', digits = 0, x = 0, ex = 0, exneg = 0;
#if FLT_EVAL_METHOD != 0
  return 0;  /* the product would be rounded twice */
#endif
  t += neg;
  for (; t < e && isdig(*t); t++, digits++) m = m * 10 + (uint64_t)(*t - '0');
  if (t < e && *t == '.')
    for (t++; t < e && isdig(*t); t++, digits++, x--) m = m * 10 + (uint64_t)(*t - '0');
  if (digits > 19 || m > (UINT64_C(1) << 53)) return 0;
  if (t < e) {  /* the exponent */
    t++;
    if (*t == '+' || *t == '-') exneg = *t++ == '-';
    for (; t < e; t++) {
      ex = ex * 10 + (*t - '0');
      if (ex > 400) return 0;
    }
    x += exneg ? -ex : ex;
  }
  if (x < -22 || x > 22) return 0;
  *out = x < 0 ? (double)m / pow10[-x] : (double)m * pow10[x];
  if (neg) *out = -*out;
  return 1;
}


/* A number token from d->ts (a digit or '-'). */
static int lex_number(vouch_jdec_t *d) {
  const char *q = d->ts, *e = d->end, *digits;
  int neg = 0, r;
#define MORE() do { if (q == e && !d->eof) return d->tok = VOUCH_JT_NEED; } while (0)
#define INVALID() do { if ((r = lookahead(d, q)) != 0) return r; \
                       d->te = d->p = q; return d->tok = VOUCH_JT_INVALID; } while (0)
  if (*q == '-') { q++; neg = 1; }
  MORE();
  digits = q;
  if (q < e && *q == '0') {
    q++;
    MORE();
    if (q < e && isdig(*q)) { d->te = d->p = q; return d->tok = VOUCH_JT_INVALID; }
  } else if (q < e && isdig(*q)) {
    while (q < e && isdig(*q)) q++;
    MORE();
  } else {
    INVALID();
  }
  if (q == e || (*q != '.' && *q != 'e' && *q != 'E')) {
    size_t n = (size_t)(q - digits), i;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if ((r = lookahead(d, q)) != 0) return r;
    d->te = d->p = q;
    if (n <= 18) {
      for (i = 0; i < n; i++) v = v * 10 + (uint64_t)(digits[i] - '0');
    } else {
      for (i = 0; i < n; i++) {
        unsigned dg = (unsigned)(digits[i] - '0');
        if (v > (lim - dg) / 10)
          return lexfail(d, q, q, 0, neg ? "too big negative integer" : "too big integer");
        v = v * 10 + dg;
      }
    }
    d->ival = neg ? (int64_t)(0 - v) : (int64_t)v;
    return d->tok = VOUCH_JT_INT;
  }
  if (*q == '.') {
    q++;
    MORE();
    if (q == e || !isdig(*q)) INVALID();
    while (q < e && isdig(*q)) q++;
    MORE();
  }
  if (q < e && (*q == 'e' || *q == 'E')) {
    q++;
    MORE();
    if (q < e && (*q == '+' || *q == '-')) q++;
    MORE();
    if (q == e || !isdig(*q)) INVALID();
    while (q < e && isdig(*q)) q++;
    MORE();
  }
  if ((r = lookahead(d, q)) != 0) return r;
  d->te = d->p = q;
  if (fast_real(d->ts, q, &d->dval)) return d->tok = VOUCH_JT_REAL;
  {
    size_t n = (size_t)(q - d->ts);
    char buf[64], *t = n < sizeof buf ? buf : scratch(d, n + 1);
    if (t == NULL) return lexfail(d, q, q, 0, "not enough memory");
    memcpy(t, d->ts, n);
    t[n] = '\0';
    errno = 0;
    d->dval = strtod(t, NULL);
    if (errno == ERANGE && isinf(d->dval)) return lexfail(d, q, q, 0, "real number overflow");
  }
  return d->tok = VOUCH_JT_REAL;
#undef MORE
#undef INVALID
}


int vouch_json_lex(vouch_jdec_t *d) {
  const char *p = d->p, *e = d->end;
  unsigned char c;
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  d->ts = d->te = d->p = p;
  if (p == e) return d->tok = d->eof ? VOUCH_JT_EOF : VOUCH_JT_NEED;
  c = (unsigned char)*p;
  switch (c) {
    case '{': case '}': case '[': case ']': case ':': case ',':
      d->te = d->p = p + 1;
      return d->tok = c;
    case '"': return lex_string(d);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6':
    case '7': case '8': case '9':
      return lex_number(d);
    default: break;
  }
  if (isalpha_(c)) {
    const char *q = p + 1;
    size_t n;
    int r;
    while (q < e && isalpha_(*q)) q++;
    if ((r = lookahead(d, q)) != 0) return r;
    d->te = d->p = q;
    n = (size_t)(q - p);
    if (n == 4 && memcmp(p, "true", 4) == 0) return d->tok = VOUCH_JT_TRUE;
    if (n == 5 && memcmp(p, "false", 5) == 0) return d->tok = VOUCH_JT_FALSE;
    if (n == 4 && memcmp(p, "null", 4) == 0) return d->tok = VOUCH_JT_NULL;
    return d->tok = VOUCH_JT_INVALID;
  }
  if (c >= 0x80) {  /* a whole character for the message, when it is one */
    int n = utf8_len((const unsigned char *)p, (const unsigned char *)e);
    if (n < 0 && !d->eof) return d->tok = VOUCH_JT_NEED;
    if (n <= 0) return lexfail(d, p, p, 1, "unable to decode byte 0x%x", c);
    d->te = d->p = p + n;
    return d->tok = VOUCH_JT_INVALID;
  }
  d->te = d->p = p + 1;  /* any other byte, NUL included */
  return d->tok = VOUCH_JT_INVALID;
}


/* After a lex: stop on an error or a need, which the lexer has set. */
#define LEX(d) do { int t_ = vouch_json_lex(d); \
  if (t_ == VOUCH_JT_ERR) return VOUCH_JSON_BAD; \
  if (t_ == VOUCH_JT_NEED) return VOUCH_JSON_NEED; } while (0)
#define CHECK(x) do { int r_ = (x); if (r_ != VOUCH_JSON_OK) return r_; } while (0)


static int parse_object(vouch_jdec_t *d) {
  lua_State *L = d->L;
  int n = 0, hi = d->depth < 16 ? d->depth : 15;
  LEX(d);
  if (d->push) lua_createtable(L, 0, d->hint[hi]);
  if (d->tok == '}') {
    if (d->push) luaL_setmetatable(L, VOUCH_JSON_OBJECT_MT);
    return VOUCH_JSON_OK;
  }
  for (;;) {
    if (d->tok != VOUCH_JT_STRING) return vouch_json_fail(d, "string or '}' expected");
    if (d->push) push_key(d, n);
    LEX(d);
    if (d->tok != ':') return vouch_json_fail(d, "':' expected");
    LEX(d);
    CHECK(vouch_json_value(d));
    if (d->push) lua_rawset(L, -3);
    n++;
    LEX(d);
    if (d->tok != ',') break;
    LEX(d);
  }
  if (d->tok != '}') return vouch_json_fail(d, "'}' expected");
  d->hint[hi] = n;
  return VOUCH_JSON_OK;
}


static int parse_array(vouch_jdec_t *d) {
  lua_State *L = d->L;
  lua_Integer i = 0;
  LEX(d);
  if (d->push) lua_createtable(L, 0, 0);
  if (d->tok == ']') {
    if (d->push) luaL_setmetatable(L, VOUCH_JSON_ARRAY_MT);
    return VOUCH_JSON_OK;
  }
  while (d->tok != VOUCH_JT_EOF) {
    CHECK(vouch_json_value(d));
    if (d->push) lua_rawseti(L, -2, ++i);
    LEX(d);
    if (d->tok != ',') break;
    LEX(d);
  }
  if (d->tok != ']') return vouch_json_fail(d, "']' expected");
  return VOUCH_JSON_OK;
}


int vouch_json_value(vouch_jdec_t *d) {
  lua_State *L = d->L;
  if (++d->depth > VOUCH_JSON_MAX_DEPTH) return vouch_json_fail(d, "maximum parsing depth reached");
  switch (d->tok) {
    case VOUCH_JT_STRING: if (d->push) lua_pushlstring(L, d->str, d->slen); break;
    case VOUCH_JT_INT: if (d->push) lua_pushinteger(L, (lua_Integer)d->ival); break;
    case VOUCH_JT_REAL: if (d->push) lua_pushnumber(L, d->dval); break;
    case VOUCH_JT_TRUE: if (d->push) lua_pushboolean(L, 1); break;
    case VOUCH_JT_FALSE: if (d->push) lua_pushboolean(L, 0); break;
    case VOUCH_JT_NULL: if (d->push) lua_pushvalue(L, d->nullidx); break;
    case '{':
      if (d->push) luaL_checkstack(L, 4, "JSON nested too deeply");
      CHECK(parse_object(d));
      break;
    case '[':
      if (d->push) luaL_checkstack(L, 4, "JSON nested too deeply");
      CHECK(parse_array(d));
      break;
    case VOUCH_JT_INVALID: return vouch_json_fail(d, "invalid token");
    default: return vouch_json_fail(d, "unexpected token");
  }
  d->depth--;
  return VOUCH_JSON_OK;
}


int vouch_json_decode(vouch_jdec_t *d) {
  LEX(d);
  CHECK(vouch_json_value(d));
  LEX(d);
  if (d->tok != VOUCH_JT_EOF) {
    if (d->push) lua_pop(d->L, 1);
    return vouch_json_fail(d, "end of file expected");
  }
  return VOUCH_JSON_OK;
}


void vouch_json_where(const char *base, const char *at, long *line, long *col) {
  const char *q = base, *nl;
  long c = *col;
  while ((nl = memchr(q, '\n', (size_t)(at - q))) != NULL) {
    (*line)++;
    q = nl + 1;
    c = 0;
  }
  for (; q < at; q++) c += ((unsigned char)*q & 0xC0) != 0x80;
  *col = c;
}
