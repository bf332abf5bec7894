/*
** load_json.c: vouch.load.json and vouch.load.ndjson.
**
** vouch.load.json reads a whole document: jansson parses whole documents
** only, so this loader is not streamed and holds the file and its parsed
** tree in memory. An array yields its elements as rows, an object yields
** itself as one row. vouch.load.ndjson is streamed: one JSON value per line
** (LF or CRLF), parsed one line at a time, so memory is bounded by the
** longest line. Blank lines are skipped. Errors name file:line:column.
**
** For the bulk path (into) rows must be objects; the columns are the keys
** of the first row, in its order, and a later row with another key is an
** error. Nested arrays and objects are stored as JSON text, true and false
** as 1 and 0.
*/
#include <stdlib.h>
#include <string.h>

#include "load.h"

typedef struct json_state {
  int whole;                /* vouch.load.json: the whole document */
  json_t *doc;              /* json: the parsed document; owned */
  int parsed;               /* json: the document was parsed (doc may be gone) */
  size_t next;              /* json: index of the next element */
  size_t count;             /* json: elements (1 for an object) */
  json_t *cur;              /* ndjson: the current line's value; owned */
  long line;                /* ndjson: line number of the next line */
  long rowline;             /* line of the current row, for messages */
  char **dumps;             /* nested values as text for the current row; owned */
  int ndumps, dcap;
  vouch_host_t *h;          /* charged for the trees (--max-memory) */
  size_t doc_charged;       /* for doc */
  size_t cur_charged;       /* for cur */
} json_state;


static void drop_row(json_state *j) {
  int i;
  for (i = 0; i < j->ndumps; i++) free(j->dumps[i]);
  j->ndumps = 0;
  if (j->cur) json_decref(j->cur);
  j->cur = NULL;
  vouch_json_uncharge(j->h, j->cur_charged);
  j->cur_charged = 0;
}


static void drop_doc(json_state *j) {
  if (j->doc) json_decref(j->doc);
  j->doc = NULL;
  vouch_json_uncharge(j->h, j->doc_charged);
  j->doc_charged = 0;
}


static void json_free_state(vouch_source_t *s) {
  json_state *j = s->state;
  drop_row(j);
  free(j->dumps);
  drop_doc(j);
  free(j);
}


/* The columns, from the first row's keys. */
static int first_cols(lua_State *L, vouch_source_t *s, json_t *obj) {
  size_t n = json_object_size(obj), i = 0;
  const char **names = calloc(n + 1, sizeof *names);
  size_t *lens = calloc(n + 1, sizeof *lens);
  const char *k;
  size_t kn;
  json_t *v;
  int fail = names == NULL || lens == NULL;
  json_object_keylen_foreach(obj, k, kn, v) {
    (void)v;
    if (fail) break;
    names[i] = k;
    lens[i++] = kn;
  }
  if (!fail) fail = vouch_source_set_cols(L, s, (int)n, names, lens) != 0;
  free(names);
  free(lens);
  if (fail) return luaL_error(L, "not enough memory");
  return 0;
}


/* Fill s->vals from the object `obj`; VOUCH_BAD with a message. */
static int row_values(lua_State *L, vouch_source_t *s, json_state *j, json_t *obj,
                      const char *where) {
  int i, found = 0;
  if (!json_is_object(obj))
    return vouch_source_bad(L, s, j->whole ? 1 : j->rowline, 1,
                            "%s is not an object (into() stores objects)", where);
  if (s->ncols == 0) {
    if (json_object_size(obj) == 0)
      return vouch_source_bad(L, s, j->whole ? 1 : j->rowline, 1,
                              "%s is an empty object: no columns", where);
    first_cols(L, s, obj);
  }
  if (j->dcap < s->ncols) {
    char **nd = realloc(j->dumps, sizeof *nd * (size_t)s->ncols);
    if (nd == NULL) return luaL_error(L, "not enough memory");
    j->dumps = nd;
    j->dcap = s->ncols;
  }
  for (i = 0; i < s->ncols; i++) {
    vouch_value_t *o = &s->vals[i];
    json_t *v = json_object_getn(obj, s->cols[i], strlen(s->cols[i]));
    if (v) found++;
    switch (v ? json_typeof(v) : JSON_NULL) {
      case JSON_STRING:
        o->type = VOUCH_TEXT;
        o->u.s.p = json_string_value(v);
        o->u.s.n = json_string_length(v);
        break;
      case JSON_INTEGER: o->type = VOUCH_INT; o->u.i = json_integer_value(v); break;
      case JSON_REAL: o->type = VOUCH_REAL; o->u.d = json_real_value(v); break;
      case JSON_TRUE: o->type = VOUCH_INT; o->u.i = 1; break;
      case JSON_FALSE: o->type = VOUCH_INT; o->u.i = 0; break;
      case JSON_NULL: o->type = VOUCH_NULL; break;
      default: {  /* json_dumpb, not json_dumps: its text is ours to free */
        size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        char *t = malloc(n + 1);
        if (n == 0 || t == NULL) { free(t); return luaL_error(L, "not enough memory"); }
        json_dumpb(v, t, n, JSON_COMPACT | JSON_ENCODE_ANY);
        j->dumps[j->ndumps++] = t;
        o->type = VOUCH_TEXT;
        o->u.s.p = t;
        o->u.s.n = n;
      }
    }
  }
  if ((size_t)found != json_object_size(obj)) {
    const char *k;
    size_t kn;
    json_t *v;
    json_object_keylen_foreach(obj, k, kn, v) {
      int known = 0;
      (void)v;
      for (i = 0; i < s->ncols && !known; i++)
        known = strlen(s->cols[i]) == kn && memcmp(s->cols[i], k, kn) == 0;
      if (!known) {
        lua_pushlstring(L, k, kn);
        vouch_source_bad(L, s, j->whole ? 1 : j->rowline, 1,
                         "%s has the key '%s', not a column (the columns are the keys "
                         "of the first row)", where, lua_tostring(L, -1));
        lua_remove(L, -2);
        return VOUCH_BAD;
      }
    }
  }
  return VOUCH_ROW;
}


static int json_next(lua_State *L, vouch_source_t *s, int mode) {
  json_state *j = s->state;
  json_t *row;
  drop_row(j);
  if (j->doc == NULL && !j->parsed) {
    json_error_t err;
    if (!s->eof) return VOUCH_NEED;  /* the whole document first */
    j->doc = vouch_json_load(L, s->buf + s->pos, s->end - s->pos, &err, &j->doc_charged);
    s->pos = s->end;
    j->parsed = 1;
    if (j->doc == NULL) return vouch_source_bad(L, s, err.line, err.column > 0 ? err.column : 1, "%s",
                                         err.text);
    if (json_is_array(j->doc)) j->count = json_array_size(j->doc);
    else if (json_is_object(j->doc)) j->count = 1;
    else return vouch_source_bad(L, s, 1, 1, "expected an array or an object");
  }
  if (mode == VOUCH_MODE_PRIME) return VOUCH_ROW;
  if (j->next >= j->count) {
    drop_doc(j);  /* the document is done: let it go now */
    return VOUCH_END;
  }
  row = json_is_array(j->doc) ? json_array_get(j->doc, j->next) : j->doc;
  j->next++;
  if (mode == VOUCH_MODE_VALUES) {
    char where[48];
    snprintf(where, sizeof where, "element %zu", j->next);
    return row_values(L, s, j, row, where);
  }
  vouch_json_push(L, row);
  return VOUCH_ROW;
}


static int ndjson_next(lua_State *L, vouch_source_t *s, int mode) {
  json_state *j = s->state;
  drop_row(j);
  if (mode == VOUCH_MODE_PRIME) return VOUCH_ROW;
  for (;;) {
    const char *p = s->buf + s->pos, *e = s->buf + s->end, *nl;
    size_t n;
    json_error_t err;
    if (p == e && s->eof) return VOUCH_END;
    nl = memchr(p, '\n', (size_t)(e - p));
    if (nl == NULL && !s->eof) return VOUCH_NEED;
    if (nl == NULL) nl = e;
    s->pos = (size_t)(nl - s->buf) + (nl < e);
    j->rowline = j->line++;
    n = (size_t)(nl - p);
    if (n > 0 && p[n - 1] == '\r') n--;
    {
      size_t i = 0;
      while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
      if (i == n) continue;  /* blank line */
    }
    s->line = j->rowline;  /* so that a scorecard can say where a row came from */
    j->cur = vouch_json_load(L, p, n, &err, &j->cur_charged);
    if (j->cur == NULL) {
      if (s->skip_bad) { s->bad_rows++; continue; }
      return vouch_source_bad(L, s, j->rowline, err.column > 0 ? err.column : 1, "%s",
                              err.text);
    }
    if (mode == VOUCH_MODE_VALUES) {
      int rc = row_values(L, s, j, j->cur, "the row");
      if (rc == VOUCH_BAD && s->skip_bad) {
        lua_pop(L, 1);
        s->bad_rows++;
        drop_row(j);
        continue;
      }
      return rc;
    }
    vouch_json_push(L, j->cur);
    return VOUCH_ROW;
  }
}


static const vouch_loader_t json_loader = {"json", json_next, json_free_state, NULL};
static const vouch_loader_t ndjson_loader = {"ndjson", ndjson_next, json_free_state, NULL};


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
  j->h = vouch_host(L);
  j->whole = whole;
  j->line = 1;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "skip_bad");
    s->skip_bad = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  return vouch_source_open(L, 3, path);
}


/* vouch.load.json(path [, opts]): a source of the rows of a JSON document (not
** streamed). opts.timeout: milliseconds for the open and each read. */
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
