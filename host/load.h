/*
** load.h: what the loaders (load_csv.c, load_json.c, load_xlsx.c) share with load.c, the
** vouch.load library, and with json.c.
**
** load.c owns a source: the file read asynchronously in chunks into one
** buffer, the content hash, the counters, the progress line, and the Lua
** methods rows/all/into/close. A loader only parses: its `next` takes bytes
** from the buffer (or, with a scanner, records tokenized on the thread pool)
** and produces one row at a time, either as a Lua value or as an array of
** vouch_value_t for the bulk path. Memory stays bounded by the largest row,
** not by the file.
*/
#ifndef VOUCH_LOAD_H
#define VOUCH_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define VOUCH_SOURCE_MT "vouch.load.source"

/* What a loader's next() produces. */
enum {
  VOUCH_MODE_PRIME,         /* read what the source needs before it is returned */
  VOUCH_MODE_LUA,           /* push the row as a Lua value */
  VOUCH_MODE_VALUES,        /* fill s->vals (s->ncols of them) */
  VOUCH_MODE_FIELD          /* push the Lua value of column s->field alone, as the
                               row would hold it (nil for -1); loaders with `fields` */
};

/* What a loader's next() returns. */
enum {
  VOUCH_ROW,                /* a row is ready (or, in PRIME mode, the source is) */
  VOUCH_NEED,               /* more bytes are needed: s->pos is where to resume */
  VOUCH_END,                /* no more rows */
  VOUCH_BAD                 /* bad input: the message is pushed, raise it */
};

typedef struct vouch_source vouch_source_t;

/*
** Tokenizing off the main thread (optional; csv has it). With a scanner the
** file's bytes never reach s->buf: each work item on the loop's thread pool
** reads the next chunk and gives it to scan(), which keeps its own carry-over
** of an unfinished record and returns a batch of tokenized records. next()
** then takes rows from s->batch, and VOUCH_NEED means the batch is used up.
** One batch is being taken while the next one is made: two at most.
*/
typedef struct vouch_scanner {
  /* Thread pool: where to read the next n bytes (NULL: out of memory). */
  char *(*space)(void *ws, size_t n);
  /* Thread pool: tokenize the n bytes just read there (eof: the last ones),
  ** reusing `spare` (a batch already taken, or NULL). Never touches Lua or
  ** the source. Returns a batch, *bytes its memory and the state's, or NULL
  ** when out of memory. */
  void *(*scan)(void *ws, void *spare, size_t n, int eof, size_t *bytes);
  /* Main thread, before each work item: bring ws up to date from the source. */
  void (*prepare)(vouch_source_t *s, void *ws);
  void (*batch_free)(void *batch);
  void (*state_free)(void *ws);
  /* Thread pool, instead of space() and scan(), for a format that is not
  ** read front to back (a zip has its directory at the end): make the next
  ** batch reading the regular file `fd` of `size` bytes itself (pread only).
  ** *eof is set with the last batch. The bytes are hashed before the first
  ** call. NULL for a scanner of chunks. */
  void *(*scan_file)(void *ws, int fd, int64_t size, void *spare, int *eof, size_t *bytes);
} vouch_scanner_t;

typedef struct vouch_loader {
  const char *format;       /* "csv", "json", "ndjson" */
  /*
  ** Produce the next row from buf[pos..end). With eof set no more bytes will
  ** come. Rows skipped as bad (skip_bad) are counted in s->bad_rows. In LUA
  ** mode the row's keys table (see vouch_source_keys) is on top of the stack.
  */
  int (*next)(lua_State *L, vouch_source_t *s, int mode);
  void (*free)(vouch_source_t *s);   /* release s->state */
  const vouch_scanner_t *scanner;    /* or NULL: next() parses s->buf */
  int fields;                        /* next() knows VOUCH_MODE_FIELD */
} vouch_loader_t;

struct vouch_source {
  const vouch_loader_t *loader;
  void *state;              /* the loader's own; freed by loader->free */
  void *scan_state;         /* the scanner's; owned until the reader takes it */
  void *batch;              /* the batch next() takes rows from; owned */
  struct vouch_reader *r;   /* file and buffer; malloc'd, may outlive us */
  char *path;               /* as the script gave it, for messages; owned */
  char *resolved;           /* the real path, recorded in loads; owned */
  /* The bytes: buf[pos..end) is not parsed yet. Only the reader moves them. */
  char *buf;
  size_t pos, end;
  int eof;                  /* the file has been read to its end */
  int ncols;                /* columns, 0 until known */
  char **cols;              /* column names (malloc'd each), used by into() */
  vouch_value_t *vals;      /* VALUES mode: the row; ncols of them */
  int field;                /* FIELD mode: the column, or -1 for none */
  int64_t rows;             /* rows produced so far */
  int64_t line;             /* first line of the last row produced; 0 unknown */
  int64_t bad_rows;         /* rows skipped as bad */
  int skip_bad;             /* opts.skip_bad */
  int64_t timeout;          /* opts.timeout: milliseconds per wait, -1 for none */
  int closed;
  int busy;                 /* a task is inside rows/all/into */
  int sidx;                 /* stack index of the source during next() */
  vouch_bulk_t *bulk;       /* into() in progress, or NULL */
  int drained;              /* read to its end: file and buffers released */
  int held;                 /* into() waits its turn at the database holding this
                               step's result (VOUCH_ROW or VOUCH_END) plus 1, else 0 */
  uint64_t started;         /* uv_hrtime() at open */
  uint64_t last_progress;   /* uv_hrtime() of the last progress line, 0 = none */
};

/*
** Push a new source for `loader`. The loader then sets s->state (freed by
** loader->free when the source is collected, even if the open fails) and
** parses its options, raising on misuse.
*/
vouch_source_t *vouch_source_new(lua_State *L, const vouch_loader_t *loader);

/*
** Open `path` for the source at `sidx`: check it for reading (raising the
** error that names --allow-read), open it asynchronously and prime the
** loader. Returns what the Lua call returns: the source, or nil, message,
** code. Call it as `return vouch_source_open(L, ...)`: it yields.
*/
int vouch_source_open(lua_State *L, int sidx, const char *path);

/* Set the column names (copied) and the keys of Lua rows, during next().
** Returns -1 when out of memory. */
int vouch_source_set_cols(lua_State *L, vouch_source_t *s, int n,
                          const char *const *names, const size_t *lens);

/* Push a "path:line:col: message" error; returns VOUCH_BAD. */
int vouch_source_bad(lua_State *L, vouch_source_t *s, long line, long col,
                     const char *fmt, ...);

/* load_csv.c, load_json.c: add their functions to the vouch.load table on top. */
void vouch_load_csv_open(lua_State *L);
void vouch_load_json_open(lua_State *L);
void vouch_load_xlsx_open(lua_State *L);

#endif
