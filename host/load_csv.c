/*
** load_csv.c: vouch.load.csv, an RFC 4180 parser that works on the bytes
** in place, its tokenizer running on the loop's thread pool.
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
**
** The work is split in two (see load.c). On the loop's thread pool,
** csv_scan_chunk tokenizes each chunk as it is read: records (blank lines
** dropped), their fields (unescaped), the first problem of each, and, once
** the column types are known, the fields converted to typed values. It
** keeps the unfinished record at a chunk's end as the carry-over for the
** next one. The main thread's csv_next only decides (header, field counts,
** skip_bad, errors, in the order it always did) and makes the Lua table or
** the bound row; records of the first batch, made before the header was
** read, are converted there too. The worker's state (csv_scan) is never
** touched by the main thread while a work item runs; the main thread's
** (csv_state) never by the worker: csv_prepare copies the column types
** across between work items. A batch keeps 16 bytes a field and 32-bit
** offsets, so a record of 4 GiB or more is refused as not enough memory.
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

/*
** A field in a batch: its value once converted (V_NIL .. V_BOOL), or V_RAW.
** A string (V_STR) or a field not converted yet keeps where its bytes are in
** u.s: in the batch's bytes, or in its scratch when esc. 16 bytes a field.
*/
enum { V_NIL, V_INT, V_NUM, V_STR, V_BOOL, V_RAW };
typedef struct cval {
  union { lua_Integer i; double d; int b; struct { uint32_t off, n; } s; } u;
  unsigned char t;
  unsigned char quoted;     /* was quoted: "" is an empty string, not nil */
  unsigned char esc;        /* held "": unescaped into the scratch */
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

/* The tokenizer: one record at a time (worker thread). */
typedef struct tok {
  const unsigned char *cls; /* byte classes for the delimiter in use */
  fld *f;                   /* fields of the current record; owned */
  int nf, fcap;
  char *scratch;            /* unescaped quoted fields; owned */
  size_t slen, scap;
  int ecode;                /* E_*: the record's first problem */
  const char *epos;         /* where it is */
} tok;

/* A tokenized record in a batch; offsets are into the batch's bytes. */
typedef struct crec {
  size_t rec, next;         /* where it starts, where the next one starts */
  size_t epos;              /* the problem (ecode) or the opening quote (unterm) */
  long line0;               /* its first line */
  int f0, nf;               /* its fields: b->v[f0 .. f0 + nf) */
  int ecode;                /* E_*: its first problem */
  int unterm;               /* an unterminated quoted field: the input ends */
  int bad;                  /* the first field that failed conversion, -1 none,
                               -2 not converted yet */
} crec;

/* What one work item made. */
typedef struct csv_batch {
  char *buf;                /* the bytes the records point into; owned */
  char *scratch;            /* unescaped fields; owned */
  size_t slen, scap, bufcap;
  cval *v;                  /* the fields of all records; owned */
  int nf, fcap;
  crec *r;                  /* the records; owned */
  int nr, rcap;
  int next;                 /* main thread: the next record to take */
  int end;                  /* the input ends after these records */
} csv_batch;

/* The worker's state: the scanner's, given to the reader. */
typedef struct csv_scan {
  unsigned char cls[256];   /* byte classes for the delimiter in use */
  tok t;
  long line;                /* line number at the start of buf */
  int bom_done;             /* the byte order mark check is done */
  int ncols;                /* columns, once the types are known */
  int auto_types;           /* no schema or names: the first good record fixes
                               the columns, all inferred (1: a header, 2: data) */
  unsigned char *types;     /* per column, T_*; owned */
  char *buf;                /* the carry-over, then the chunk after it; owned */
  size_t len, cap;
} csv_scan;

typedef struct csv_state {
  int header;               /* the first record names the columns */
  int arrays;               /* rows are arrays: no header and no opts.columns */
  int started;              /* the header (or the BOM check) is done */
  int ncols;                /* fields per record, 0 until known */
  unsigned char *types;     /* per column, T_*; owned */
  char **names;             /* opts.columns; owned */
  size_t *nlens;
  int nnames;
  char **sch_names;         /* opts.schema keys (NULL for integer keys); owned */
  int *sch_idx;             /* integer keys, 1-based */
  unsigned char *sch_types;
  int nsch;
  char **want;              /* opts.header (a list) or opts.require_columns; owned */
  size_t *wlens;
  int nwant;
  int exact;                /* opts.header: no other column either */
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


static void note(tok *c, int code, const unsigned char *p) {
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
static int parse_record(tok *c, const char *buf, size_t pos, size_t end, int eof,
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


/*
** Convert field `f` for a column of type `t` into v (a string leaves v->u
** as it was: where the bytes are). Returns 0, or -1 when bad, v unchanged.
*/
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


/*
** {======================================================
** Scanning (the thread pool's side; no Lua here)
** =======================================================
*/

static void batch_free(void *bp) {
  csv_batch *b = bp;
  if (b == NULL) return;
  free(b->buf);
  free(b->scratch);
  free(b->v);
  free(b->r);
  free(b);
}


static void scan_free(void *wp) {
  csv_scan *w = wp;
  free(w->t.f);
  free(w->t.scratch);
  free(w->types);
  free(w->buf);
  free(w);
}


/* Main thread, between work items: the worker converts once types are known. */
static void csv_prepare(vouch_source_t *s, void *wp) {
  csv_state *c = s->state;
  csv_scan *w = wp;
  if (w->types == NULL && c->types != NULL && c->ncols > 0) {
    w->types = malloc((size_t)c->ncols);
    if (w->types == NULL) return;  /* the main thread converts instead */
    memcpy(w->types, c->types, (size_t)c->ncols);
    w->ncols = c->ncols;
  }
}


/* Add the record just tokenized in w->t to the batch. Returns -1 when out of memory. */
static int add_record(csv_scan *w, csv_batch *b, size_t rec, size_t next, long line0) {
  tok *t = &w->t;
  crec *r;
  int i;
  if (b->nr == b->rcap) {
    int ncap = b->rcap ? b->rcap * 2 : 256;
    crec *nr = realloc(b->r, sizeof *nr * (size_t)ncap);
    if (nr == NULL) return -1;
    b->r = nr;
    b->rcap = ncap;
  }
  if (b->nf + t->nf > b->fcap) {
    int ncap = b->fcap ? b->fcap * 2 : 1024;
    cval *nv;
    while (ncap < b->nf + t->nf) ncap *= 2;
    nv = realloc(b->v, sizeof *nv * (size_t)ncap);
    if (nv == NULL) return -1;
    b->v = nv;
    b->fcap = ncap;
  }
  r = &b->r[b->nr++];
  r->rec = rec;
  r->next = next;
  r->line0 = line0;
  r->f0 = b->nf;
  r->nf = t->nf;
  r->ecode = t->ecode;
  r->epos = t->ecode != E_NONE ? (size_t)(t->epos - w->buf) : 0;
  r->unterm = 0;
  r->bad = -2;
  for (i = 0; i < t->nf; i++) {
    const fld *f = &t->f[i];
    cval *v = &b->v[b->nf + i];
    v->t = V_RAW;
    v->quoted = f->quoted;
    v->esc = f->esc;
    v->u.s.n = (uint32_t)f->n;
    if (f->esc) {  /* the scratch is the tokenizer's: copy it to the batch's */
      if (b->slen + f->n > b->scap) {
        size_t ncap = (b->slen + f->n) * 2 + 64;
        char *ns;
        if (ncap >= UINT32_MAX) return -1;
        ns = realloc(b->scratch, ncap);
        if (ns == NULL) return -1;
        b->scratch = ns;
        b->scap = ncap;
      }
      memcpy(b->scratch + b->slen, f->p, f->n);
      v->u.s.off = (uint32_t)b->slen;
      b->slen += f->n;
    } else {
      v->u.s.off = (uint32_t)(f->p - w->buf);
    }
  }
  if (w->auto_types && w->types == NULL && t->ecode == E_NONE) {
    /* As csv_next will: this record is the header, or the first row of arrays. */
    w->types = calloc((size_t)t->nf + 1, 1);  /* T_INFER */
    if (w->types == NULL) return -1;
    w->ncols = t->nf;
    if (w->auto_types == 1) {  /* the header is not converted */
      b->nf += t->nf;
      return 0;
    }
  }
  if (w->types && t->ecode == E_NONE && t->nf == w->ncols) {
    r->bad = -1;
    for (i = 0; i < t->nf; i++)
      if (convert(&t->f[i], w->types[i], &b->v[b->nf + i]) != 0) { r->bad = i; break; }
  }
  b->nf += t->nf;
  return 0;
}


/*
** Where the worker reads the next n bytes: after the carry-over. Offsets in
** a batch are 32 bits: a record of 4 GiB or more is refused (NULL) as out of
** memory.
*/
static char *csv_space(void *wp, size_t n) {
  csv_scan *w = wp;
  if (w->len + n >= UINT32_MAX) return NULL;
  if (w->len + n > w->cap) {
    size_t ncap = w->cap * 2;
    char *nb;
    if (ncap < w->len + n) ncap = w->len + n;
    nb = realloc(w->buf, ncap);
    if (nb == NULL) return NULL;
    w->buf = nb;
    w->cap = ncap;
  }
  return w->buf + w->len;
}


/*
** The scanner (thread pool): tokenize every complete record of the
** carry-over and the n bytes read after it. The batch takes the bytes; the
** unfinished record at their end is copied to the carry-over buffer, which
** is the spare batch's old bytes when there is one.
*/
static void *csv_scan_chunk(void *wp, void *spare, size_t n, int eof, size_t *bytes) {
  csv_scan *w = wp;
  csv_batch *b = spare;
  size_t pos = 0, tail;
  if (b == NULL) b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->nr = b->nf = b->next = b->end = 0;
  b->slen = 0;
  w->len += n;
  if (!w->bom_done) {
    if (w->len < 3 && !eof) goto done;
    if (w->len >= 3 && memcmp(w->buf, "\xEF\xBB\xBF", 3) == 0) pos = 3;
    w->bom_done = 1;
  }
  for (;;) {
    size_t next;
    long lines, line0 = w->line;
    int rc = parse_record(&w->t, w->buf, pos, w->len, eof, &next, &lines);
    if (rc == R_NEED) break;
    if (rc == R_NOMEM) goto nomem;
    if (rc == R_EOF) { b->end = 1; break; }
    if (rc == R_UNTERM) {
      w->t.nf = 0;
      w->t.ecode = E_NONE;
      if (add_record(w, b, pos, pos, line0) != 0) goto nomem;
      b->r[b->nr - 1].unterm = 1;
      b->r[b->nr - 1].epos = (size_t)(w->t.epos - w->buf);
      b->end = 1;
      break;
    }
    w->line += lines;
    if (!(w->t.nf == 1 && w->t.f[0].n == 0 && !w->t.f[0].quoted))  /* blank line */
      if (add_record(w, b, pos, next, line0) != 0) goto nomem;
    pos = next;
  }
  tail = w->len - pos;
  if (b->nr == 0) {  /* nothing points into the bytes: keep them */
    memmove(w->buf, w->buf + pos, tail);
  } else {  /* swap: the batch takes the bytes, the carry-over its old ones */
    char *ob = b->buf;
    size_t ocap = b->bufcap, want = eof ? tail : tail + n;
    b->buf = w->buf;
    b->bufcap = w->cap;
    if (ocap < want || ocap == 0) {
      free(ob);
      ocap = want + 1;
      ob = malloc(ocap);
      if (ob == NULL) {
        w->buf = NULL;
        w->cap = w->len = 0;
        goto nomem;
      }
    }
    memcpy(ob, b->buf + pos, tail);
    w->buf = ob;
    w->cap = ocap;
  }
  w->len = tail;
done:
  *bytes = sizeof *b + b->bufcap + b->scap + (size_t)b->fcap * sizeof *b->v +
           (size_t)b->rcap * sizeof *b->r + w->cap + w->t.scap +
           (size_t)w->t.fcap * sizeof *w->t.f;
  return b;
nomem:
  batch_free(b);
  return NULL;
}


static const vouch_scanner_t csv_scanner = {csv_space, csv_scan_chunk, csv_prepare, batch_free,
                                            scan_free, NULL};

/* }====================================================== */


static void csv_free(vouch_source_t *s) {
  csv_state *c = s->state;
  int i;
  for (i = 0; i < c->nnames; i++) free(c->names[i]);
  for (i = 0; i < c->nsch; i++) free(c->sch_names[i]);
  for (i = 0; i < c->nwant; i++) free(c->want[i]);
  free(c->want);
  free(c->wlens);
  free(c->names);
  free(c->nlens);
  free(c->sch_names);
  free(c->sch_idx);
  free(c->sch_types);
  free(c->types);
  free(c);
}


/* The columns are known: give every one its type from the schema. */
static int set_types(lua_State *L, vouch_source_t *s, csv_state *c) {
  int i, j;
  c->types = calloc((size_t)c->ncols + 1, 1);
  if (c->types == NULL) return luaL_error(L, "not enough memory");
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


/*
** Take the next record of the batch. The checks run in the order they
** always did: an unterminated quote, the record's first problem, the header,
** the number of fields, then the conversions (done by the worker when it
** knew the types, else here).
*/
/* The bytes of a field not converted, or of a string. */
static const char *field_p(const csv_batch *b, const cval *v) {
  return (v->esc ? b->scratch : b->buf) + v->u.s.off;
}


/*
** The header read from the file against opts.header or opts.require_columns:
** VOUCH_ROW when it has what they ask, else VOUCH_BAD naming the columns
** missing and (opts.header) those not expected, in their orders.
*/
static int check_header(lua_State *L, vouch_source_t *s, csv_state *c, long line,
                        const char *const *names, const size_t *lens, int n) {
  luaL_Buffer b;
  int i, k, missing = 0, extra = 0;
  luaL_buffinit(L, &b);
  for (k = 0; k < c->nwant; k++) {
    for (i = 0; i < n; i++)
      if (lens[i] == c->wlens[k] && memcmp(names[i], c->want[k], lens[i]) == 0) break;
    if (i == n) {
      luaL_addstring(&b, missing++ ? ", '" : "missing column(s) '");
      luaL_addlstring(&b, c->want[k], c->wlens[k]);
      luaL_addchar(&b, '\'');
    }
  }
  for (i = 0; c->exact && i < n; i++) {
    for (k = 0; k < c->nwant; k++)
      if (lens[i] == c->wlens[k] && memcmp(names[i], c->want[k], lens[i]) == 0) break;
    if (k == c->nwant) {
      luaL_addstring(&b, extra++ ? ", '" : missing ? "; unexpected column(s) '"
                                                   : "unexpected column(s) '");
      luaL_addlstring(&b, names[i], lens[i]);
      luaL_addchar(&b, '\'');
    }
  }
  luaL_pushresult(&b);
  if (missing == 0 && extra == 0) {
    lua_pop(L, 1);
    return VOUCH_ROW;
  }
  vouch_source_bad(L, s, line, 1, "the header is not the one expected: %s", lua_tostring(L, -1));
  lua_remove(L, -2);
  return VOUCH_BAD;
}


static int csv_next(lua_State *L, vouch_source_t *s, int mode) {
  csv_state *c = s->state;
  csv_batch *b = s->batch;
  const crec *r;
  cval *v;
  int i;
  if (mode == VOUCH_MODE_PRIME && (!c->header || c->started)) return VOUCH_ROW;
  for (;;) {
    const char *rec;
    long line0;
    if (b == NULL || b->next == b->nr) {
      if (b == NULL || !b->end) return VOUCH_NEED;
      if (!c->started && c->nwant > 0) {
        lua_pushfstring(L, "%s: the file is empty, where a header was expected", s->path);
        return VOUCH_BAD;
      }
      c->started = 1;
      return mode == VOUCH_MODE_PRIME ? VOUCH_ROW : VOUCH_END;
    }
    r = &b->r[b->next];
    rec = b->buf + r->rec;
    line0 = r->line0;
    v = b->v + r->f0;
    if (r->unterm) {
      if (s->skip_bad && c->started) {
        s->bad_rows++;
        b->next++;
        continue;  /* the end follows */
      }
      return bad_at(L, s, rec, line0, b->buf + r->epos, "unterminated quoted field", NULL,
                    0, 0);
    }
    b->next++;
    if (r->ecode != E_NONE) {
      if (s->skip_bad && c->started) { s->bad_rows++; continue; }
      return bad_at(L, s, rec, line0, b->buf + r->epos, err_text[r->ecode], NULL, 0, 0);
    }
    s->line = line0;  /* so that a scorecard can say where a row came from */
    if (!c->started) {
      c->started = 1;
      if (c->header && c->nnames == 0) {
        const char **names = malloc(sizeof *names * (size_t)r->nf);
        size_t *lens = malloc(sizeof *lens * (size_t)r->nf);
        int fail = names == NULL || lens == NULL;
        for (i = 0; !fail && i < r->nf; i++) {
          names[i] = field_p(b, &v[i]);
          lens[i] = v[i].u.s.n;
        }
        /* A name given twice would make rows() keep the last value and
        ** into() fail in SQLite: refuse it here, where it can be named. */
        lua_createtable(L, 0, r->nf);
        for (i = 0; !fail && i < r->nf; i++) {
          lua_pushlstring(L, names[i], lens[i]);
          if (lua_rawget(L, -2) != LUA_TNIL) {
            const char *at = v[i].esc ? rec : names[i];
            lua_pushlstring(L, names[i], lens[i]);
            free(names);
            free(lens);
            return bad_at(L, s, rec, line0, at, "duplicate column name '%s'",
                          lua_tostring(L, -1), 0, 0);
          }
          lua_pop(L, 1);
          lua_pushlstring(L, names[i], lens[i]);
          lua_pushboolean(L, 1);
          lua_rawset(L, -3);
        }
        lua_pop(L, 1);
        if (!fail && c->nwant > 0 &&
            check_header(L, s, c, line0, names, lens, r->nf) == VOUCH_BAD) {
          free(names);
          free(lens);
          return VOUCH_BAD;
        }
        if (!fail) fail = vouch_source_set_cols(L, s, r->nf, names, lens) != 0;
        free(names);
        free(lens);
        if (fail) return luaL_error(L, "not enough memory");
        c->ncols = r->nf;
        set_types(L, s, c);
        return VOUCH_ROW;  /* PRIME: the header is read */
      }
      if (c->header) {  /* opts.columns name them: the header row is skipped */
        if (r->nf != c->ncols)
          return bad_at(L, s, rec, line0, b->buf + r->next,
                        "wrong number of fields (expected %d, got %d)", NULL,
                        c->ncols, r->nf);
        return VOUCH_ROW;
      }
      if (c->ncols == 0) {  /* arrays: the first row fixes the count */
        set_numbered(L, s, c, r->nf);
        set_types(L, s, c);
      }
    }
    if (r->nf != c->ncols) {
      const char *at;
      if (s->skip_bad) { s->bad_rows++; continue; }
      if (r->nf > c->ncols) at = field_p(b, &v[c->ncols]) - (v[c->ncols].quoted ? 1 : 0);
      else {
        at = b->buf + r->next;  /* the end of the record, before its line break */
        while (at > rec && (at[-1] == '\n' || at[-1] == '\r')) at--;
      }
      if (r->nf > c->ncols && v[c->ncols].esc) at = rec;  /* in the scratch */
      return bad_at(L, s, rec, line0, at, "wrong number of fields (expected %d, got %d)",
                    NULL, c->ncols, r->nf);
    }
    i = r->bad;
    if (i == -2) {  /* the worker did not know the types yet */
      for (i = 0; i < r->nf; i++) {
        fld f;
        f.p = field_p(b, &v[i]);
        f.n = v[i].u.s.n;
        f.quoted = v[i].quoted;
        f.esc = v[i].esc;
        if (convert(&f, c->types[i], &v[i]) != 0) break;
      }
      if (i == r->nf) i = -1;
    }
    if (i >= 0) {
      static const char *const want[] = {"", "an integer", "a number", "", "a boolean"};
      const char *p = field_p(b, &v[i]);
      const char *at = v[i].esc ? rec : p - (v[i].quoted ? 1 : 0);
      long line, col;
      if (s->skip_bad) { s->bad_rows++; continue; }
      where(rec, line0, at, &line, &col);
      lua_pushlstring(L, p, v[i].u.s.n > 40 ? 40 : v[i].u.s.n);
      vouch_source_bad(L, s, line, col, "column '%s': expected %s, got '%s'", s->cols[i],
                       want[c->types[i]], lua_tostring(L, -1));
      lua_remove(L, -2);
      return VOUCH_BAD;
    }
    break;
  }
  if (mode == VOUCH_MODE_FIELD) {  /* a row of arrays has no named field */
    i = c->arrays ? -1 : s->field;
    if (i < 0 || i >= r->nf) lua_pushnil(L);
    else switch (v[i].t) {
      case V_NIL: lua_pushnil(L); break;
      case V_INT: lua_pushinteger(L, v[i].u.i); break;
      case V_NUM: lua_pushnumber(L, v[i].u.d); break;
      case V_BOOL: lua_pushboolean(L, v[i].u.b); break;
      default: lua_pushlstring(L, field_p(b, &v[i]), v[i].u.s.n);
    }
    return VOUCH_ROW;
  }
  if (mode == VOUCH_MODE_VALUES) {
    for (i = 0; i < r->nf; i++) {
      vouch_value_t *o = &s->vals[i];
      switch (v[i].t) {
        case V_NIL: o->type = VOUCH_NULL; break;
        case V_INT: o->type = VOUCH_INT; o->u.i = v[i].u.i; break;
        case V_BOOL: o->type = VOUCH_INT; o->u.i = v[i].u.b; break;
        case V_NUM: o->type = VOUCH_REAL; o->u.d = v[i].u.d; break;
        default:
          o->type = VOUCH_TEXT;
          o->u.s.p = field_p(b, &v[i]);
          o->u.s.n = v[i].u.s.n;
      }
    }
    return VOUCH_ROW;
  }
  if (c->arrays) {
    lua_createtable(L, r->nf, 0);
    for (i = 0; i < r->nf; i++) {
      switch (v[i].t) {
        case V_NIL: continue;
        case V_INT: lua_pushinteger(L, v[i].u.i); break;
        case V_NUM: lua_pushnumber(L, v[i].u.d); break;
        case V_BOOL: lua_pushboolean(L, v[i].u.b); break;
        default: lua_pushlstring(L, field_p(b, &v[i]), v[i].u.s.n);
      }
      lua_rawseti(L, -2, i + 1);
    }
  } else {
    int kidx = lua_gettop(L);  /* the keys table */
    lua_createtable(L, 0, r->nf);
    for (i = 0; i < r->nf; i++) {
      if (v[i].t == V_NIL) continue;
      lua_rawgeti(L, kidx, i + 1);
      switch (v[i].t) {
        case V_INT: lua_pushinteger(L, v[i].u.i); break;
        case V_NUM: lua_pushnumber(L, v[i].u.d); break;
        case V_BOOL: lua_pushboolean(L, v[i].u.b); break;
        default: lua_pushlstring(L, field_p(b, &v[i]), v[i].u.s.n);
      }
      lua_rawset(L, -3);
    }
  }
  return VOUCH_ROW;
}


static const vouch_loader_t csv_loader = {"csv", csv_next, csv_free, &csv_scanner, 1};


static int opt_field(lua_State *L, const char *name, int type) {
  int t = lua_getfield(L, 2, name);
  if (t != LUA_TNIL && t != type) {
    return luaL_argerror(L, 2, lua_pushfstring(L, "opts.%s: %s expected, got %s", name,
                      lua_typename(L, type), luaL_typename(L, -1)));
  }
  return t != LUA_TNIL;
}


/* The list of names on top of the stack (opts.`what`) into c->want. */
static void want_names(lua_State *L, csv_state *c, const char *what) {
  int n = (int)luaL_len(L, -1), i;
  if (n < 1) {
    luaL_argerror(L, 2, lua_pushfstring(L, "opts.%s is empty", what));
    return;
  }
  c->want = calloc((size_t)n, sizeof *c->want);
  c->wlens = calloc((size_t)n, sizeof *c->wlens);
  if (c->want == NULL || c->wlens == NULL) luaL_error(L, "not enough memory");
  for (i = 0; i < n; i++) {
    const char *nm;
    if (lua_rawgeti(L, -1, i + 1) != LUA_TSTRING)
      luaL_argerror(L, 2, lua_pushfstring(L, "opts.%s[%d] is not a string", what, i + 1));
    nm = lua_tolstring(L, -1, &c->wlens[i]);
    if ((c->want[i] = malloc(c->wlens[i] + 1)) == NULL) luaL_error(L, "not enough memory");
    memcpy(c->want[i], nm, c->wlens[i] + 1);
    c->nwant = i + 1;
    lua_pop(L, 1);
  }
}


/*
** vouch.load.csv(path [, opts]): a source of the rows of a CSV file.
** opts: header (default true; or the list of the header's names, which
** the file's header must be, in any order), require_columns (names the
** header must hold), columns, delimiter, schema, skip_bad, timeout
** (milliseconds for the open and for each read). With a header list or
** require_columns an empty file is an error.
*/
static int load_csv(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  vouch_source_t *s;
  csv_state *c;
  csv_scan *w;
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
  w = calloc(1, sizeof *w);
  if (w == NULL) return luaL_error(L, "not enough memory");
  s->scan_state = w;
  w->line = 1;
  w->t.cls = w->cls;
  if (lua_istable(L, 2)) {
    static const char *const known[] = {"header", "columns", "delimiter", "schema",
                                        "skip_bad", "timeout", "require_columns", NULL};
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
    if (lua_getfield(L, 2, "header") == LUA_TTABLE) {
      c->exact = 1;
      want_names(L, c, "header");
    } else {
      lua_pop(L, 1);
      if (opt_field(L, "header", LUA_TBOOLEAN)) c->header = lua_toboolean(L, -1);
    }
    lua_pop(L, 1);
    if (opt_field(L, "require_columns", LUA_TTABLE)) {
      if (c->exact)
        return luaL_argerror(L, 2, "opts.header as a list and opts.require_columns together");
      want_names(L, c, "require_columns");
    }
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
  memset(w->cls, K_DATA, sizeof w->cls);
  for (i = 0x80; i < 0x100; i++) w->cls[i] = K_HIGH;
  w->cls[(unsigned char)delim] = K_DELIM;
  w->cls['"'] = K_QUOTE;
  w->cls['\n'] = K_LF;
  w->cls['\r'] = K_CR;
  w->cls[0] = K_NUL;
  if (c->nwant > 0 && (c->nnames > 0 || !c->header))
    return luaL_argerror(L, 2, "opts.header as a list and opts.require_columns check the "
                         "file's header: not with opts.columns or header = false");
  if (c->nnames > 0) {
    s->sidx = 3;
    if (vouch_source_set_cols(L, s, c->nnames, (const char *const *)c->names, c->nlens) != 0)
      return luaL_error(L, "not enough memory");
    c->ncols = c->nnames;
    set_types(L, s, c);
  } else if (!c->header) {
    c->arrays = 1;
  }
  if (c->nnames == 0 && c->nsch == 0) w->auto_types = c->header ? 1 : 2;
  lua_settop(L, 3);
  return vouch_source_open(L, 3, path);
}


void vouch_load_csv_open(lua_State *L) {
  lua_pushcfunction(L, load_csv);
  lua_setfield(L, -2, "csv");
}
