/*
** load_xlsx.c: vouch.load.xlsx, the rows of one sheet of an Excel workbook.
**
** A workbook is a zip of XML parts. The zip is read with minizip over the
** source's file descriptor (pread: its directory is at the end, so the file
** is read out of order), each part inflated a chunk at a time and given to
** expat: no part is ever whole in memory. Before the sheet, the workbook
** (which part is the sheet asked for, the 1904 date system), its
** relationships, the styles (which cell styles are dates) and the shared
** strings are read; the shared strings are held, since cells refer to them
** by index, and count against --max-memory (a workbook whose strings do not
** fit is refused before they are all read). The sheet is then streamed: all
** of that runs on the loop's thread pool, one batch of rows per work item,
** through load.c's scanner interface (scan_file: the scanner reads the file
** itself).
**
** The first row with a value is the header: its cells name the columns. A
** cell is a number (an integer when written as one), a boolean, a string
** (shared or inline, or a formula's text) or, when its number format is a
** date or a time, the ISO text of its value ("2024-03-01",
** "2024-03-01T09:30:00", "09:30:00"). Empty cells are nil. Bad input is an
** error naming the file, the sheet and the cell: `partners.xlsx:Sheet1!C7:
** ...`. A hostile workbook stays bounded: a cell of more than 128 KiB of
** text, a row of more than 16 MiB, a column past XFD (the last one a sheet
** can have), an XML token of more than 4 MiB (expat buffers a tag until it
** ends) and a DTD are each refused with an error.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <expat.h>
#include <unzip.h>

#include "dl.h"
#include "load.h"

#define MAX_COLS 16384            /* A..XFD */
#define MAX_CELL (128 * 1024)     /* Excel's 32,767 characters, in UTF-8 */
#define MAX_ROW (16 * 1024 * 1024)
#define MAX_TOKEN (4 * 1024 * 1024)
#define FEED (64 * 1024)          /* inflated bytes per expat call */
#define BATCH_ROWS 4096
#define BATCH_TEXT (512 * 1024)
#define SS_CAP ((size_t)1 << 30)  /* shared strings without --max-memory */

/* What a cell holds once converted. */
enum { X_NUM, X_INT, X_STR, X_BOOL };

typedef struct xcell {
  union { lua_Integer i; double d; int b; struct { uint32_t off, n; } s; } u;
  int col;                  /* 0-based column */
  unsigned char t;          /* X_* */
} xcell;

typedef struct xrow {
  int64_t num;              /* the row's number, 1-based */
  int c0, nc;               /* its cells: c[c0 .. c0 + nc) */
} xrow;

/* What one work item made. */
typedef struct xbatch {
  xcell *c;                 /* the cells of all rows; owned */
  int nc, ccap;
  xrow *r;                  /* the rows; owned */
  int nr, rcap;
  char *text;               /* the strings the cells point into; owned */
  size_t tlen, tcap;
  char *sheet;              /* the sheet's name, for messages; owned */
  char *err;                /* "Sheet!A1: why", after the rows; owned */
  int next;                 /* main thread: the next row to take */
  int end;                  /* the sheet ends after these rows (or err) */
} xbatch;

/* Which part the XML handlers are reading. */
enum { P_WORKBOOK, P_RELS, P_STYLES, P_SST, P_SHEET };

/* Date flags of a number format. */
enum { D_DATE = 1, D_TIME = 2 };

/* The file as minizip sees it. */
typedef struct zio {
  int fd;
  int64_t size, pos;
  int err;
} zio;

/* The worker's state: the scanner's, given to the reader. */
typedef struct xscan {
  char *want;               /* opts.sheet by name, or NULL; owned */
  int want_index;           /* opts.sheet by position (1-based), 0 */
  size_t budget;            /* bytes the shared strings may take */
  zio io;
  unzFile uz;               /* the open zip, or NULL */
  int opened;               /* the parts before the sheet are read */
  int done;                 /* the sheet is read */
  int part;                 /* P_*: what the handlers read */
  const char *part_name;    /* its zip name, for messages */
  XML_Parser xp;            /* the parser of the part being read; owned */
  char *inbuf;              /* inflated bytes; owned */
  size_t since_event;       /* bytes given to expat since a handler last ran */
  char *err;                /* the first error; owned until a batch takes it */
  int nomem;
  /* workbook.xml and its relationships */
  char **names, **rids;     /* the sheets in order; owned */
  int nsheets, shcap, ridcap;
  int chosen;               /* index of the sheet read */
  char *sheet_target, *ss_target, *styles_target;  /* zip names; owned */
  int date1904;
  /* styles.xml */
  int *fmt_ids;             /* custom number formats that are dates ... */
  unsigned char *fmt_flags; /* ... and their D_* flags; owned */
  int nfmt, fmtcap;
  unsigned char *xf;        /* per cell style, D_* of its number format; owned */
  int nxf, xfcap;
  int in_cellxfs;
  /* sharedStrings.xml */
  int have_ss;              /* the workbook has a shared-strings part */
  char *ss;                 /* all strings, end to end; owned */
  size_t sslen, sscap;
  uint32_t *ssoff;          /* string k is ss[ssoff[k] .. ssoff[k+1]); owned */
  size_t nss, ssoffcap;
  int in_si, in_t, in_rph;
  /* the sheet */
  int64_t rownum;           /* the row being read, or the last one */
  int in_row;
  int col;                  /* the cell being read (0-based), or the last one */
  int ctype;                /* its t attribute: 's', 'n', 'b', 'i' (inline), 'f' (str), 'e', 'd' */
  int cstyle;               /* its s attribute */
  int in_v, in_is;
  int ncells_row;           /* cells seen in the row */
  char *val;                /* the cell's text; owned */
  size_t vlen, vcap;
  int collect;              /* character data goes to val */
  xcell *rc;                /* the row's cells; owned */
  int rn, rcap;
  char *rtext;              /* their strings; owned */
  size_t rtlen, rtcap;
  xbatch *b;                /* the batch being filled */
} xscan;


/*
** {======================================================
** Small helpers (worker thread)
** =======================================================
*/

/* "A", "Z", "AA", ... for a 0-based column. */
static void col_name(int col, char *out) {
  char tmp[8];
  int n = 0, i;
  col++;
  while (col > 0 && n < 7) {
    tmp[n++] = (char)('A' + (col - 1) % 26);
    col = (col - 1) / 26;
  }
  for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = '\0';
}


/* The column of a cell reference ("BC12"): 0-based, -1 when none, or
** MAX_COLS when past the last. */
static int ref_col(const char *ref) {
  long c = 0;
  int n = 0;
  while ((*ref >= 'A' && *ref <= 'Z') || (*ref >= 'a' && *ref <= 'z')) {
    c = c * 26 + ((*ref | 0x20) - 'a' + 1);
    if (c > MAX_COLS) return MAX_COLS;
    ref++;
    n++;
  }
  return n ? (int)c - 1 : -1;
}


static const char *local_name(const char *name) {
  const char *p = strrchr(name, ':');
  return p ? p + 1 : name;
}


static const char *attr(const char **atts, const char *name) {
  for (; atts[0]; atts += 2)
    if (strcmp(local_name(atts[0]), name) == 0) return atts[1];
  return NULL;
}


static int grow(void *pp, size_t *cap, size_t need, size_t size) {
  void **p = pp;
  size_t c = *cap ? *cap : 16;
  void *np;
  if (need <= *cap) return 0;
  while (c < need) c *= 2;
  np = realloc(*p, c * size);
  if (np == NULL) return -1;
  *p = np;
  *cap = c;
  return 0;
}


static int grow_int(void *pp, int *cap, int need, size_t size) {
  size_t c = (size_t)*cap;
  int rc = grow(pp, &c, (size_t)need, size);
  *cap = (int)c;
  return rc;
}


/* Set the first error: "Sheet!A1: why" in the sheet, "part: why" before it,
** " why" about the file itself (the main thread puts the path first). */
static void fail(xscan *w, const char *fmt, ...) {
  char msg[512], where[300];
  va_list ap;
  if (w->err) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (w->part == P_SHEET && w->opened) {
    char c[8];
    col_name(w->col < 0 ? 0 : w->col, c);
    snprintf(where, sizeof where, "%.200s!%s%lld", w->names[w->chosen], c,
             (long long)(w->rownum > 0 ? w->rownum : 1));
  } else if (w->part_name) {
    snprintf(where, sizeof where, "%.250s", w->part_name);
  } else {
    where[0] = '\0';  /* the file's own problem: "path: why" */
  }
  w->err = malloc(strlen(where) + strlen(msg) + 3);
  if (w->err == NULL) { w->nomem = 1; return; }
  sprintf(w->err, "%s%s %s", where, where[0] ? ":" : "", msg);
  if (w->xp) XML_StopParser(w->xp, XML_FALSE);
}


static void nomem(xscan *w) {
  w->nomem = 1;
  if (w->xp) XML_StopParser(w->xp, XML_FALSE);
}

/* }====================================================== */


/*
** {======================================================
** The zip, over the source's descriptor
** =======================================================
*/

static voidpf z_open(voidpf opaque, const void *name, int mode) {
  (void)name; (void)mode;
  ((zio *)opaque)->pos = 0;
  return opaque;
}

static uLong z_read(voidpf opaque, voidpf stream, void *buf, uLong size) {
  zio *z = opaque;
  size_t got = 0;
  (void)stream;
  while (got < size) {
    ssize_t n = pread(z->fd, (char *)buf + got, size - got, (off_t)(z->pos + (int64_t)got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { z->err = errno; break; }
    if (n == 0) break;
    got += (size_t)n;
  }
  z->pos += (int64_t)got;
  return (uLong)got;
}

static uLong z_write(voidpf opaque, voidpf stream, const void *buf, uLong size) {
  (void)opaque; (void)stream; (void)buf; (void)size;
  return 0;
}

static ZPOS64_T z_tell(voidpf opaque, voidpf stream) {
  (void)stream;
  return (ZPOS64_T)((zio *)opaque)->pos;
}

static long z_seek(voidpf opaque, voidpf stream, ZPOS64_T off, int origin) {
  zio *z = opaque;
  int64_t to;
  (void)stream;
  switch (origin) {
    case ZLIB_FILEFUNC_SEEK_SET: to = (int64_t)off; break;
    case ZLIB_FILEFUNC_SEEK_CUR: to = z->pos + (int64_t)off; break;
    default: to = z->size + (int64_t)off; break;
  }
  if (to < 0 || to > z->size) return -1;
  z->pos = to;
  return 0;
}

static int z_close(voidpf opaque, voidpf stream) {
  (void)opaque; (void)stream;
  return 0;
}

static int z_error(voidpf opaque, voidpf stream) {
  (void)stream;
  return ((zio *)opaque)->err;
}

/* }====================================================== */


/*
** {======================================================
** Dates
** =======================================================
*/

/* The D_* flags of a number format's code: letters outside quotes,
** brackets (but [h], [m], [s] are elapsed time) and escapes. */
static int code_flags(const char *code) {
  int f = 0;
  const char *p;
  for (p = code; *p; p++) {
    int c = *p | 0x20;
    if (*p == '"') {
      while (p[1] && p[1] != '"') p++;
      if (p[1]) p++;
    } else if (*p == '\\' || *p == '_' || *p == '*') {
      if (p[1]) p++;
    } else if (*p == '[') {
      if ((p[1] | 0x20) == 'h' || (p[1] | 0x20) == 's') f |= D_TIME;
      while (p[1] && p[1] != ']') p++;
      if (p[1]) p++;
    } else if (c == 'y' || c == 'd') {
      f |= D_DATE;
    } else if (c == 'h' || c == 's') {
      f |= D_TIME;
    } else if (c == 'm' && !(f & D_TIME)) {
      f |= D_DATE;  /* months, unless after hours: then minutes */
    }
  }
  return f;
}


/* The D_* flags of a built-in number format. */
static int builtin_flags(int id) {
  if ((id >= 14 && id <= 17) || (id >= 27 && id <= 31) || (id >= 34 && id <= 36) ||
      (id >= 50 && id <= 58))
    return D_DATE;
  if ((id >= 18 && id <= 21) || (id >= 32 && id <= 33) || (id >= 45 && id <= 47))
    return D_TIME;
  if (id == 22) return D_DATE | D_TIME;
  return 0;
}


/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil(int64_t z, int64_t *y, int *m, int *d) {
  int64_t era, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  yoe = z - era * 146097;
  yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
  doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}


/* A serial date as ISO text into out (at least 32 bytes); -1 when out of range. */
static int iso_date(double x, int flags, int date1904, char *out) {
  double days;
  int64_t secs, dn, y;
  int m, d;
  if (!isfinite(x) || x < 0 || x > 2958466.0) return -1;  /* past 9999-12-31 */
  days = floor(x);
  secs = (int64_t)llround((x - days) * 86400.0);
  dn = (int64_t)days;
  if (secs >= 86400) { dn++; secs -= 86400; }
  if (!(flags & D_DATE) && dn == 0) {
    snprintf(out, 32, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
             (int)(secs % 60));
    return 0;
  }
  /* 1900 system: serial 1 is 1900-01-01 and 60 the 29th of February 1900
  ** that never was; from 61 on, days since 1899-12-30. */
  if (date1904) dn += -24107;                 /* 1904-01-01 */
  else dn += (dn < 61 ? -25568 : -25569);     /* 1899-12-31, 1899-12-30 */
  civil(dn, &y, &m, &d);
  if ((flags & D_TIME) || secs != 0)
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, m, d, (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60));
  else
    snprintf(out, 32, "%04d-%02d-%02d", (int)y, m, d);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** The XML handlers, one set for every part
** =======================================================
*/

/* Append to the cell's text; refuses a cell longer than MAX_CELL. */
static void val_add(xscan *w, const char *p, size_t n) {
  if (w->vlen + n > MAX_CELL) {
    fail(w, "a cell of more than %d KiB of text", MAX_CELL / 1024);
    return;
  }
  if (grow(&w->val, &w->vcap, w->vlen + n + 1, 1) != 0) { nomem(w); return; }
  memcpy(w->val + w->vlen, p, n);
  w->vlen += n;
}


/* Add a cell with text t[0..n) to the row. */
static int row_text(xscan *w, xcell *c, const char *t, size_t n) {
  if (w->rtlen + n > MAX_ROW) {
    fail(w, "a row of more than %d MiB of text", MAX_ROW >> 20);
    return -1;
  }
  if (grow(&w->rtext, &w->rtcap, w->rtlen + n + 1, 1) != 0) { nomem(w); return -1; }
  memcpy(w->rtext + w->rtlen, t, n);
  c->t = X_STR;
  c->u.s.off = (uint32_t)w->rtlen;
  c->u.s.n = (uint32_t)n;
  w->rtlen += n;
  return 0;
}


/* A number's text: an integer when written as one, else a double. */
static int parse_number(const char *p, xcell *c) {
  const char *q = p;
  char *end;
  if (*q == '-') q++;
  if (*q >= '0' && *q <= '9') {
    const char *r = q;
    while (*r >= '0' && *r <= '9') r++;
    if (*r == '\0' && r - q <= 18) {
      c->t = X_INT;
      c->u.i = (lua_Integer)strtoll(p, NULL, 10);
      return 0;
    }
  }
  errno = 0;
  c->u.d = strtod(p, &end);
  if (end == p || *end != '\0' || !isfinite(c->u.d)) return -1;
  c->t = X_NUM;
  return 0;
}


/* The cell just read, into the row (nothing when empty). */
static void cell_end(xscan *w) {
  xcell c;
  char *v = w->val;
  size_t n = w->vlen;
  if (w->err || w->nomem) return;
  v[n] = '\0';
  if (n == 0 && w->ctype != 'i') return;
  memset(&c, 0, sizeof c);
  c.col = w->col;
  switch (w->ctype) {
    case 's': {
      char *end;
      unsigned long long k = strtoull(v, &end, 10);
      if (end == v || *end != '\0') { fail(w, "a shared string's index is not a number"); return; }
      if (!w->have_ss) {
        fail(w, "the cell refers to shared string %llu, but the workbook has no "
             "shared-strings part (xl/sharedStrings.xml)", k);
        return;
      }
      if (k >= w->nss) {
        fail(w, "the cell refers to shared string %llu, but there are %zu", k, w->nss);
        return;
      }
      if (w->ssoff[k + 1] == w->ssoff[k]) return;  /* "" */
      if (row_text(w, &c, w->ss + w->ssoff[k], w->ssoff[k + 1] - w->ssoff[k]) != 0) return;
      break;
    }
    case 'b':
      if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0) { c.t = X_BOOL; c.u.b = 1; }
      else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0) { c.t = X_BOOL; c.u.b = 0; }
      else { fail(w, "a boolean cell holds '%.40s'", v); return; }
      break;
    case 'i': case 'f': case 'e': case 'd':
      if (n == 0) return;
      if (row_text(w, &c, v, n) != 0) return;
      break;
    default: {
      int flags = w->cstyle >= 0 && w->cstyle < w->nxf ? w->xf[w->cstyle] : 0;
      if (parse_number(v, &c) != 0) { fail(w, "not a number: '%.40s'", v); return; }
      if (flags) {
        char iso[32];
        if (iso_date(c.t == X_INT ? (double)c.u.i : c.u.d, flags, w->date1904, iso) != 0) {
          fail(w, "a date out of range: %.40s", v);
          return;
        }
        if (row_text(w, &c, iso, strlen(iso)) != 0) return;
      }
    }
  }
  if (grow_int(&w->rc, &w->rcap, w->rn + 1, sizeof *w->rc) != 0) { nomem(w); return; }
  w->rc[w->rn++] = c;
}


/* The row just read, into the batch (nothing when it has no values). */
static void row_end(xscan *w) {
  xbatch *b = w->b;
  int i;
  if (w->err || w->nomem || w->rn == 0) return;
  if (grow_int(&b->r, &b->rcap, b->nr + 1, sizeof *b->r) != 0 ||
      grow_int(&b->c, &b->ccap, b->nc + w->rn, sizeof *b->c) != 0 ||
      grow(&b->text, &b->tcap, b->tlen + w->rtlen + 1, 1) != 0) {
    nomem(w);
    return;
  }
  b->r[b->nr].num = w->rownum;
  b->r[b->nr].c0 = b->nc;
  b->r[b->nr].nc = w->rn;
  b->nr++;
  for (i = 0; i < w->rn; i++) {
    xcell c = w->rc[i];
    if (c.t == X_STR) c.u.s.off += (uint32_t)b->tlen;
    b->c[b->nc++] = c;
  }
  if (w->rtlen) memcpy(b->text + b->tlen, w->rtext, w->rtlen);
  b->tlen += w->rtlen;
}


static void sheet_start(xscan *w, const char *el, const char **atts) {
  const char *a;
  if (strcmp(el, "c") == 0 && w->in_row) {
    int col = -1;
    if ((a = attr(atts, "r")) != NULL) col = ref_col(a);
    if (col < 0) col = w->col + 1;
    w->col = col;
    if (col >= MAX_COLS) {
      fail(w, "a cell past column XFD, the last a sheet can have");
      return;
    }
    if (++w->ncells_row > MAX_COLS) {
      fail(w, "more than %d cells in one row", MAX_COLS);
      return;
    }
    a = attr(atts, "t");
    if (a == NULL || strcmp(a, "n") == 0) w->ctype = 'n';
    else if (strcmp(a, "s") == 0) w->ctype = 's';
    else if (strcmp(a, "b") == 0) w->ctype = 'b';
    else if (strcmp(a, "inlineStr") == 0) w->ctype = 'i';
    else if (strcmp(a, "str") == 0) w->ctype = 'f';
    else if (strcmp(a, "e") == 0) w->ctype = 'e';
    else if (strcmp(a, "d") == 0) w->ctype = 'd';
    else { fail(w, "unknown cell type '%.20s'", a); return; }
    a = attr(atts, "s");
    w->cstyle = a ? atoi(a) : 0;
    w->vlen = 0;
    w->in_v = w->in_is = 0;
  } else if (strcmp(el, "v") == 0) {
    w->in_v = 1;
    w->vlen = 0;
    w->collect = w->ctype != 'i';
  } else if (strcmp(el, "is") == 0) {
    w->in_is = 1;
    w->vlen = 0;
  } else if (strcmp(el, "t") == 0 && w->in_is && !w->in_rph) {
    w->collect = 1;
  } else if (strcmp(el, "rPh") == 0) {
    w->in_rph = 1;
  } else if (strcmp(el, "row") == 0) {
    int64_t num = w->rownum + 1;
    if ((a = attr(atts, "r")) != NULL) {
      char *end;
      long long n = strtoll(a, &end, 10);
      if (end == a || *end || n < 1 || n > 1048576) {
        fail(w, "a row numbered '%.20s'", a);
        return;
      }
      num = n;
    }
    w->rownum = num;
    w->in_row = 1;
    w->col = -1;
    w->ncells_row = 0;
    w->rn = 0;
    w->rtlen = 0;
  }
}


static void sheet_end(xscan *w, const char *el) {
  if (strcmp(el, "v") == 0) {
    w->in_v = 0;
    w->collect = 0;
  } else if (strcmp(el, "t") == 0) {
    w->collect = 0;
  } else if (strcmp(el, "rPh") == 0) {
    w->in_rph = 0;
  } else if (strcmp(el, "is") == 0) {
    w->in_is = 0;
  } else if (strcmp(el, "c") == 0 && w->in_row) {
    cell_end(w);
    w->vlen = 0;
    w->collect = 0;
  } else if (strcmp(el, "row") == 0) {
    row_end(w);
    w->in_row = 0;
  }
}


static void add_sheet(xscan *w, const char **atts) {
  const char *name = attr(atts, "name"), *rid = attr(atts, "id");
  if (name == NULL || rid == NULL) { fail(w, "a sheet without a name or id"); return; }
  if (grow_int(&w->names, &w->shcap, w->nsheets + 1, sizeof *w->names) != 0 ||
      grow_int(&w->rids, &w->ridcap, w->nsheets + 1, sizeof *w->rids) != 0) {
    nomem(w);
    return;
  }
  w->names[w->nsheets] = strdup(name);
  w->rids[w->nsheets] = strdup(rid);
  w->nsheets++;
  if (w->names[w->nsheets - 1] == NULL || w->rids[w->nsheets - 1] == NULL) nomem(w);
}


/* A relationship's target as a zip name: relative to xl/, or absolute. */
static char *target(const char *t) {
  char *s;
  if (t[0] == '/') return strdup(t + 1);
  s = malloc(strlen(t) + 4);
  if (s) sprintf(s, "xl/%s", t);
  return s;
}


static void XMLCALL on_start(void *ud, const char *name, const char **atts) {
  xscan *w = ud;
  const char *el = local_name(name), *a;
  w->since_event = 0;
  if (w->err || w->nomem) return;
  switch (w->part) {
    case P_SHEET: sheet_start(w, el, atts); break;
    case P_SST:
      if (strcmp(el, "si") == 0) {
        w->in_si = 1;
        w->vlen = 0;
      } else if (strcmp(el, "t") == 0 && w->in_si && !w->in_rph) {
        w->collect = 1;
      } else if (strcmp(el, "rPh") == 0) {
        w->in_rph = 1;
      }
      break;
    case P_WORKBOOK:
      if (strcmp(el, "sheet") == 0) add_sheet(w, atts);
      else if (strcmp(el, "workbookPr") == 0 && (a = attr(atts, "date1904")) != NULL)
        w->date1904 = strcmp(a, "1") == 0 || strcmp(a, "true") == 0;
      break;
    case P_RELS:
      if (strcmp(el, "Relationship") == 0) {
        const char *id = attr(atts, "Id"), *type = attr(atts, "Type"), *t = attr(atts, "Target");
        size_t tl;
        char **slot = NULL;
        if (id == NULL || type == NULL || t == NULL) break;
        tl = strlen(type);
        if (strcmp(id, w->rids[w->chosen]) == 0) slot = &w->sheet_target;
        else if (tl >= 14 && strcmp(type + tl - 14, "/sharedStrings") == 0) slot = &w->ss_target;
        else if (tl >= 7 && strcmp(type + tl - 7, "/styles") == 0) slot = &w->styles_target;
        if (slot && *slot == NULL && (*slot = target(t)) == NULL) nomem(w);
      }
      break;
    case P_STYLES:
      if (strcmp(el, "numFmt") == 0) {
        const char *id = attr(atts, "numFmtId"), *code = attr(atts, "formatCode");
        if (id == NULL || code == NULL) break;
        if (grow_int(&w->fmt_ids, &w->fmtcap, w->nfmt + 1, sizeof *w->fmt_ids) != 0) {
          nomem(w);
          break;
        }
        {
          int cap = w->fmtcap;
          unsigned char *nf = realloc(w->fmt_flags, (size_t)cap);
          if (nf == NULL) { nomem(w); break; }
          w->fmt_flags = nf;
        }
        w->fmt_ids[w->nfmt] = atoi(id);
        w->fmt_flags[w->nfmt++] = (unsigned char)code_flags(code);
      } else if (strcmp(el, "cellXfs") == 0) {
        w->in_cellxfs = 1;
      } else if (strcmp(el, "xf") == 0 && w->in_cellxfs) {
        int id = (a = attr(atts, "numFmtId")) ? atoi(a) : 0, f = builtin_flags(id), k;
        for (k = 0; k < w->nfmt; k++)
          if (w->fmt_ids[k] == id) f = w->fmt_flags[k];
        if (grow_int(&w->xf, &w->xfcap, w->nxf + 1, 1) != 0) { nomem(w); break; }
        w->xf[w->nxf++] = (unsigned char)f;
      }
      break;
  }
}


static void XMLCALL on_end(void *ud, const char *name) {
  xscan *w = ud;
  const char *el = local_name(name);
  w->since_event = 0;
  if (w->err || w->nomem) return;
  switch (w->part) {
    case P_SHEET: sheet_end(w, el); break;
    case P_SST:
      if (strcmp(el, "t") == 0) {
        w->collect = 0;
      } else if (strcmp(el, "rPh") == 0) {
        w->in_rph = 0;
      } else if (strcmp(el, "si") == 0) {
        w->in_si = 0;
        /* What the arrays would take once grown (they double), against the budget. */
        if (w->sslen + w->vlen + 1 > w->sscap || w->nss + 2 > w->ssoffcap) {
          size_t sc = w->sscap ? w->sscap : 16, oc = w->ssoffcap ? w->ssoffcap : 16;
          while (sc < w->sslen + w->vlen + 1) sc *= 2;
          while (oc < w->nss + 2) oc *= 2;
          if (sc + oc * sizeof *w->ssoff > w->budget) w->sslen = w->budget;  /* over */
        }
        if (w->sslen + w->vlen + (w->nss + 2) * sizeof *w->ssoff > w->budget) {
          fail(w, "the shared strings take more than the memory allowed (%zu MiB; see "
               "--max-memory)", w->budget >> 20);
          break;
        }
        if (grow(&w->ss, &w->sscap, w->sslen + w->vlen + 1, 1) != 0 ||
            grow(&w->ssoff, &w->ssoffcap, w->nss + 2, sizeof *w->ssoff) != 0) {
          nomem(w);
          break;
        }
        if (w->vlen) memcpy(w->ss + w->sslen, w->val, w->vlen);
        w->sslen += w->vlen;
        w->ssoff[w->nss] = (uint32_t)(w->sslen - w->vlen);
        w->ssoff[++w->nss] = (uint32_t)w->sslen;
        w->vlen = 0;
      }
      break;
    case P_STYLES:
      if (strcmp(el, "cellXfs") == 0) w->in_cellxfs = 0;
      break;
  }
}


static void XMLCALL on_text(void *ud, const char *s, int len) {
  xscan *w = ud;
  w->since_event = 0;
  if (w->collect && !w->err && !w->nomem) val_add(w, s, (size_t)len);
}


static void XMLCALL on_doctype(void *ud, const char *name, const char *sys, const char *pub,
                               int internal) {
  (void)name; (void)sys; (void)pub; (void)internal;
  fail(ud, "a DTD, which no workbook part has");
}

/* }====================================================== */


/*
** {======================================================
** Reading the parts
** =======================================================
*/

/*
** Open the zip part `name` and a parser for it. 1 when the part is
** missing, -1 on error (set), 0 when open.
*/
static int part_open(xscan *w, const char *name, int part) {
  int rc;
  w->part = part;
  w->part_name = name;
  if (unzLocateFile(w->uz, name, 2) != UNZ_OK) return 1;
  if ((rc = unzOpenCurrentFile(w->uz)) != UNZ_OK) {
    fail(w, "cannot read this part of the zip (minizip error %d)", rc);
    return -1;
  }
  w->xp = XML_ParserCreate(NULL);  /* prefixes are dropped by local_name: no namespace work */
  if (w->xp == NULL) {
    unzCloseCurrentFile(w->uz);
    nomem(w);
    return -1;
  }
  XML_SetUserData(w->xp, w);
  XML_SetElementHandler(w->xp, on_start, on_end);
  XML_SetCharacterDataHandler(w->xp, on_text);
  XML_SetStartDoctypeDeclHandler(w->xp, on_doctype);
  w->collect = w->in_rph = 0;
  w->vlen = 0;
  w->since_event = 0;
  return 0;
}


/*
** Inflate and parse up to FEED bytes of the open part. 1 at its end
** (closed), -1 on error (set), 0 for more.
*/
static int part_feed(xscan *w) {
  int n = unzReadCurrentFile(w->uz, w->inbuf, FEED), last = n == 0;
  if (n < 0) {
    fail(w, n == Z_DATA_ERROR ? "the compressed data is corrupt"
                              : "cannot inflate this part (minizip error %d)", n);
    return -1;
  }
  w->since_event += (size_t)n;
  if (XML_Parse(w->xp, w->inbuf, n, last) == XML_STATUS_ERROR) {
    if (!w->err && !w->nomem)
      fail(w, "%s:%lu:%lu: broken XML: %s", w->part_name,
           (unsigned long)XML_GetCurrentLineNumber(w->xp),
           (unsigned long)XML_GetCurrentColumnNumber(w->xp) + 1,
           XML_ErrorString(XML_GetErrorCode(w->xp)));
    return -1;
  }
  if (w->err || w->nomem) return -1;
  if (w->since_event > MAX_TOKEN) {
    fail(w, "an XML token of more than %d MiB in %s", MAX_TOKEN >> 20, w->part_name);
    return -1;
  }
  if (last) {
    XML_ParserFree(w->xp);
    w->xp = NULL;
    if (unzCloseCurrentFile(w->uz) == UNZ_CRCERROR) {
      fail(w, "%s fails its checksum", w->part_name);
      return -1;
    }
    return 1;
  }
  return 0;
}


/* Read a whole part through the handlers. 1 missing, -1 error, 0 done. */
static int part_read(xscan *w, const char *name, int part) {
  int rc = part_open(w, name, part);
  if (rc != 0) return rc;
  while ((rc = part_feed(w)) == 0) {}
  return rc < 0 ? -1 : 0;
}


/* The parts before the sheet, then the sheet opened. 0, or -1 (set). */
static int workbook_open(xscan *w) {
  static zlib_filefunc64_def ff_proto = {z_open, z_read, z_write, z_tell, z_seek, z_close,
                                         z_error, NULL};
  zlib_filefunc64_def ff = ff_proto;
  int i, rc;
  ff.opaque = &w->io;
  if (vouch_dl_load(&vouch_dl_minizip) != 0 || vouch_dl_load(&vouch_dl_expat) != 0) {
    fail(w, "cannot read workbooks: %s", vouch_dl_minizip.error[0] ? vouch_dl_minizip.error
                                                                  : vouch_dl_expat.error);
    return -1;
  }
  w->inbuf = malloc(FEED);
  if (w->inbuf == NULL) { nomem(w); return -1; }
  w->uz = unzOpen2_64("xlsx", &ff);
  if (w->uz == NULL) {
    fail(w, "not a workbook (not a zip file)");
    return -1;
  }
  rc = part_read(w, "xl/workbook.xml", P_WORKBOOK);
  if (rc == 1) fail(w, "not a workbook (no xl/workbook.xml)");
  if (rc != 0) return -1;
  w->part_name = NULL;
  if (w->nsheets == 0) { fail(w, "the workbook has no sheets"); return -1; }
  w->chosen = -1;
  if (w->want) {
    for (i = 0; i < w->nsheets; i++)
      if (strcmp(w->names[i], w->want) == 0) { w->chosen = i; break; }
  } else if (w->want_index) {
    if (w->want_index <= w->nsheets) w->chosen = w->want_index - 1;
  } else {
    w->chosen = 0;
  }
  if (w->chosen < 0) {
    char list[200];
    size_t k = 0;
    list[0] = '\0';
    for (i = 0; i < w->nsheets && k < sizeof list - 40; i++)
      k += (size_t)snprintf(list + k, sizeof list - k, "%s'%.30s'", i ? ", " : "", w->names[i]);
    if (w->want) fail(w, "no sheet named '%.100s' (the sheets: %s)", w->want, list);
    else fail(w, "no sheet %d (the workbook has %d: %s)", w->want_index, w->nsheets, list);
    return -1;
  }
  rc = part_read(w, "xl/_rels/workbook.xml.rels", P_RELS);
  if (rc == 1) fail(w, "not a workbook (no xl/_rels/workbook.xml.rels)");
  if (rc != 0) return -1;
  if (w->sheet_target == NULL) {
    w->part_name = NULL;
    fail(w, "sheet '%.100s' has no part in the workbook", w->names[w->chosen]);
    return -1;
  }
  rc = part_read(w, w->styles_target ? w->styles_target : "xl/styles.xml", P_STYLES);
  if (rc < 0) return -1;
  rc = part_read(w, w->ss_target ? w->ss_target : "xl/sharedStrings.xml", P_SST);
  if (rc < 0) return -1;
  w->have_ss = rc == 0;
  rc = part_open(w, w->sheet_target, P_SHEET);
  if (rc == 1) fail(w, "sheet '%.100s': its part %s is missing", w->names[w->chosen],
                    w->sheet_target);
  if (rc != 0) return -1;
  w->opened = 1;
  w->rownum = 0;
  w->col = -1;
  return 0;
}


static void batch_free(void *bp) {
  xbatch *b = bp;
  if (b == NULL) return;
  free(b->c);
  free(b->r);
  free(b->text);
  free(b->sheet);
  free(b->err);
  free(b);
}


static void scan_free(void *wp) {
  xscan *w = wp;
  int i;
  if (w == NULL) return;
  if (w->xp) XML_ParserFree(w->xp);
  if (w->uz) unzClose(w->uz);
  for (i = 0; i < w->nsheets; i++) {
    free(w->names[i]);
    free(w->rids[i]);
  }
  free(w->names);
  free(w->rids);
  free(w->want);
  free(w->inbuf);
  free(w->err);
  free(w->sheet_target);
  free(w->ss_target);
  free(w->styles_target);
  free(w->fmt_ids);
  free(w->fmt_flags);
  free(w->xf);
  free(w->ss);
  free(w->ssoff);
  free(w->val);
  free(w->rc);
  free(w->rtext);
  free(w);
}


/*
** The scanner (thread pool): the parts before the sheet the first time,
** then rows of the sheet until the batch is full or the sheet ends.
*/
static void *xlsx_scan_file(void *wp, int fd, int64_t size, void *spare, int *eof,
                            size_t *bytes) {
  xscan *w = wp;
  xbatch *b = spare;
  if (b == NULL) b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->nc = b->nr = b->next = b->end = 0;
  b->tlen = 0;
  free(b->err);
  b->err = NULL;
  w->b = b;
  w->io.fd = fd;
  w->io.size = size;
  if (!w->opened && !w->err) workbook_open(w);
  while (!w->err && !w->nomem && !w->done && b->nr < BATCH_ROWS && b->tlen < BATCH_TEXT)
    if (part_feed(w) == 1) w->done = 1;
  if (w->nomem) {
    batch_free(b);
    return NULL;
  }
  if (w->opened && b->sheet == NULL && (b->sheet = strdup(w->names[w->chosen])) == NULL) {
    batch_free(b);
    return NULL;
  }
  if (w->err) {
    free(w->ss);  /* of no more use: not charged */
    free(w->ssoff);
    w->ss = NULL;
    w->ssoff = NULL;
    w->sscap = w->ssoffcap = w->sslen = w->nss = 0;
    b->err = w->err;
    w->err = NULL;
    w->done = 1;
  }
  b->end = w->done;
  *eof = w->done;
  *bytes = sizeof *b + (size_t)b->ccap * sizeof *b->c + (size_t)b->rcap * sizeof *b->r +
           b->tcap + sizeof *w + w->sscap + w->ssoffcap * sizeof *w->ssoff + w->vcap +
           w->rtcap + (size_t)w->rcap * sizeof *w->rc + FEED;
  return b;
}


static const vouch_scanner_t xlsx_scanner = {NULL, NULL, NULL, batch_free, scan_free,
                                             xlsx_scan_file};

/* }====================================================== */


/*
** {======================================================
** Rows (main thread)
** =======================================================
*/

typedef struct xlsx_state {
  int started;              /* the header is read */
  int first;                /* the header's first column (0-based) */
  char *sheet;              /* the sheet's name, for messages; owned */
} xlsx_state;


static void xlsx_free(vouch_source_t *s) {
  xlsx_state *x = s->state;
  free(x->sheet);
  free(x);
}


/* Push "path:Sheet!A1: why"; returns VOUCH_BAD. */
static int bad_cell(lua_State *L, vouch_source_t *s, const xbatch *b, int col, int64_t row,
                    const char *fmt, const char *a) {
  char c[8];
  col_name(col, c);
  lua_pushfstring(L, "%s:%s!%s%I: ", s->path, b->sheet ? b->sheet : "?", c, (lua_Integer)row);
  lua_pushfstring(L, fmt, a);
  lua_concat(L, 2);
  return VOUCH_BAD;
}


static const char *cell_text(const xbatch *b, const xcell *c, size_t *n) {
  *n = c->u.s.n;
  return b->text + c->u.s.off;
}


/* The header row: its cells name the columns, without gaps or twins. */
static int read_header(lua_State *L, vouch_source_t *s, xlsx_state *x, const xbatch *b,
                       const xrow *r) {
  const xcell *c = b->c + r->c0;
  int first = MAX_COLS, last = -1, n, i, k;
  const char **names;
  size_t *lens;
  for (i = 0; i < r->nc; i++) {
    if (c[i].col < first) first = c[i].col;
    if (c[i].col > last) last = c[i].col;
  }
  n = last - first + 1;
  names = calloc((size_t)n, sizeof *names);
  lens = calloc((size_t)n, sizeof *lens);
  if (names == NULL || lens == NULL) {
    free(names);
    free(lens);
    return luaL_error(L, "not enough memory");
  }
  lua_createtable(L, n, 0);  /* the names' text, kept alive */
  for (i = 0; i < r->nc; i++) {
    k = c[i].col - first;
    switch (c[i].t) {
      case X_STR: lua_pushlstring(L, b->text + c[i].u.s.off, c[i].u.s.n); break;
      case X_INT: lua_pushinteger(L, c[i].u.i); lua_tostring(L, -1); break;
      case X_NUM: lua_pushnumber(L, c[i].u.d); lua_tostring(L, -1); break;
      default: lua_pushstring(L, c[i].u.b ? "true" : "false");
    }
    lua_rawseti(L, -2, k + 1);
  }
  for (k = 0; k < n; k++) {
    lua_rawgeti(L, -1, k + 1);
    names[k] = lua_tolstring(L, -1, &lens[k]);
    lua_pop(L, 1);  /* still held by the table */
    if (names[k] == NULL) {
      free(names);
      free(lens);
      return bad_cell(L, s, b, first + k, r->num, "%s", "an empty column name in the header");
    }
    for (i = 0; i < k; i++)
      if (lens[i] == lens[k] && memcmp(names[i], names[k], lens[k]) == 0) {
        int rc = bad_cell(L, s, b, first + k, r->num, "duplicate column name '%s'", names[k]);
        free(names);
        free(lens);
        return rc;
      }
  }
  k = vouch_source_set_cols(L, s, n, names, lens);
  free(names);
  free(lens);
  lua_pop(L, 1);
  if (k != 0) return luaL_error(L, "not enough memory");
  x->first = first;
  x->started = 1;
  return VOUCH_ROW;
}


static int xlsx_next(lua_State *L, vouch_source_t *s, int mode) {
  xlsx_state *x = s->state;
  xbatch *b = s->batch;
  const xrow *r;
  const xcell *c;
  int i;
  if (mode == VOUCH_MODE_PRIME && x->started) return VOUCH_ROW;
  for (;;) {
    if (b == NULL || b->next == b->nr) {
      if (b && b->err) {
        lua_pushfstring(L, "%s:%s", s->path, b->err);
        return VOUCH_BAD;
      }
      if (b == NULL || !b->end) return VOUCH_NEED;
      if (!x->started) {
        lua_pushfstring(L, "%s:%s: the sheet is empty, where a header was expected", s->path,
                        b->sheet ? b->sheet : "?");
        return VOUCH_BAD;
      }
      return mode == VOUCH_MODE_PRIME ? VOUCH_ROW : VOUCH_END;
    }
    r = &b->r[b->next++];
    c = b->c + r->c0;
    s->line = r->num;
    if (!x->started) {
      int rc = read_header(L, s, x, b, r);
      if (rc != VOUCH_ROW) return rc;
      if (mode == VOUCH_MODE_PRIME) return VOUCH_ROW;
      continue;
    }
    for (i = 0; i < r->nc; i++)
      if (c[i].col < x->first || c[i].col >= x->first + s->ncols) break;
    if (i < r->nc) {
      char a[8], z[8], span[20];
      if (s->skip_bad) { s->bad_rows++; continue; }
      col_name(x->first, a);
      col_name(x->first + s->ncols - 1, z);
      snprintf(span, sizeof span, "%s..%s", a, z);
      return bad_cell(L, s, b, c[i].col, r->num, "a value outside the header's columns (%s)",
                      span);
    }
    break;
  }
  if (mode == VOUCH_MODE_VALUES) {
    for (i = 0; i < s->ncols; i++) s->vals[i].type = VOUCH_NULL;
    for (i = 0; i < r->nc; i++) {
      vouch_value_t *o = &s->vals[c[i].col - x->first];
      switch (c[i].t) {
        case X_INT: o->type = VOUCH_INT; o->u.i = c[i].u.i; break;
        case X_BOOL: o->type = VOUCH_INT; o->u.i = c[i].u.b; break;
        case X_NUM: o->type = VOUCH_REAL; o->u.d = c[i].u.d; break;
        default:
          o->type = VOUCH_TEXT;
          o->u.s.p = cell_text(b, &c[i], &o->u.s.n);
      }
    }
    return VOUCH_ROW;
  }
  {
    int kidx = lua_gettop(L);  /* the keys table */
    lua_createtable(L, 0, r->nc);
    for (i = 0; i < r->nc; i++) {
      lua_rawgeti(L, kidx, c[i].col - x->first + 1);
      switch (c[i].t) {
        case X_INT: lua_pushinteger(L, c[i].u.i); break;
        case X_NUM: lua_pushnumber(L, c[i].u.d); break;
        case X_BOOL: lua_pushboolean(L, c[i].u.b); break;
        default: lua_pushlstring(L, b->text + c[i].u.s.off, c[i].u.s.n);
      }
      lua_rawset(L, -3);
    }
  }
  return VOUCH_ROW;
}


static const vouch_loader_t xlsx_loader = {"xlsx", xlsx_next, xlsx_free, &xlsx_scanner, 0};


/*
** vouch.load.xlsx(path [, opts]): a source of the rows of one sheet.
** opts.sheet: its name or position (default the first); skip_bad: rows
** with a value outside the header's columns are skipped and counted;
** timeout: milliseconds for the open and each read.
*/
static int load_xlsx(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  vouch_host_t *h = vouch_host(L);
  vouch_source_t *s;
  xlsx_state *x;
  xscan *w;
  int64_t timeout;
  vouch_op_check(L);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
      lua_pop(L, 1);
      if (strcmp(k, "timeout") != 0 && strcmp(k, "skip_bad") != 0 && strcmp(k, "sheet") != 0)
        return luaL_argerror(L, 2, lua_pushfstring(L, "unknown option '%s'",
                          luaL_tolstring(L, -1, NULL)));
    }
  }
  lua_settop(L, 2);
  timeout = vouch_opt_timeout(L, 2);
  s = vouch_source_new(L, &xlsx_loader);  /* at 3 */
  s->timeout = timeout;
  x = calloc(1, sizeof *x);
  if (x == NULL) return luaL_error(L, "not enough memory");
  s->state = x;
  w = calloc(1, sizeof *w);
  if (w == NULL) return luaL_error(L, "not enough memory");
  s->scan_state = w;
  w->io.fd = -1;
  w->budget = h->max_memory ? (h->max_memory > h->used_memory ? h->max_memory - h->used_memory
                                                              : 0)
                            : SS_CAP;
  if (lua_istable(L, 2)) {
    lua_getfield(L, 2, "skip_bad");
    s->skip_bad = lua_toboolean(L, -1);
    lua_pop(L, 1);
    switch (lua_getfield(L, 2, "sheet")) {
      case LUA_TNIL: break;
      case LUA_TSTRING:
        if ((w->want = strdup(lua_tostring(L, -1))) == NULL)
          return luaL_error(L, "not enough memory");
        break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
            lua_tointeger(L, -1) <= 65535) {
          w->want_index = (int)lua_tointeger(L, -1);
          break;
        }
        /* fall through */
      default:
        return luaL_argerror(L, 2, "opts.sheet: a sheet's name or its position (1, 2, ...)");
    }
    lua_pop(L, 1);
  }
  lua_settop(L, 3);
  return vouch_source_open(L, 3, path);
}


void vouch_load_xlsx_open(lua_State *L) {
  lua_pushcfunction(L, load_xlsx);
  lua_setfield(L, -2, "xlsx");
}
