/*
** load_json.c: vouch.load.json and vouch.load.ndjson.
**
** Both decode with json_decode.c straight into Lua values (or, for into(),
** into the row's bound values), and both are streamed. vouch.load.json
** reads a top-level array element by element: memory is bounded by the
** longest element, not by the file (an element that crosses a read is
** gathered whole first, by a scan that only follows strings and brackets,
** and then decoded once). An object at the top is one row. A document of
** up to 512 KiB is checked whole when the source is opened, so a small
** file's syntax error is the open's; past that, the row that meets an
** error raises it. vouch.load.ndjson reads one JSON value per line (LF or
** CRLF); blank lines are skipped. Errors name file:line:column.
**
** For the bulk path (into) rows must be objects; the columns are the keys
** of the first row, in its order, and a later row with another key is an
** error. Nested arrays and objects are stored as their JSON text (as
** written, less the whitespace), true and false as 1 and 0.
*/
#include <stdlib.h>
#include <string.h>

#include "json_decode.h"
#include "load.h"

/* A document this long or shorter is checked whole when it is opened. */
#ifdef VOUCH_LOAD_CHUNK
#define WHOLE (4 * VOUCH_LOAD_CHUNK)  /* the fuzzers' tiny reads: stream short inputs too */
#else
#define WHOLE (512 * 1024)
#endif

/* Where vouch.load.json is in the document. */
enum {
  P_START,                  /* before the first token */
  P_FIRST,                  /* after '[' */
  P_ELEM,                   /* after ',' */
  P_COMMA,                  /* after an element */
  P_OBJECT,                 /* at a top-level object */
  P_AFTER,                  /* after the document's value */
  P_DONE
};

/* A member of the row being bound (into): offsets into the arena. */
typedef struct member {
  size_t koff, klen;        /* the key */
  vouch_value_t v;          /* the value; for text, u.s.p is an offset */
} member;

typedef struct json_state {
  int whole;                /* vouch.load.json (else ndjson) */
  int phase;                /* json: P_* */
  long line, col;           /* line of s->pos, characters before it on that line */
  size_t elements;          /* json: elements read */
  int gathering;            /* json: the element at s->pos crosses a read */
  int gathered;             /* ... and is in the buffer whole */
  size_t scan;              /* bytes of it scanned */
  int sdepth, sstr, sesc;   /* the scan: open brackets, in a string, after '\\' */
  vouch_jdec_t d;           /* the decoder; d.scratch owned */
  char *arena;              /* keys, strings and nested text of the bound row; owned */
  size_t alen, acap;
  member *m;                /* the bound row's members; owned */
  int nm, mcap;
} json_state;


static void json_free_state(vouch_source_t *s) {
  json_state *j = s->state;
  free(j->d.scratch);
  free(j->arena);
  free(j->m);
  free(j);
}


/* Move s->pos to `to`, keeping the line and column of s->pos. */
static void advance(vouch_source_t *s, json_state *j, const char *to) {
  vouch_json_where(s->buf + s->pos, to, &j->line, &j->col);
  s->pos = (size_t)(to - s->buf);
}


/* The decoder's error as "path:line:col: message"; `base` is at line:col. */
static int bad_json(lua_State *L, vouch_source_t *s, json_state *j, const char *base,
                    long line, long col) {
  vouch_json_where(base, j->d.err_at, &line, &col);
  return vouch_source_bad(L, s, line, col > 0 ? col : 1, "%s", j->d.msg);
}


/* Append n bytes to the arena; their offset, or (size_t)-1. */
static size_t arena_put(json_state *j, const char *p, size_t n) {
  size_t off = j->alen;
  if (j->alen + n > j->acap) {
    size_t cap = j->acap ? j->acap : 1024;
    char *na;
    while (cap < j->alen + n) cap *= 2;
    if ((na = realloc(j->arena, cap)) == NULL) return (size_t)-1;
    j->arena = na;
    j->acap = cap;
  }
  if (n) memcpy(j->arena + j->alen, p, n);
  j->alen += n;
  return off;
}


/* Valid JSON text p[0..n) less its whitespace, into the arena. */
static size_t arena_minify(json_state *j, const char *p, size_t n) {
  size_t off = arena_put(j, NULL, 0), i;
  int str = 0, esc = 0;
  if (off == (size_t)-1 || arena_put(j, p, n) == (size_t)-1) return (size_t)-1;
  j->alen = off;
  for (i = 0; i < n; i++) {
    char c = p[i];
    if (str) {
      if (esc) esc = 0;
      else if (c == '\\') esc = 1;
      else if (c == '"') str = 0;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      str = 1;
    }
    j->arena[j->alen++] = c;
  }
  return off;
}


#define LEX(d) do { int t_ = vouch_json_lex(d); \
  if (t_ == VOUCH_JT_ERR) return VOUCH_JSON_BAD; \
  if (t_ == VOUCH_JT_NEED) return VOUCH_JSON_NEED; } while (0)
#define CHECK(x) do { int r_ = (x); if (r_ != VOUCH_JSON_OK) return r_; } while (0)

/*
** The members of the object whose '{' is the current token, into j->m and
** the arena. VOUCH_JSON_OK, _NEED or _BAD (the decoder's error); 3 when the
** value is valid JSON but not an object.
*/
static int bind_object(json_state *j) {
  vouch_jdec_t *d = &j->d;
  j->nm = 0;
  j->alen = 0;
  d->push = 0;
  if (d->tok != '{') {
    CHECK(vouch_json_value(d));  /* a syntax error comes first */
    return 3;
  }
  if (++d->depth > VOUCH_JSON_MAX_DEPTH) return vouch_json_fail(d, "maximum parsing depth reached");
  LEX(d);
  if (d->tok == '}') { d->depth--; return VOUCH_JSON_OK; }
  for (;;) {
    member *m;
    if (d->tok != VOUCH_JT_STRING) return vouch_json_fail(d, "string or '}' expected");
    if (j->nm == j->mcap) {
      int cap = j->mcap ? j->mcap * 2 : 16;
      member *nm = realloc(j->m, sizeof *nm * (size_t)cap);
      if (nm == NULL) return vouch_json_fail(d, "not enough memory");
      j->m = nm;
      j->mcap = cap;
    }
    m = &j->m[j->nm++];
    if ((m->koff = arena_put(j, d->str, d->slen)) == (size_t)-1)
      return vouch_json_fail(d, "not enough memory");
    m->klen = d->slen;
    LEX(d);
    if (d->tok != ':') return vouch_json_fail(d, "':' expected");
    LEX(d);
    switch (d->tok) {
      case VOUCH_JT_STRING:
        m->v.type = VOUCH_TEXT;
        m->v.u.s.n = d->slen;
        if ((m->v.u.s.p = (const char *)arena_put(j, d->str, d->slen)) == (const char *)-1)
          return vouch_json_fail(d, "not enough memory");
        break;
      case VOUCH_JT_INT: m->v.type = VOUCH_INT; m->v.u.i = d->ival; break;
      case VOUCH_JT_REAL: m->v.type = VOUCH_REAL; m->v.u.d = d->dval; break;
      case VOUCH_JT_TRUE: m->v.type = VOUCH_INT; m->v.u.i = 1; break;
      case VOUCH_JT_FALSE: m->v.type = VOUCH_INT; m->v.u.i = 0; break;
      case VOUCH_JT_NULL: m->v.type = VOUCH_NULL; break;
      default: {
        const char *start = d->ts;
        size_t off;
        CHECK(vouch_json_value(d));  /* '[', '{' or an error */
        if ((off = arena_minify(j, start, (size_t)(d->te - start))) == (size_t)-1)
          return vouch_json_fail(d, "not enough memory");
        m->v.type = VOUCH_TEXT;
        m->v.u.s.p = (const char *)off;
        m->v.u.s.n = j->alen - off;
      }
    }
    LEX(d);
    if (d->tok != ',') break;
    LEX(d);
  }
  if (d->tok != '}') return vouch_json_fail(d, "'}' expected");
  d->depth--;
  return VOUCH_JSON_OK;
}


/* Fill s->vals from j->m (the row began at `line`); VOUCH_ROW or VOUCH_BAD. */
static int bind_row(lua_State *L, vouch_source_t *s, json_state *j, long line,
                    const char *where) {
  int i, k;
  if (s->ncols == 0) {
    const char **names;
    size_t *lens;
    int n = 0, fail;
    if (j->nm == 0)
      return vouch_source_bad(L, s, line, 1, "%s is an empty object: no columns", where);
    names = calloc((size_t)j->nm, sizeof *names);
    lens = calloc((size_t)j->nm, sizeof *lens);
    if (names == NULL || lens == NULL) {
      free(names);
      free(lens);
      return luaL_error(L, "not enough memory");
    }
    for (k = 0; k < j->nm; k++) {  /* a key given twice is one column */
      const char *key = j->arena + j->m[k].koff;
      int dup = 0;
      if (memchr(key, '\0', j->m[k].klen)) {
        free(names);
        free(lens);
        return vouch_source_bad(L, s, line, 1, "%s has a key holding a NUL byte, which cannot "
                                "name a column", where);
      }
      for (i = 0; i < n && !dup; i++)
        dup = lens[i] == j->m[k].klen && memcmp(names[i], key, lens[i]) == 0;
      if (!dup) {
        names[n] = key;
        lens[n++] = j->m[k].klen;
      }
    }
    fail = vouch_source_set_cols(L, s, n, names, lens) != 0;
    free(names);
    free(lens);
    if (fail) return luaL_error(L, "not enough memory");
  }
  for (i = 0; i < s->ncols; i++) s->vals[i].type = VOUCH_NULL;
  for (k = 0; k < j->nm; k++) {
    member *m = &j->m[k];
    const char *key = j->arena + m->koff;
    int c = -1;
    if (k < s->ncols && strlen(s->cols[k]) == m->klen && memcmp(s->cols[k], key, m->klen) == 0)
      c = k;  /* the usual case: the first row's order */
    for (i = 0; i < s->ncols && c < 0; i++)
      if (strlen(s->cols[i]) == m->klen && memcmp(s->cols[i], key, m->klen) == 0) c = i;
    if (c < 0) {
      lua_pushlstring(L, key, m->klen);
      vouch_source_bad(L, s, line, 1, "%s has the key '%s', not a column (the columns are the "
                       "keys of the first row)", where, lua_tostring(L, -1));
      lua_remove(L, -2);
      return VOUCH_BAD;
    }
    s->vals[c] = m->v;
    if (m->v.type == VOUCH_TEXT) s->vals[c].u.s.p = j->arena + (size_t)m->v.u.s.p;
  }
  return VOUCH_ROW;
}


/*
** Whether buf[pos..end) holds the whole element that starts at pos, with
** the byte after it; scans on from where the last call stopped.
*/
static int gathered(vouch_source_t *s, json_state *j) {
  const unsigned char *b = (const unsigned char *)s->buf + s->pos;
  const unsigned char *q = b + j->scan, *e = (const unsigned char *)s->buf + s->end;
  int depth = j->sdepth, str = j->sstr, esc = j->sesc;
  for (; q < e; q++) {
    unsigned c = *q;
    if (str) {
      if (esc) esc = 0;
      else if (c == '\\') esc = 1;
      else if (c == '"') {
        str = 0;
        if (depth == 0) return 1;
      }
      continue;
    }
    switch (c) {
      case '"': str = 1; break;
      case '[': case '{': depth++; break;
      case ']': case '}':
        if (depth <= 1) return 1;
        depth--;
        break;
      case ',': case ' ': case '\t': case '\r': case '\n':
        if (depth == 0 && q > b) return 1;
        break;
      default: break;
    }
  }
  j->scan = (size_t)(q - b);
  j->sdepth = depth;
  j->sstr = str;
  j->sesc = esc;
  return 0;
}


/*
** The element (or top-level object) whose first token is current and at
** s->pos, as a Lua value or bound row. VOUCH_ROW, VOUCH_NEED or VOUCH_BAD.
*/
static int element(lua_State *L, vouch_source_t *s, json_state *j, int mode) {
  vouch_jdec_t *d = &j->d;
  int top = lua_gettop(L), rc;
  long line = j->line;
  if (j->gathering && !j->gathered && !s->eof) {
    if (!gathered(s, j)) return VOUCH_NEED;
    j->gathered = 1;
  }
  if (mode == VOUCH_MODE_VALUES) {
    rc = bind_object(j);
  } else {
    vouch_json_push_begin(d, L);
    rc = vouch_json_value(d);
    if (rc == VOUCH_JSON_OK) vouch_json_push_end(d, L);
  }
  if (rc == VOUCH_JSON_NEED) {
    lua_settop(L, top);
    if (!j->gathering) {
      j->gathering = 1;
      j->scan = 0;
      j->sdepth = j->sstr = j->sesc = 0;
    }
    j->gathered = 0;
    return VOUCH_NEED;
  }
  if (rc == VOUCH_JSON_BAD) {
    lua_settop(L, top);
    return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
  }
  j->gathering = j->gathered = 0;
  j->elements++;
  s->line = line;
  advance(s, j, d->te);
  if (rc == 3) {
    char where[48];
    snprintf(where, sizeof where, "element %zu", j->elements);
    return vouch_source_bad(L, s, line, 1, "%s is not an object (into() stores objects)", where);
  }
  if (mode == VOUCH_MODE_VALUES) {
    char where[48];
    snprintf(where, sizeof where, "element %zu", j->elements);
    return bind_row(L, s, j, line, where);
  }
  return VOUCH_ROW;
}


/* Check the document in buf[pos..end) whole (the first read held it all). */
static int check_whole(lua_State *L, vouch_source_t *s, json_state *j) {
  vouch_jdec_t *d = &j->d;
  vouch_json_begin(d, L, s->buf + s->pos, s->end - s->pos, 1);
  d->push = 0;
  if (vouch_json_decode(d) != VOUCH_JSON_OK)
    return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
  return VOUCH_ROW;
}


static int json_next(lua_State *L, vouch_source_t *s, int mode) {
  json_state *j = s->state;
  vouch_jdec_t *d = &j->d;
  for (;;) {
    int t;
    if (j->phase == P_DONE) return VOUCH_END;
    vouch_json_begin(d, L, s->buf + s->pos, s->end - s->pos, s->eof);
    if (j->gathering) {  /* the element at pos: its first token again */
      vouch_json_lex(d);
      d->depth = j->phase == P_OBJECT ? 0 : 1;
      if ((t = element(L, s, j, mode)) == VOUCH_ROW)
        j->phase = j->phase == P_OBJECT ? P_AFTER : P_COMMA;
      return t;
    }
    /* A document of up to WHOLE bytes is read whole before its first token. */
    if (j->phase == P_START && !s->eof && s->end - s->pos < WHOLE) return VOUCH_NEED;
    if (j->phase == P_START && s->eof && check_whole(L, s, j) == VOUCH_BAD) return VOUCH_BAD;
    vouch_json_begin(d, L, s->buf + s->pos, s->end - s->pos, s->eof);
    t = vouch_json_lex(d);
    if (t == VOUCH_JT_NEED) return VOUCH_NEED;
    if (t == VOUCH_JT_ERR) return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
    switch (j->phase) {
      case P_START:
        if (t == '[') {
          advance(s, j, d->te);
          j->phase = P_FIRST;
        } else if (t == '{') {
          advance(s, j, d->ts);
          j->phase = P_OBJECT;
        } else {
          if (t == VOUCH_JT_EOF) {
            vouch_json_fail(d, "unexpected token");
            return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
          }
          return vouch_source_bad(L, s, 1, 1, "expected an array or an object");
        }
        if (mode == VOUCH_MODE_PRIME) return VOUCH_ROW;
        continue;
      case P_FIRST:
      case P_ELEM:
        if (t == ']' && j->phase == P_FIRST) {
          advance(s, j, d->te);
          j->phase = P_AFTER;
          continue;
        }
        if (t == VOUCH_JT_EOF) {
          vouch_json_fail(d, "']' expected");
          return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
        }
        advance(s, j, d->ts);
        d->depth = 1;
        if ((t = element(L, s, j, mode)) == VOUCH_ROW) j->phase = P_COMMA;
        return t;
      case P_COMMA:
        if (t == ',') j->phase = P_ELEM;
        else if (t == ']') j->phase = P_AFTER;
        else {
          vouch_json_fail(d, "']' expected");
          return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
        }
        advance(s, j, d->te);
        continue;
      case P_OBJECT:
        d->depth = 0;
        if ((t = element(L, s, j, mode)) == VOUCH_ROW) j->phase = P_AFTER;
        return t;
      case P_AFTER:
        if (t != VOUCH_JT_EOF) {
          vouch_json_fail(d, "end of file expected");
          return bad_json(L, s, j, s->buf + s->pos, j->line, j->col);
        }
        j->phase = P_DONE;
        return VOUCH_END;
      default:
        return VOUCH_END;
    }
  }
}


static int ndjson_next(lua_State *L, vouch_source_t *s, int mode) {
  json_state *j = s->state;
  vouch_jdec_t *d = &j->d;
  if (mode == VOUCH_MODE_PRIME) return VOUCH_ROW;
  for (;;) {
    const char *p = s->buf + s->pos, *e = s->buf + s->end, *nl;
    size_t n;
    long rowline;
    int rc, top = lua_gettop(L);
    if (p == e && s->eof) return VOUCH_END;
    nl = memchr(p, '\n', (size_t)(e - p));
    if (nl == NULL && !s->eof) return VOUCH_NEED;
    if (nl == NULL) nl = e;
    s->pos = (size_t)(nl - s->buf) + (nl < e);
    rowline = j->line++;
    n = (size_t)(nl - p);
    if (n > 0 && p[n - 1] == '\r') n--;
    {
      size_t i = 0;
      while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
      if (i == n) continue;  /* blank line */
    }
    s->line = rowline;  /* so that a scorecard can say where a row came from */
    vouch_json_begin(d, L, p, n, 1);
    if (mode == VOUCH_MODE_VALUES) {
      vouch_json_lex(d);
      rc = d->tok == VOUCH_JT_ERR ? VOUCH_JSON_BAD : bind_object(j);
      if (rc == VOUCH_JSON_OK || rc == 3) {
        vouch_json_lex(d);
        if (d->tok != VOUCH_JT_ERR && d->tok != VOUCH_JT_EOF) vouch_json_fail(d, "end of file expected");
        if (d->tok != VOUCH_JT_EOF) rc = VOUCH_JSON_BAD;
      }
    } else {
      vouch_json_push_begin(d, L);
      rc = vouch_json_decode(d);
      if (rc == VOUCH_JSON_OK) vouch_json_push_end(d, L);
    }
    if (rc == VOUCH_JSON_BAD) {
      lua_settop(L, top);
      if (s->skip_bad) { s->bad_rows++; continue; }
      return bad_json(L, s, j, p, rowline, 0);
    }
    if (mode == VOUCH_MODE_VALUES) {
      rc = rc == 3 ? vouch_source_bad(L, s, rowline, 1, "the row is not an object (into() "
                                      "stores objects)")
                   : bind_row(L, s, j, rowline, "the row");
      if (rc == VOUCH_BAD && s->skip_bad) {
        lua_pop(L, 1);
        s->bad_rows++;
        continue;
      }
      return rc;
    }
    return VOUCH_ROW;
  }
}


static const vouch_loader_t json_loader = {"json", json_next, json_free_state, NULL, 0};
static const vouch_loader_t ndjson_loader = {"ndjson", ndjson_next, json_free_state, NULL, 0};


static int open_json(lua_State *L, const vouch_loader_t *ld, int whole) {
  const char *path = luaL_checkstring(L, 1);
  vouch_source_t *s;
  json_state *j;
  int64_t timeout;
  vouch_op_check(L);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      lua_pop(L, 1);
      if (strcmp(k, "timeout") != 0 && (whole || strcmp(k, "skip_bad") != 0))
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s'",
                          luaL_tolstring(L, -1, NULL)));
    }
  }
  lua_settop(L, 2);
  timeout = vouch_opt_timeout(L, 2);
  s = vouch_source_new(L, ld);  /* at 3 */
  s->timeout = timeout;
  j = calloc(1, sizeof *j);
  if (j == NULL) return luaL_error(L, "not enough memory");
  s->state = j;
  j->whole = whole;
  j->line = 1;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "skip_bad");
    s->skip_bad = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  return vouch_source_open(L, 3, path);
}


/* vouch.load.json(path [, opts]): a source of the rows of a JSON document, an
** array's elements read one at a time. opts.timeout: milliseconds for the open and each read. */
static int load_json(lua_State *L) {
  return open_json(L, &json_loader, 1);
}


/* vouch.load.ndjson(path [, opts]): a source of the values of a JSON-lines file.
** opts: skip_bad, timeout. */
static int load_ndjson(lua_State *L) {
  return open_json(L, &ndjson_loader, 0);
}


void vouch_load_json_open(lua_State *L) {
  lua_pushcfunction(L, load_json);
  lua_setfield(L, -2, "json");
  lua_pushcfunction(L, load_ndjson);
  lua_setfield(L, -2, "ndjson");
}
