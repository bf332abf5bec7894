/*
** load_csv.c: vouch.load.csv, an RFC 4180 parser that works on the source's
** buffer in place.
**
** Why not libcsv: on the 133 MB, 1,000,000-row workload file libcsv alone
** took 0.28 to 0.46 s to tokenize with empty callbacks (csv_parse, 256 KiB
** chunks), a third to a half of the whole budget for row iteration, and it
** tells neither where a field is (needed for file:line:column errors) nor
** whether it was quoted. This parser scans with a byte-class table, points
** fields into the buffer (only quoted fields holding "" are copied), and
** converts numbers straight from those bytes.
**
** Records end at LF, CRLF or a lone CR; quoted fields may hold delimiters,
** quotes ("") and line breaks. A UTF-8 byte order mark at the start is
** skipped. Blank lines are skipped. Bad records (wrong number of fields, a
** stray quote, invalid UTF-8, a NUL byte, an unterminated quote) raise an
** error naming file:line:column, or are skipped and counted with skip_bad.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

/* Byte classes. */
enum { K_DATA, K_DELIM, K_QUOTE, K_LF, K_CR, K_NUL, K_HIGH };

/* Column types (opts.schema); T_INFER when absent. */
enum { T_INFER, T_INTEGER, T_NUMBER, T_STRING, T_BOOLEAN };
static const char *const type_names[] = {"infer", "integer", "number", "string", "boolean", NULL};

/* A converted value. */
enum { V_NIL, V_INT, V_NUM, V_STR, V_BOOL };
typedef struct cval {
  int t;
  union { lua_Integer i; double d; int b; } u;
} cval;

/* Record-level problems, in the order they are reported. */
enum { E_NONE, E_QUOTE, E_AFTER, E_NUL, E_UTF8 };
static const char *const err_text[] = {
  NULL, "unexpected quote in unquoted field", "unexpected character after closing quote",
  "NUL byte", "invalid UTF-8"
};

typedef struct fld {
  const char *p;            /* the bytes, in the buffer or the scratch */
  size_t n;
  size_t soff;              /* offset in the scratch when esc */
  unsigned char quoted;     /* was quoted: "" is an empty string, not nil */
  unsigned char esc;        /* held "": unescaped into the scratch */
} fld;

typedef struct csv_state {
  unsigned char cls[256];   /* byte classes for the delimiter in use */
  int header;               /* the first record names the columns */
  int arrays;               /* rows are arrays: no header and no opts.columns */
  int started;              /* the header (or the BOM check) is done */
  long line;                /* line number at s->pos */
  int ncols;                /* fields per record, 0 until known */
  unsigned char *types;     /* per column, T_*; owned */
  fld *f;                   /* fields of the current record; owned */
  int nf, fcap;
  cval *v;                  /* converted values; owned */
  int vcap;
  char *scratch;            /* unescaped quoted fields; owned */
  size_t slen, scap;
  int ecode;                /* E_*: the record's first problem */
  const char *epos;         /* where it is */
  char **names;             /* opts.columns; owned */
  size_t *nlens;
  int nnames;
  char **sch_names;         /* opts.schema keys (NULL for integer keys); owned */
  int *sch_idx;             /* integer keys, 1-based */
  unsigned char *sch_types;
  int nsch;
} csv_state;

enum { R_REC, R_NEED, R_EOF, R_UNTERM, R_NOMEM };


/*
** The length of the valid UTF-8 sequence at p (2 to 4), 0 when invalid,
** -1 when the bytes before e are a valid but incomplete start.
*/
static int utf8_len(const unsigned char *p, const unsigned char *e) {
  unsigned c = p[0], cp;
  int n, i;
  if (c < 0xC2) return 0;
  n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
  if (n == 0) return 0;
  cp = c & (0x3Fu >> (n - 1));
  for (i = 1; i < n; i++) {
    if (p + i >= e) return -1;
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3Fu);
    if (i == 1 && n == 3 && (cp < 0x20 || (cp >= 0x360 && cp < 0x380))) return 0;
    if (i == 1 && n == 4 && (cp < 0x10 || cp > 0x10F)) return 0;
  }
  return n;
}


static void note(csv_state *c, int code, const unsigned char *p) {
  if (c->ecode == E_NONE) {
    c->ecode = code;
    c->epos = (const char *)p;
  }
}


/*
** Parse one record at buf[pos..end). On R_REC the fields are in c->f,
** *next is where the next record starts and *lines how many lines this one
** took. On R_UNTERM c->epos is the opening quote.
*/
static int parse_record(csv_state *c, const char *buf, size_t pos, size_t end, int eof,
                        size_t *next, long *lines) {
  const unsigned char *p = (const unsigned char *)buf + pos;
  const unsigned char *e = (const unsigned char *)buf + end;
  const unsigned char *cls = c->cls;
  long nl = 0;
  int k;
  c->nf = 0;
  c->slen = 0;
  c->ecode = E_NONE;
  if (p == e) return eof ? R_EOF : R_NEED;
  for (;;) {
    fld *f;
    if (c->nf == c->fcap) {
      int ncap = c->fcap ? c->fcap * 2 : 32;
      fld *nfp = realloc(c->f, sizeof *nfp * (size_t)ncap);
      if (nfp == NULL) return R_NOMEM;
      c->f = nfp;
      c->fcap = ncap;
    }
    f = &c->f[c->nf++];
    if (p < e && *p == '"') {
      const unsigned char *q0 = p, *start = ++p;
      int esc = 0;
      for (;;) {
        if (p == e) {
          if (!eof) return R_NEED;
          c->epos = (const char *)q0;
          return R_UNTERM;
        }
        k = cls[*p];
        if (k <= K_DELIM) { p++; continue; }
        if (k == K_QUOTE) {
          if (p + 1 == e && !eof) return R_NEED;
          if (p + 1 < e && p[1] == '"') { esc = 1; p += 2; continue; }
          break;
        }
        if (k == K_LF) { nl++; p++; continue; }
        if (k == K_CR) { p++; continue; }
        if (k == K_NUL) { note(c, E_NUL, p); p++; continue; }
        {
          int n = utf8_len(p, e);
          if (n < 0 && !eof) return R_NEED;
          if (n <= 0) { note(c, E_UTF8, p); p++; }
          else p += n;
        }
      }
      f->p = (const char *)start;
      f->n = (size_t)(p - start);
      f->quoted = 1;
      f->esc = 0;
      if (esc) {
        size_t i, j;
        if (c->slen + f->n > c->scap) {
          size_t ncap = (c->slen + f->n) * 2 + 64;
          char *ns = realloc(c->scratch, ncap);
          if (ns == NULL) return R_NOMEM;
          c->scratch = ns;
          c->scap = ncap;
        }
        for (i = 0, j = c->slen; i < f->n; i++) {
          c->scratch[j++] = f->p[i];
          if (f->p[i] == '"') i++;  /* "" is one quote */
        }
        f->soff = c->slen;
        f->n = j - c->slen;
        c->slen = j;
        f->esc = 1;
      }
      p++;  /* past the closing quote */
      while (p < e && (k = cls[*p]) != K_DELIM && k != K_LF && k != K_CR) {
        note(c, E_AFTER, p);
        p++;
      }
    } else {
      const unsigned char *start = p;
      for (;;) {
        if (p == e) break;
        k = cls[*p];
        if (k == K_DATA) { p++; continue; }
        if (k <= K_DELIM || k == K_LF || k == K_CR) break;
        if (k == K_QUOTE) { note(c, E_QUOTE, p); p++; continue; }
        if (k == K_NUL) { note(c, E_NUL, p); p++; continue; }
        {
          int n = utf8_len(p, e);
          if (n < 0 && !eof) return R_NEED;
          if (n <= 0) { note(c, E_UTF8, p); p++; }
          else p += n;
        }
      }
      f->p = (const char *)start;
      f->n = (size_t)(p - start);
      f->quoted = 0;
      f->esc = 0;
    }
    /* The field ends at p: a delimiter, a line end or the end of input. */
    if (p == e) {
      if (!eof) return R_NEED;
      break;
    }
    k = cls[*p];
    if (k == K_DELIM) { p++; continue; }
    if (k == K_LF) { p++; nl++; break; }
    /* CR: with a LF after it, or alone */
    if (p + 1 == e && !eof) return R_NEED;
    p++;
    if (p < e && *p == '\n') p++;
    nl++;
    break;
  }
  if (c->slen) {
    int i;
    for (i = 0; i < c->nf; i++)
      if (c->f[i].esc) c->f[i].p = c->scratch + c->f[i].soff;
  }
  *next = (size_t)(p - (const unsigned char *)buf);
  *lines = nl;
  return R_REC;
}


/* Line and column (in characters) of `at`, in the record starting at `rec`. */
static void where(const char *rec, long line0, const char *at, long *line, long *col) {
  const char *ls = rec, *p;
  long l = line0, cc = 1;
  for (p = rec; p < at; p++)
    if (*p == '\n') { l++; ls = p + 1; }
  for (p = ls; p < at; p++)
    if (((unsigned char)*p & 0xC0) != 0x80) cc++;
  *line = l;
  *col = cc;
}


/* {======================================================
** Values
** =======================================================
*/

static const double pow10tab[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
** Parse a decimal number from p[0..n): 1 with an integer in *iv, 2 with a
** float in *dv, 0 when it is not one. With `strict` (type inference) a
** leading '+', leading zeros ("007") and integers beyond 64 bits are not
** numbers, so that identifiers stay strings; with a schema they are.
*/
static int parse_number(const char *p, size_t n, int strict, lua_Integer *iv, double *dv) {
  const char *s = p, *e = p + n;
  uint64_t m = 0;
  int neg = 0, digits = 0, exp = 0, isint = 1, slow = 0;
  if (s < e && *s == '-') { neg = 1; s++; }
  else if (!strict && s < e && *s == '+') s++;
  if (s == e || (unsigned)(*s - '0') > 9) return 0;
  if (strict && *s == '0' && s + 1 < e && (unsigned)(s[1] - '0') <= 9) return 0;
  for (; s < e && (unsigned)(*s - '0') <= 9; s++) {
    if (digits < 19) { m = m * 10 + (uint64_t)(*s - '0'); if (m) digits++; }
    else { slow = 1; exp++; }
  }
  if (s < e && *s == '.') {
    s++;
    if (s == e || (unsigned)(*s - '0') > 9) return 0;
    isint = 0;
    for (; s < e && (unsigned)(*s - '0') <= 9; s++) {
      if (digits < 19) { m = m * 10 + (uint64_t)(*s - '0'); if (m) digits++; exp--; }
      else slow = 1;
    }
  }
  if (s < e && (*s == 'e' || *s == 'E')) {
    int eneg = 0, ev = 0;
    s++;
    isint = 0;
    if (s < e && (*s == '+' || *s == '-')) eneg = *s++ == '-';
    if (s == e || (unsigned)(*s - '0') > 9) return 0;
    for (; s < e && (unsigned)(*s - '0') <= 9; s++)
      if (ev < 100000) ev = ev * 10 + (*s - '0');
    exp += eneg ? -ev : ev;
  }
  if (s != e) return 0;
  if (isint) {
    if (slow) return 0;
    if (neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX) return 0;
    *iv = neg ? (lua_Integer)(0 - m) : (lua_Integer)m;
    return 1;
  }
  if (!slow && m <= (1ull << 53) && exp >= -22 && exp <= 22) {
    double d = (double)m;
    d = exp < 0 ? d / pow10tab[-exp] : d * pow10tab[exp];
    *dv = neg ? -d : d;
    return 2;
  } else {
    char tmp[128], *end;
    double d;
    if (n >= sizeof tmp) return 0;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    d = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(d)) return 0;
    *dv = d;
    return 2;
  }
}


/* Convert field `f` for a column of type `t`. Returns 0, or -1 when bad. */
static int convert(const fld *f, int t, cval *v) {
  const char *p = f->p;
  size_t n = f->n;
  if (n == 0) {
    v->t = (f->quoted && (t == T_INFER || t == T_STRING)) ? V_STR : V_NIL;
    return 0;
  }
  switch (t) {
    case T_INFER: {
      unsigned char c0 = (unsigned char)p[0];
      if ((unsigned)(c0 - '0') <= 9 || c0 == '-') {
        int r = parse_number(p, n, 1, &v->u.i, &v->u.d);
        if (r) { v->t = r == 1 ? V_INT : V_NUM; return 0; }
      } else if (n == 4 && memcmp(p, "true", 4) == 0) {
        v->t = V_BOOL; v->u.b = 1; return 0;
      } else if (n == 5 && memcmp(p, "false", 5) == 0) {
        v->t = V_BOOL; v->u.b = 0; return 0;
      }
      v->t = V_STR;
      return 0;
    }
    case T_INTEGER: {
      double d;
      int r = parse_number(p, n, 0, &v->u.i, &d);
      if (r != 1) return -1;
      v->t = V_INT;
      return 0;
    }
    case T_NUMBER: {
      lua_Integer i;
      int r = parse_number(p, n, 0, &i, &v->u.d);
      if (r == 0) return -1;
      if (r == 1) v->u.d = (double)i;
      v->t = V_NUM;
      return 0;
    }
    case T_BOOLEAN:
      if ((n == 4 && memcmp(p, "true", 4) == 0) || (n == 1 && p[0] == '1')) {
        v->t = V_BOOL; v->u.b = 1; return 0;
      }
      if ((n == 5 && memcmp(p, "false", 5) == 0) || (n == 1 && p[0] == '0')) {
        v->t = V_BOOL; v->u.b = 0; return 0;
      }
      return -1;
    default:
      v->t = V_STR;
      return 0;
  }
}

/* }====================================================== */


static void csv_free(vouch_source_t *s) {
  csv_state *c = s->state;
  int i;
  for (i = 0; i < c->nnames; i++) free(c->names[i]);
  for (i = 0; i < c->nsch; i++) free(c->sch_names[i]);
  free(c->names);
  free(c->nlens);
  free(c->sch_names);
  free(c->sch_idx);
  free(c->sch_types);
  free(c->types);
  free(c->f);
  free(c->v);
  free(c->scratch);
  free(c);
}


/* The columns are known: give every one its type from the schema. */
static int set_types(lua_State *L, vouch_source_t *s, csv_state *c) {
  int i, j;
  c->types = calloc((size_t)c->ncols + 1, 1);
  c->v = calloc((size_t)c->ncols + 1, sizeof *c->v);
  if (c->types == NULL || c->v == NULL) return luaL_error(L, "not enough memory");
  c->vcap = c->ncols;
  for (i = 0; i < c->nsch; i++) {
    int idx = -1;
    if (c->sch_names[i] == NULL) {
      idx = c->sch_idx[i] - 1;
      if (idx >= c->ncols) idx = -1;
    } else {
      for (j = 0; j < s->ncols; j++)
        if (strcmp(s->cols[j], c->sch_names[i]) == 0) { idx = j; break; }
    }
    if (idx < 0) {
      if (c->sch_names[i])
        lua_pushfstring(L, "%s: opts.schema names a column that is not in the file: '%s'",
                        s->path, c->sch_names[i]);
      else
        lua_pushfstring(L, "%s: opts.schema names column %d of %d", s->path,
                        c->sch_idx[i], c->ncols);
      return lua_error(L);
    }
    c->types[idx] = c->sch_types[i];
  }
  return 0;
}


/* Columns without names (header = false): c1, c2, ... for into(). */
static void set_numbered(lua_State *L, vouch_source_t *s, csv_state *c, int n) {
  char **names = calloc((size_t)n + 1, sizeof *names);
  size_t *lens = calloc((size_t)n + 1, sizeof *lens);
  int i, fail = names == NULL || lens == NULL;
  for (i = 0; !fail && i < n; i++) {
    names[i] = malloc(16);
    if (names[i] == NULL) { fail = 1; break; }
    lens[i] = (size_t)snprintf(names[i], 16, "c%d", i + 1);
  }
  if (!fail) fail = vouch_source_set_cols(L, s, n, (const char *const *)names, lens) != 0;
  for (i = 0; names && i < n; i++) free(names[i]);
  free(names);
  free(lens);
  if (fail) luaL_error(L, "not enough memory");
  c->ncols = n;
}


static int bad_at(lua_State *L, vouch_source_t *s, const char *rec, long line0,
                  const char *at, const char *fmt, const char *a, int x, int y) {
  long line, col;
  where(rec, line0, at, &line, &col);
  if (a) return vouch_source_bad(L, s, line, col, fmt, a, x, y);
  return vouch_source_bad(L, s, line, col, fmt, x, y);
}


static int csv_next(lua_State *L, vouch_source_t *s, int mode) {
  csv_state *c = s->state;
  int i;
  if (mode == VOUCH_MODE_PRIME && (!c->header || c->started)) return VOUCH_ROW;
  if (!c->started && s->pos == 0) {
    if (s->end < 3 && !s->eof) return VOUCH_NEED;
    if (s->end >= 3 && memcmp(s->buf, "\xEF\xBB\xBF", 3) == 0) s->pos = 3;
  }
  for (;;) {
    size_t next;
    long lines, line0 = c->line;
    const char *rec = s->buf + s->pos;
    int rc = parse_record(c, s->buf, s->pos, s->end, s->eof, &next, &lines);
    if (rc == R_NEED) return VOUCH_NEED;
    if (rc == R_NOMEM) return luaL_error(L, "not enough memory");
    if (rc == R_EOF) {
      c->started = 1;
      return mode == VOUCH_MODE_PRIME ? VOUCH_ROW : VOUCH_END;
    }
    if (rc == R_UNTERM) {
      if (s->skip_bad && c->started) {
        s->bad_rows++;
        s->pos = s->end;
        return VOUCH_END;
      }
      return bad_at(L, s, rec, line0, c->epos, "unterminated quoted field", NULL, 0, 0);
    }
    s->pos = next;
    c->line += lines;
    if (c->nf == 1 && c->f[0].n == 0 && !c->f[0].quoted) continue;  /* blank line */
    if (c->ecode != E_NONE) {
      if (s->skip_bad && c->started) { s->bad_rows++; continue; }
      return bad_at(L, s, rec, line0, c->epos, err_text[c->ecode], NULL, 0, 0);
    }
    if (!c->started) {
      c->started = 1;
      if (c->header && c->nnames == 0) {
        const char **names = malloc(sizeof *names * (size_t)c->nf);
        size_t *lens = malloc(sizeof *lens * (size_t)c->nf);
        int fail = names == NULL || lens == NULL;
        for (i = 0; !fail && i < c->nf; i++) {
          names[i] = c->f[i].p;
          lens[i] = c->f[i].n;
        }
        if (!fail) fail = vouch_source_set_cols(L, s, c->nf, names, lens) != 0;
        free(names);
        free(lens);
        if (fail) return luaL_error(L, "not enough memory");
        c->ncols = c->nf;
        set_types(L, s, c);
        return VOUCH_ROW;  /* PRIME: the header is read */
      }
      if (c->header) {  /* opts.columns name them: the header row is skipped */
        if (c->nf != c->ncols)
          return bad_at(L, s, rec, line0, s->buf + s->pos,
                        "wrong number of fields (expected %d, got %d)", NULL,
                        c->ncols, c->nf);
        return VOUCH_ROW;
      }
      if (c->ncols == 0) {  /* arrays: the first row fixes the count */
        set_numbered(L, s, c, c->nf);
        set_types(L, s, c);
      }
    }
    if (c->nf != c->ncols) {
      const char *at;
      if (s->skip_bad) { s->bad_rows++; continue; }
      if (c->nf > c->ncols) at = c->f[c->ncols].p - (c->f[c->ncols].quoted ? 1 : 0);
      else {
        at = s->buf + s->pos;  /* the end of the record, before its line break */
        while (at > rec && (at[-1] == '\n' || at[-1] == '\r')) at--;
      }
      if (c->nf > c->ncols && c->f[c->ncols].esc) at = rec;  /* in the scratch */
      return bad_at(L, s, rec, line0, at, "wrong number of fields (expected %d, got %d)",
                    NULL, c->ncols, c->nf);
    }
    for (i = 0; i < c->nf; i++) {
      if (convert(&c->f[i], c->types[i], &c->v[i]) != 0) {
        static const char *const want[] = {"", "an integer", "a number", "", "a boolean"};
        const char *at = c->f[i].esc ? rec : c->f[i].p - (c->f[i].quoted ? 1 : 0);
        long line, col;
        if (s->skip_bad) break;
        where(rec, line0, at, &line, &col);
        lua_pushlstring(L, c->f[i].p, c->f[i].n > 40 ? 40 : c->f[i].n);
        vouch_source_bad(L, s, line, col, "column '%s': expected %s, got '%s'", s->cols[i],
                         want[c->types[i]], lua_tostring(L, -1));
        lua_remove(L, -2);
        return VOUCH_BAD;
      }
    }
    if (i < c->nf) { s->bad_rows++; continue; }
    break;
  }
  if (mode == VOUCH_MODE_VALUES) {
    for (i = 0; i < c->nf; i++) {
      vouch_value_t *o = &s->vals[i];
      const cval *v = &c->v[i];
      switch (v->t) {
        case V_NIL: o->type = VOUCH_NULL; break;
        case V_INT: o->type = VOUCH_INT; o->u.i = v->u.i; break;
        case V_BOOL: o->type = VOUCH_INT; o->u.i = v->u.b; break;
        case V_NUM: o->type = VOUCH_REAL; o->u.d = v->u.d; break;
        default:
          o->type = VOUCH_TEXT;
          o->u.s.p = c->f[i].p;
          o->u.s.n = c->f[i].n;
      }
    }
    return VOUCH_ROW;
  }
  if (c->arrays) {
    lua_createtable(L, c->nf, 0);
    for (i = 0; i < c->nf; i++) {
      const cval *v = &c->v[i];
      switch (v->t) {
        case V_NIL: continue;
        case V_INT: lua_pushinteger(L, v->u.i); break;
        case V_NUM: lua_pushnumber(L, v->u.d); break;
        case V_BOOL: lua_pushboolean(L, v->u.b); break;
        default: lua_pushlstring(L, c->f[i].p, c->f[i].n);
      }
      lua_rawseti(L, -2, i + 1);
    }
  } else {
    int kidx = lua_gettop(L);  /* the keys table */
    lua_createtable(L, 0, c->nf);
    for (i = 0; i < c->nf; i++) {
      const cval *v = &c->v[i];
      if (v->t == V_NIL) continue;
      lua_rawgeti(L, kidx, i + 1);
      switch (v->t) {
        case V_INT: lua_pushinteger(L, v->u.i); break;
        case V_NUM: lua_pushnumber(L, v->u.d); break;
        case V_BOOL: lua_pushboolean(L, v->u.b); break;
        default: lua_pushlstring(L, c->f[i].p, c->f[i].n);
      }
      lua_rawset(L, -3);
    }
  }
  return VOUCH_ROW;
}


static const vouch_loader_t csv_loader = {"csv", csv_next, csv_free};


static int opt_field(lua_State *L, const char *name, int type) {
  int t = lua_getfield(L, 2, name);
  if (t != LUA_TNIL && t != type) {
    return luaL_argerror(L, 2, lua_pushfstring(L, "opts.%s: %s expected, got %s", name,
                      lua_typename(L, type), luaL_typename(L, -1)));
  }
  return t != LUA_TNIL;
}


/*
** vouch.load.csv(path [, opts]): a source of the rows of a CSV file.
** opts: header (default true), columns, delimiter, schema, skip_bad,
** timeout (milliseconds for the open and for each read).
*/
static int load_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  vouch_source_t *s;
  csv_state *c;
  char delim = ',';
  int i;
  int64_t timeout;
  vouch_op_check(L);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  timeout = vouch_opt_timeout(L, 2);
  s = vouch_source_new(L, &csv_loader);  /* at 3 */
  s->timeout = timeout;
  c = calloc(1, sizeof *c);
  if (c == NULL) return luaL_error(L, "not enough memory");
  s->state = c;
  s->path = strdup(path);
  if (s->path == NULL) return luaL_error(L, "not enough memory");
  c->header = 1;
  c->line = 1;
  if (lua_istable(L, 2)) {
    static const char *const known[] = {"header", "columns", "delimiter", "schema",
                                        "skip_bad", "timeout", NULL};
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *const *k;
      lua_pop(L, 1);
      for (k = known; *k; k++)
        if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), *k) == 0) break;
      if (*k == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s'",
                          luaL_tolstring(L, -1, NULL)));
    }
    if (opt_field(L, "header", LUA_TBOOLEAN)) c->header = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (opt_field(L, "skip_bad", LUA_TBOOLEAN)) s->skip_bad = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (opt_field(L, "delimiter", LUA_TSTRING)) {
      size_t n;
      const char *d = lua_tolstring(L, -1, &n);
      if (n != 1 || *d == '"' || *d == '\r' || *d == '\n' || *d == '\0' || (*d & 0x80))
        return luaL_argerror(L, 2, lua_pushfstring(L, "opts.delimiter must be one "
                          "ASCII character other than a quote or line break"));
      delim = *d;
    }
    lua_pop(L, 1);
    if (opt_field(L, "columns", LUA_TTABLE)) {
      int n = (int)luaL_len(L, -1);
      if (n < 1) return luaL_argerror(L, 2, lua_pushfstring(L, "opts.columns is empty"));
      c->names = calloc((size_t)n, sizeof *c->names);
      c->nlens = calloc((size_t)n, sizeof *c->nlens);
      if (c->names == NULL || c->nlens == NULL) return luaL_error(L, "not enough memory");
      for (i = 0; i < n; i++) {
        const char *nm;
        if (lua_rawgeti(L, -1, i + 1) != LUA_TSTRING)
          return luaL_argerror(L, 2, lua_pushfstring(L, "opts.columns[%d] is not a string",
                            i + 1));
        nm = lua_tolstring(L, -1, &c->nlens[i]);
        c->names[i] = malloc(c->nlens[i] + 1);
        if (c->names[i] == NULL) return luaL_error(L, "not enough memory");
        memcpy(c->names[i], nm, c->nlens[i] + 1);
        c->nnames = i + 1;
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
    if (opt_field(L, "schema", LUA_TTABLE)) {
      int n = 0;
      lua_pushnil(L);
      while (lua_next(L, -2)) { n++; lua_pop(L, 1); }
      c->sch_names = calloc((size_t)n + 1, sizeof *c->sch_names);
      c->sch_idx = calloc((size_t)n + 1, sizeof *c->sch_idx);
      c->sch_types = calloc((size_t)n + 1, 1);
      if (!c->sch_names || !c->sch_idx || !c->sch_types)
        return luaL_error(L, "not enough memory");
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        const char *tn = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
        int t;
        for (t = 1; type_names[t]; t++)
          if (strcmp(tn, type_names[t]) == 0) break;
        if (type_names[t] == NULL)
          return luaL_argerror(L, 2, lua_pushfstring(L, "opts.schema: type of '%s' must be "
                            "\"integer\", \"number\", \"string\" or \"boolean\"",
                            luaL_tolstring(L, -2, NULL)));
        if (lua_type(L, -2) == LUA_TSTRING) {
          c->sch_names[c->nsch] = strdup(lua_tostring(L, -2));
          if (c->sch_names[c->nsch] == NULL) return luaL_error(L, "not enough memory");
        } else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1 &&
                   lua_tointeger(L, -2) <= 1000000) {
          c->sch_idx[c->nsch] = (int)lua_tointeger(L, -2);
        } else {
          return luaL_argerror(L, 2, lua_pushfstring(L, "opts.schema keys are column "
                            "names or numbers"));
        }
        c->sch_types[c->nsch++] = (unsigned char)t;
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 1);
  }
  memset(c->cls, K_DATA, sizeof c->cls);
  for (i = 0x80; i < 0x100; i++) c->cls[i] = K_HIGH;
  c->cls[(unsigned char)delim] = K_DELIM;
  c->cls['"'] = K_QUOTE;
  c->cls['\n'] = K_LF;
  c->cls['\r'] = K_CR;
  c->cls[0] = K_NUL;
  if (c->nnames > 0) {
    s->sidx = 3;
    if (vouch_source_set_cols(L, s, c->nnames, (const char *const *)c->names, c->nlens) != 0)
      return luaL_error(L, "not enough memory");
    c->ncols = c->nnames;
    set_types(L, s, c);
  } else if (!c->header) {
    c->arrays = 1;
  }
  lua_settop(L, 3);
  return vouch_source_open(L, 3, path);
}


void vouch_load_csv_open(lua_State *L) {
  lua_pushcfunction(L, load_csv);
  lua_setfield(L, -2, "csv");
}
