/*
** load.c: the vouch.load library and its sources.
**
** A source reads its file asynchronously, one chunk at a time, through the
** loop (uv_queue_work, uv_fs_read): a Lua-facing function that needs more bytes
** starts a read, yields, and continues in a lua_yieldk continuation when the
** read completes. The loaders (load_csv.c, load_json.c) only parse what is in
** the buffer. The buffer grows only to hold the longest row, so memory stays
** bounded whatever the size of the file. The bulk path, src:into(db, table),
** streams rows into the database through db.h without making Lua tables.
**
** A loader with a scanner (csv) moves its Lua-free work off the main thread:
** one work item on the loop's thread pool (uv_queue_work) reads the next
** chunk with pread, into the scanner's own buffer, and tokenizes it into a
** batch (records, fields, typed values), while the main thread turns the
** batch before it into Lua tables or bound rows. While the item runs only
** the worker touches the scanner's state, the hash, the spare batch (the
** last one taken, reused) and the w* fields; the after-work callback wakes
** the task, which takes the batch and queues the next item. So two batches
** at most exist at once (the one being taken and the one being made), plus
** the scanner's carry-over of an unfinished record: memory stays bounded by
** the chunk size and the longest row, and batches count against
** --max-memory when taken. A work item cannot be stopped: a cancelled wait
** (timeout, task:cancel) only stops waiting, and a source closed or
** collected meanwhile leaves the reader to the after-work callback, which
** frees it without touching Lua.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "load.h"

/* Bytes per read; the buffer starts at twice that. The fuzzers build with
** a tiny one so that rows and fields cross reads in short inputs. */
#ifdef VOUCH_LOAD_CHUNK
#define CHUNK VOUCH_LOAD_CHUNK
#else
#define CHUNK (512 * 1024)
#endif

/*
** The file side of a source. It is malloc'd apart from the source's userdata
** because a read in flight must find it alive: when the source is collected
** during a read, the reader is marked orphan and the read's callback closes
** the file and frees it.
*/
typedef struct vouch_reader {
  vouch_op_t op;            /* must be first: the task's wait */
  uv_fs_t req;              /* the open or read in flight */
  uv_work_t work;           /* the read and scan in flight (scanner) */
  const vouch_scanner_t *sc;  /* the loader's scanner, or NULL */
  void *ws;                 /* its state: the worker's while busy; owned */
  void *ready;              /* the batch made by the last work item; owned */
  void *spare;              /* a batch taken, for the next work item to reuse; owned */
  size_t ready_bytes;       /* its memory, with the scanner state's */
  size_t batch_charged;     /* charged for the batch the source holds */
  size_t spare_charged;     /* charged for r->spare */
  size_t work_charged;      /* charged for the work item in flight: the spare it
                               reuses and room for what it makes */
  int64_t woffset;          /* the worker's file offset */
  int weof;                 /* the worker read the last bytes */
  int nomem;                /* the scanner ran out of memory */
  uv_file fd;               /* -1 until opened and after close */
  char *buf;                /* the buffer (also the source's s->buf); owned */
  size_t cap;               /* its size */
  char *ahead;              /* the read-ahead chunk; owned */
  size_t chunk;             /* its size: bytes per read */
  int64_t size;             /* the file's size when opened; INT64_MAX if not regular */
  int64_t offset;           /* file offset of the next read */
  ssize_t result;           /* of the last request */
  int busy;                 /* a request is in flight */
  int pending;              /* a finished read is not taken into the buffer yet */
  int waiting;              /* a task waits for the request (op is linked) */
  int cancelled;            /* the wait was cancelled: timed out (opts.timeout) */
  int64_t timeout;          /* milliseconds per wait, -1 for none */
  int orphan;               /* the source is gone; the callback frees */
  XXH3_state_t *hash;       /* of every byte read, in order; owned */
  vouch_host_t *h;          /* charged for the buffers (--max-memory) */
  size_t charged;           /* bytes charged to it */
  vouch_path_t *path;       /* the checked path while it is being opened; owned */
  size_t held;              /* its share of the host's load budget, while reading */
  int queued;               /* waits in the host's queue for a share */
  const void *task;         /* the task that opened it */
  struct vouch_reader *prev, *next;  /* in h->loads_reading or h->loads_waiting */
} reader;


/*
** The buffers count against --max-memory: a row (or a JSON document) can
** be as large as the file. Returns -1, with the limit tripped, when over.
*/
static int charge(reader *r, size_t more) {
  vouch_host_t *h = r->h;
  if (h->max_memory && h->used_memory + more > h->max_memory) {
    vouch_limits_trip(h, VOUCH_LIMIT_MEMORY);
    return -1;
  }
  h->used_memory += more;
  r->charged += more;
  return 0;
}


static void uncharge(reader *r, size_t less) {
  if (less > r->charged) less = r->charged;
  r->h->used_memory -= less;
  r->charged -= less;
}


static void budget_leave(reader *r);


static void reader_free(reader *r) {
  uv_fs_t req;
  budget_leave(r);
  if (r->fd >= 0) {
    uv_fs_close(NULL, &req, r->fd, NULL);  /* synchronous: a regular file */
    uv_fs_req_cleanup(&req);
    r->fd = -1;
  }
  if (r->hash) XXH3_freeState(r->hash);
  if (r->sc) {
    if (r->ready) r->sc->batch_free(r->ready);
    if (r->spare) r->sc->batch_free(r->spare);
    if (r->ws) r->sc->state_free(r->ws);
  }
  uncharge(r, r->charged);
  free(r->buf);
  free(r->ahead);
  free(r);
}


/* A request ended, back on the loop: an orphan's reader is freed, else the
   task waiting for it goes on. */
static void request_ended(reader *r) {
  r->busy = 0;
  if (r->orphan) {
    reader_free(r);
    return;
  }
  if (r->waiting) {
    r->waiting = 0;
    vouch_op_done(&r->op, 0);
  }
}


/*
** {======================================================
** The host's load budget: sources opened by many tasks at once (vouch.all
** over a thousand files) would each fill their buffers before any row is
** taken. A source begins reading only when its buffers fit in the budget
** with those of the sources reading now, or when none reads, or when its
** own task already reads one (a task reading two sources in turn must not
** wait for itself). The others wait their turn, oldest first; a source
** leaves the budget at its end, when closed or when collected.
** =======================================================
*/

#define LOAD_BUDGET ((size_t)32 << 20)

static size_t budget_of(vouch_host_t *h) {
  size_t b = LOAD_BUDGET;
  if (h->max_memory && h->max_memory / 4 < b) b = h->max_memory / 4;
  return b;
}


static void list_unlink(void **head, reader *r) {
  if (r->prev) r->prev->next = r->next;
  else *head = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}


static void list_push(void **head, reader *r) {  /* at the tail */
  reader **p = (reader **)head, *last = NULL;
  while (*p) {
    last = *p;
    p = &(*p)->next;
  }
  r->prev = last;
  r->next = NULL;
  *p = r;
}


static int budget_fits(reader *r, size_t need) {
  vouch_host_t *h = r->h;
  reader *q;
  if (h->loads_reading == NULL || h->loads_held + need <= budget_of(h)) return 1;
  for (q = h->loads_reading; q; q = q->next)
    if (q->task == r->task) return 1;
  return 0;
}


static void budget_take(reader *r, size_t need) {
  r->held = need;
  r->h->loads_held += need;
  list_push(&r->h->loads_reading, r);
}


static void admit_work(uv_work_t *w) {
  (void)w;
}


/* Back on the loop: the task whose source was let in goes on. */
static void admit_done(uv_work_t *w, int status) {
  (void)status;
  request_ended(w->data);
}


/* Let the oldest waiting source in; its task resumes from the loop, never
   inside the task that made room. */
static void admit_oldest(vouch_host_t *h) {
  reader *r = h->loads_waiting;
  list_unlink(&h->loads_waiting, r);
  r->queued = 0;
  budget_take(r, 3 * r->chunk);
  r->work.data = r;
  r->busy = 1;
  if (uv_queue_work(&h->loop, &r->work, admit_work, admit_done) < 0) {
    r->busy = 0;
    if (r->waiting) {
      r->waiting = 0;
      vouch_op_done(&r->op, 0);
    }
  }
}


/* Let in the waiting sources that now fit, oldest first. */
static void budget_admit(vouch_host_t *h) {
  while (h->loads_waiting && budget_fits(h->loads_waiting, 3 * ((reader *)h->loads_waiting)->chunk))
    admit_oldest(h);
}


/*
** The loop ran dry while sources wait: the tasks that hold the budget wait
** for the tasks of those sources (a script reading a file while subtasks
** read others). The oldest goes in over the budget rather than all being
** reported blocked. Returns whether one went in.
*/
int vouch_load_unblock(vouch_host_t *h) {
  if (h->loads_waiting == NULL) return 0;
  admit_oldest(h);
  return 1;
}


static void budget_leave(reader *r) {
  vouch_host_t *h = r->h;
  if (h == NULL) return;
  if (r->queued) {
    list_unlink(&h->loads_waiting, r);
    r->queued = 0;
  } else if (r->held) {
    list_unlink(&h->loads_reading, r);
    h->loads_held -= r->held;
    r->held = 0;
    budget_admit(h);
  }
}


/* The wait for a share ended another way (a timeout, task:cancel). */
static void admit_cancel(vouch_op_t *op) {
  reader *r = (reader *)op;
  r->waiting = 0;
  r->cancelled = 1;
  if (r->queued) {
    list_unlink(&r->h->loads_waiting, r);
    r->queued = 0;
  }
}

/* }====================================================== */


static void fs_done(uv_fs_t *req) {
  reader *r = req->data;
  r->result = req->result;
  if (req->fs_type == UV_FS_OPEN && req->result >= 0) r->fd = (uv_file)req->result;
  if (req->fs_type == UV_FS_READ) r->pending = 1;
  uv_fs_req_cleanup(req);
  request_ended(r);
}


/* The task stopped waiting; the request still completes into the reader. */
static void fs_cancel(vouch_op_t *op) {
  ((reader *)op)->waiting = 0;
  ((reader *)op)->cancelled = 1;
}


/*
** Whether the wait a continuation resumes from timed out: the loop then
** pushed nil, "timed out after N ms", "ETIMEDOUT". Other cancellations
** (task:cancel, a race lost) never resume the continuation.
*/
static int timed_out(vouch_source_t *s) {
  if (s->r == NULL || !s->r->cancelled) return 0;
  s->r->cancelled = 0;
  return 1;
}


/* Raise "path: timed out after N ms" from the values the loop pushed. */
static int raise_timeout(lua_State *L, vouch_source_t *s) {
  const char *msg = lua_tostring(L, -2);
  lua_pushfstring(L, "%s: %s", s->path, msg ? msg : "timed out");
  return lua_error(L);
}


static vouch_source_t *check_source(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, VOUCH_SOURCE_MT);
}


int vouch_source_bad(lua_State *L, vouch_source_t *s, long line, long col,
                     const char *fmt, ...) {
  va_list ap;
  lua_pushfstring(L, "%s:%I:%I: ", s->path, (lua_Integer)line, (lua_Integer)col);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_concat(L, 2);
  return VOUCH_BAD;
}


int vouch_source_set_cols(lua_State *L, vouch_source_t *s, int n,
                          const char *const *names, const size_t *lens) {
  int i;
  s->cols = calloc((size_t)n + 1, sizeof *s->cols);
  s->vals = calloc((size_t)n + 1, sizeof *s->vals);
  if (s->cols == NULL || s->vals == NULL) return -1;
  s->ncols = n;
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    s->cols[i] = malloc(lens[i] + 1);
    if (s->cols[i] == NULL) { lua_pop(L, 1); return -1; }
    memcpy(s->cols[i], names[i], lens[i]);
    s->cols[i][lens[i]] = '\0';
    lua_pushlstring(L, names[i], lens[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setiuservalue(L, s->sidx, 1);
  return 0;
}


/*
** {======================================================
** Progress: a line on stderr for loads longer than a second, only when
** stderr is a terminal. VOUCH_PROGRESS_MS changes the second (for tests).
** =======================================================
*/

static int progress_ms(void) {
  static int ms = -1;
  if (ms < 0) {
    const char *e = getenv("VOUCH_PROGRESS_MS");
    ms = (e && *e) ? atoi(e) : 1000;
    if (!isatty(2)) ms = -2;  /* never */
  }
  return ms;
}


static void progress(vouch_source_t *s, int final) {
  int ms = progress_ms();
  uint64_t now, el;
  double secs;
  if (ms == -2 || s->r == NULL || vouch_status_taken) return;  /* a command shows its own */
  now = uv_hrtime();
  el = now - s->started;
  if (!final && (el < (uint64_t)ms * 1000000u ||
                 (s->last_progress && now - s->last_progress < 200000000u)))
    return;
  if (final && s->last_progress == 0) return;
  s->last_progress = now;
  secs = (double)el / 1e9;
  fprintf(stderr, "\rvouch: loading %s: %.1f MB, %lld rows, %.0f rows/s\033[K%s",
          s->path, (double)s->r->offset / 1e6, (long long)s->rows,
          secs > 0 ? (double)s->rows / secs : 0.0, final ? "\n" : "");
  fflush(stderr);
  if (final) s->last_progress = 0;
}

/* }====================================================== */


/*
** {======================================================
** Reading
** =======================================================
*/

/*
** The reader keeps one read ahead: while the loader parses the buffer, the
** next chunk is read into r->ahead on the loop's thread pool, so parsing
** and reading overlap and a task waits only when the parser is faster.
*/
static int read_ahead(lua_State *L, vouch_source_t *s) {
  reader *r = s->r;
  uv_buf_t b;
  int rc;
  if (r->ahead == NULL || r->offset >= r->size) {  /* at the end already */
    r->pending = 1;
    r->result = 0;
    return 0;
  }
  b = uv_buf_init(r->ahead, (unsigned int)r->chunk);
  r->busy = 1;
  /* Pipes and terminals cannot seek: they are read from where they are. */
  rc = uv_fs_read(&vouch_host(L)->loop, &r->req, r->fd, &b, 1,
                  r->size == INT64_MAX ? -1 : r->offset, fs_done);
  if (rc < 0) {
    r->busy = 0;
    r->pending = 1;
    r->result = rc;
  }
  return rc;
}


/*
** Take the finished read-ahead into the buffer (keeping the unparsed bytes,
** moved to the front) and start the next one. VOUCH_BAD with a message.
*/
static int absorb(lua_State *L, vouch_source_t *s) {
  reader *r = s->r;
  size_t n;
  r->pending = 0;
  if (r->result < 0) {
    lua_pushfstring(L, "%s: %s", s->path, strerror((int)-r->result));
    return VOUCH_BAD;
  }
  if (r->result == 0) {
    if (r->size != INT64_MAX && r->offset < r->size) {
      /* Truncated while being read: what came is not the file, and a cut
      ** at a record boundary would otherwise load a part as if it were all. */
      lua_pushfstring(L, "%s: the file shrank while it was read (%I of %I bytes)",
                      s->path, (lua_Integer)r->offset, (lua_Integer)r->size);
      return VOUCH_BAD;
    }
    s->eof = 1;
    return VOUCH_ROW;
  }
  n = (size_t)r->result;
  if (s->pos > 0) {
    memmove(s->buf, s->buf + s->pos, s->end - s->pos);
    s->end -= s->pos;
    s->pos = 0;
  }
  if (s->end + n > r->cap) {  /* a row longer than the buffer: grow it */
    size_t cap = r->cap * 2;
    char *nb;
    while (cap < s->end + n) cap *= 2;
    if (charge(r, cap - r->cap) != 0) return luaL_error(L, "not enough memory");
    nb = realloc(r->buf, cap);
    if (nb == NULL) return luaL_error(L, "not enough memory");
    r->buf = s->buf = nb;
    r->cap = cap;
  }
  memcpy(s->buf + s->end, r->ahead, n);
  XXH3_128bits_update(r->hash, r->ahead, n);
  s->end += n;
  r->offset += (int64_t)n;
  if (r->offset >= r->size) {
    /* A regular file is read up to the size it had when it was opened: the
    ** end needs no read of its own (one trip to the thread pool less). */
    free(r->ahead);
    r->ahead = NULL;
    uncharge(r, r->chunk);
  }
  read_ahead(L, s);
  progress(s, 0);
  return VOUCH_ROW;
}


/*
** A work item for a scanner that reads the file itself (scan_file): the
** first one hashes the whole file, front to back, so that the load records
** the same hash as any other; then each makes one batch.
*/
static void scan_file_work(reader *r, void *spare) {
  r->spare = NULL;
  if (r->size == INT64_MAX) {  /* a pipe: no going back and forth in it */
    r->sc->batch_free(spare);
    r->result = -ESPIPE;
    return;
  }
  if (r->woffset < r->size) {
    char *tmp = malloc(CHUNK);
    if (tmp == NULL) {
      r->sc->batch_free(spare);
      r->nomem = 1;
      return;
    }
    while (r->woffset < r->size) {
      ssize_t n = pread(r->fd, tmp, CHUNK, (off_t)r->woffset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        free(tmp);
        r->sc->batch_free(spare);
        r->result = -errno;
        return;
      }
      if (n == 0) break;
      XXH3_128bits_update(r->hash, tmp, (size_t)n);
      r->woffset += n;
    }
    free(tmp);
    if (r->woffset < r->size) {  /* shrank while read, or a read error */
      r->sc->batch_free(spare);
      r->weof = 1;
      r->result = 0;
      return;
    }
  }
  r->result = 1;
  r->ready = r->sc->scan_file(r->ws, r->fd, r->size, spare, &r->weof, &r->ready_bytes);
  if (r->ready == NULL) r->nomem = 1;
}


/*
** The work item (thread pool): read the next chunk and scan it. Only the
** worker touches ws, the hash, r->spare and the w* fields while it runs.
*/
static void scan_work(uv_work_t *w) {
  reader *r = w->data;
  ssize_t n = 0;
  void *spare = r->spare;
  char *p;
  if (r->sc->scan_file) {
    scan_file_work(r, spare);
    return;
  }
  p = r->sc->space(r->ws, r->chunk);
  r->spare = NULL;
  if (p == NULL) {
    r->sc->batch_free(spare);
    r->nomem = 1;
    return;
  }
  if (r->woffset < r->size) {
    do {
      /* Pipes and terminals cannot seek: they are read from where they are. */
      n = r->size == INT64_MAX ? read(r->fd, p, r->chunk)
                               : pread(r->fd, p, r->chunk, (off_t)r->woffset);
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) {
    r->sc->batch_free(spare);
    r->result = -errno;
    return;
  }
  r->result = n;
  XXH3_128bits_update(r->hash, p, (size_t)n);
  r->woffset += n;
  r->weof = n == 0 || r->woffset >= r->size;
  r->ready = r->sc->scan(r->ws, spare, (size_t)n, r->weof, &r->ready_bytes);
  if (r->ready == NULL) r->nomem = 1;
}


/* Back on the main thread; never touches Lua itself. */
static void scan_done(uv_work_t *w, int status) {
  reader *r = w->data;
  (void)status;  /* never cancelled: uv_cancel is not used */
  r->pending = 1;
  r->offset = r->woffset;
  request_ended(r);
}


/* Queue the next work item (scanner). */
static int scan_ahead(lua_State *L, vouch_source_t *s) {
  reader *r = s->r;
  int rc;
  /*
  ** The worker's batch is charged once it is taken; until then it grows
  ** unseen, so room for it is charged now: a read's worth of bytes and as
  ** much again for its tokens. A thousand sources reading at once stay
  ** within --max-memory.
  */
  size_t room = 2 * r->chunk;
  if (charge(r, room) != 0) {
    r->pending = 1;
    r->result = UV_ENOMEM;
    return UV_ENOMEM;
  }
  r->work_charged = r->spare_charged + room;
  r->spare_charged = 0;                    /* the worker reuses the spare */
  if (r->sc->prepare) r->sc->prepare(s, r->ws);
  r->work.data = r;
  r->busy = 1;
  rc = uv_queue_work(&vouch_host(L)->loop, &r->work, scan_work, scan_done);
  if (rc < 0) {
    r->busy = 0;
    r->pending = 1;
    r->result = rc;
  }
  return rc;
}


/*
** Take the batch the work item made (freeing the one before) and queue the
** next item. VOUCH_BAD with a message.
*/
static int take(lua_State *L, vouch_source_t *s) {
  reader *r = s->r;
  r->pending = 0;
  if (r->result < 0) {
    lua_pushfstring(L, "%s: %s", s->path, strerror((int)-r->result));
    return VOUCH_BAD;
  }
  if (r->weof && r->size != INT64_MAX && r->offset < r->size) {
    /* Truncated while being read (the batch is freed with the reader). */
    lua_pushfstring(L, "%s: the file shrank while it was read (%I of %I bytes)",
                    s->path, (lua_Integer)r->offset, (lua_Integer)r->size);
    return VOUCH_BAD;
  }
  if (s->batch) {  /* the next work item reuses it: it stays charged */
    if (r->spare) r->sc->batch_free(r->spare);
    uncharge(r, r->spare_charged);
    r->spare = s->batch;
    r->spare_charged = r->batch_charged;
  } else {
    uncharge(r, r->batch_charged);
  }
  s->batch = NULL;
  r->batch_charged = 0;
  uncharge(r, r->work_charged);            /* what it made is charged instead */
  r->work_charged = 0;
  if (r->nomem || charge(r, r->ready_bytes) != 0) {
    if (r->ready) r->sc->batch_free(r->ready);
    r->ready = NULL;
    return luaL_error(L, "not enough memory");
  }
  r->batch_charged = r->ready_bytes;
  s->batch = r->ready;
  r->ready = NULL;
  if (r->weof) s->eof = 1;
  else scan_ahead(L, s);
  progress(s, 0);
  return VOUCH_ROW;
}


/*
** At the end the file and the buffers go at once, not when the source is
** collected: a thousand sources read to their end under vouch.all would
** otherwise hold them all until a collection. The hash, columns and counts
** stay; the source reads as ended from now on.
*/
static void drain(vouch_source_t *s) {
  reader *r = s->r;
  uv_fs_t req;
  if (r == NULL || r->busy || s->drained) return;
  s->drained = 1;
  if (r->sc) {
    if (s->batch) r->sc->batch_free(s->batch);
    if (r->ready) r->sc->batch_free(r->ready);
    if (r->spare) r->sc->batch_free(r->spare);
    if (r->ws) r->sc->state_free(r->ws);
    s->batch = r->ready = r->spare = r->ws = NULL;
    r->batch_charged = r->spare_charged = r->work_charged = 0;
  }
  free(r->buf);
  free(r->ahead);
  r->buf = s->buf = r->ahead = NULL;
  s->pos = s->end = 0;
  uncharge(r, r->charged);
  if (r->fd >= 0) {
    uv_fs_close(NULL, &req, r->fd, NULL);
    uv_fs_req_cleanup(&req);
    r->fd = -1;
  }
  budget_leave(r);
}


/*
** Run the loader until it has a row, the end or an error. VOUCH_NEED means
** the task must wait for the read in flight: the caller yields with its
** continuation, which calls step again.
*/
static int step(lua_State *L, vouch_source_t *s, int sidx, int mode) {
  reader *r = s->r;
  int rc;
  if (s->closed || r == NULL) return luaL_error(L, "attempt to use a closed source");
  if (r->waiting || s->held)
    return luaL_error(L, "%s: the source is being read by another task", s->path);
  s->sidx = sidx;
  if (s->drained) return VOUCH_END;
  for (;;) {
    rc = s->loader->next(L, s, mode);
    if (rc != VOUCH_NEED) break;
    if (s->eof) return luaL_error(L, "%s: the %s loader asked for more after the end",
                                  s->path, s->loader->format);
    if (r->pending) {
      if ((r->sc ? take(L, s) : absorb(L, s)) == VOUCH_BAD) return VOUCH_BAD;
      continue;
    }
    if (!r->busy && (r->sc ? scan_ahead(L, s) : read_ahead(L, s)) < 0) continue;
    vouch_op_start(L, &r->op);
    r->op.cancel = fs_cancel;
    r->waiting = 1;
    r->cancelled = 0;
    vouch_op_timeout(&r->op, r->timeout);
    return VOUCH_NEED;
  }
  if (rc == VOUCH_ROW && mode != VOUCH_MODE_PRIME) s->rows++;
  if (rc == VOUCH_END) {
    progress(s, 1);
    drain(s);
  }
  return rc;
}

/* }====================================================== */


/*
** {======================================================
** Opening
** =======================================================
*/

static int source_gc(lua_State *L);

/*
** Push a new source for `loader`; the loader then sets s->state (freed by
** loader->free when the source is collected, even if the open fails).
*/
vouch_source_t *vouch_source_new(lua_State *L, const vouch_loader_t *loader) {
  vouch_source_t *s = lua_newuserdatauv(L, sizeof *s, 2);
  memset(s, 0, sizeof *s);
  s->loader = loader;
  s->timeout = -1;
  luaL_setmetatable(L, VOUCH_SOURCE_MT);
  return s;
}


static int open_k(lua_State *L, int status, lua_KContext ctx);
static int begin_k(lua_State *L, int status, lua_KContext ctx);
static int prime_k(lua_State *L, int status, lua_KContext ctx);


/*
** The open, on the thread pool: beneath the grant, so that no symlink
** swapped in after the check can lead out of it. It may block (a FIFO with
** no writer yet), which the task's wait and its timeout cover.
*/
static void open_work(uv_work_t *w) {
  reader *r = w->data;
  const char *why;
  int fd = vouch_path_open(r->path, O_RDONLY, 0, &why);
  r->result = fd < 0 ? -errno : fd;
}


/* Back on the main thread, as fs_done for an open. */
static void open_done(uv_work_t *w, int status) {
  reader *r = w->data;
  (void)status;  /* never cancelled: uv_cancel is not used */
  vouch_path_free(r->path);
  r->path = NULL;
  if (r->result >= 0) r->fd = (uv_file)r->result;
  request_ended(r);
}

int vouch_source_open(lua_State *L, int sidx, const char *path) {
  vouch_source_t *s = check_source(L, sidx);
  reader *r;
  int rc;
  if (s->path == NULL) s->path = strdup(path);
  if (s->path == NULL) return luaL_error(L, "not enough memory");
  const char *why;
  vouch_path_t *p = vouch_path_check(vouch_host(L), path, VOUCH_READ, &why);
  if (p == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (p == NULL) return luaL_error(L, "%s: %s", path, why);
  s->resolved = strdup(vouch_path_resolved(p));
  r = calloc(1, sizeof *r);
  if (r == NULL || s->resolved == NULL) {
    free(r);
    vouch_path_free(p);
    return luaL_error(L, "not enough memory");
  }
  r->path = p;
  r->fd = -1;
  r->h = vouch_host(L);
  r->timeout = s->timeout;
  r->sc = s->loader->scanner;
  r->ws = s->scan_state;
  s->scan_state = NULL;
  s->r = r;
  r->req.data = r;
  r->hash = XXH3_createState();
  if (r->hash == NULL) {
    vouch_path_free(r->path);
    r->path = NULL;
    return luaL_error(L, "not enough memory");
  }
  XXH3_128bits_reset(r->hash);
  s->started = uv_hrtime();
  vouch_op_start(L, &r->op);
  r->op.cancel = fs_cancel;
  r->busy = 1;
  r->waiting = 1;
  r->work.data = r;
  rc = uv_queue_work(&vouch_host(L)->loop, &r->work, open_work, open_done);
  if (rc < 0) {
    vouch_path_free(r->path);
    r->path = NULL;
    r->busy = r->waiting = 0;
    vouch_op_unlink(&r->op);
    r->result = rc;
    return open_k(L, LUA_OK, sidx);
  }
  vouch_op_timeout(&r->op, r->timeout);
  return lua_yieldk(L, 0, sidx, open_k);
}


static int open_k(lua_State *L, int status, lua_KContext ctx) {
  int sidx = (int)ctx;
  vouch_source_t *s = check_source(L, sidx);
  reader *r = s->r;
  struct stat st;
  if (status == LUA_YIELD && timed_out(s)) {
    const char *msg = lua_tostring(L, -2);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", s->path, msg ? msg : "timed out");
    lua_pushliteral(L, "ETIMEDOUT");
    return 3;
  }
  if (r->result < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", s->path, strerror((int)-r->result));
    lua_pushstring(L, uv_err_name((int)r->result));
    return 3;
  }
  if (fstat(r->fd, &st) != 0) memset(&st, 0, sizeof st);
  if (S_ISDIR(st.st_mode)) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", s->path, strerror(EISDIR));
    lua_pushstring(L, "EISDIR");
    return 3;
  }
  /* Small files get small buffers: 100 sources open at once stay cheap. */
  r->chunk = CHUNK;
  r->size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : INT64_MAX;
  if (r->size < CHUNK) r->chunk = (size_t)r->size + 4096;
  r->task = vouch_task_current(L);
  if (!budget_fits(r, 3 * r->chunk)) {  /* wait for a share of the budget */
    vouch_op_start(L, &r->op);
    r->op.cancel = admit_cancel;
    r->waiting = 1;
    r->cancelled = 0;
    r->queued = 1;
    list_push(&r->h->loads_waiting, r);
    vouch_op_timeout(&r->op, r->timeout);
    return lua_yieldk(L, 0, ctx, begin_k);
  }
  budget_take(r, 3 * r->chunk);
  return begin_k(L, LUA_OK, ctx);
}


/* The source has its share of the budget: the first read. */
static int begin_k(lua_State *L, int status, lua_KContext ctx) {
  int sidx = (int)ctx;
  vouch_source_t *s = check_source(L, sidx);
  reader *r = s->r;
  if (status == LUA_YIELD && timed_out(s)) {
    const char *msg = lua_tostring(L, -2);
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", s->path, msg ? msg : "timed out");
    lua_pushliteral(L, "ETIMEDOUT");
    return 3;
  }
  if (r->sc) {  /* the scanner reads into its own buffer; batches are charged */
    scan_ahead(L, s);
    return prime_k(L, LUA_OK, ctx);
  }
  r->cap = 2 * r->chunk;
  if (charge(r, r->cap + r->chunk) != 0) return luaL_error(L, "not enough memory");
  r->buf = s->buf = malloc(r->cap);
  r->ahead = malloc(r->chunk);
  if (r->buf == NULL || r->ahead == NULL) return luaL_error(L, "not enough memory");
  read_ahead(L, s);
  return prime_k(L, LUA_OK, ctx);
}


static int prime_k(lua_State *L, int status, lua_KContext ctx) {
  int sidx = (int)ctx;
  vouch_source_t *s = check_source(L, sidx);
  if (status == LUA_YIELD && timed_out(s)) return raise_timeout(L, s);
  switch (step(L, s, sidx, VOUCH_MODE_PRIME)) {
    case VOUCH_NEED: return lua_yieldk(L, 0, ctx, prime_k);
    case VOUCH_BAD: return lua_error(L);
    default:
      lua_pushvalue(L, sidx);
      return 1;
  }
}

/* }====================================================== */


/*
** {======================================================
** Methods
** =======================================================
*/

static void push_keys(lua_State *L, int sidx) {
  lua_getiuservalue(L, sidx, 1);
}


/*
** The iterator is a closure over the source (upvalue 1) and its keys table
** (upvalue 2), so that a row costs no type check and no uservalue lookup.
*/
static int rows_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_source_t *s = lua_touserdata(L, lua_upvalueindex(1));
  if (status == LUA_YIELD && timed_out(s)) return raise_timeout(L, s);
  lua_settop(L, 0);
  lua_pushvalue(L, lua_upvalueindex(1));
  if (lua_type(L, lua_upvalueindex(2)) == LUA_TTABLE) lua_pushvalue(L, lua_upvalueindex(2));
  else push_keys(L, 1);
  switch (step(L, s, 1, VOUCH_MODE_LUA)) {
    case VOUCH_ROW: return 1;
    case VOUCH_NEED: return lua_yieldk(L, 0, ctx, rows_k);
    case VOUCH_BAD: return lua_error(L);
    default: return 0;
  }
}


static int rows_iter(lua_State *L) {
  return rows_k(L, LUA_OK, 0);
}


/* src:rows(): an iterator of rows, read as the loop asks for them. */
static int source_rows(lua_State *L) {
  check_source(L, 1);
  lua_settop(L, 1);
  push_keys(L, 1);
  lua_pushcclosure(L, rows_iter, 2);
  return 1;
}


/*
** The field iterator: a closure over the source (1), the field's name (2)
** and its column (3: -2 until the columns are known, -1 for none). A
** loader with VOUCH_MODE_FIELD pushes that value alone; another makes the
** row and the value is taken from it.
*/
static int field_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_source_t *s = lua_touserdata(L, lua_upvalueindex(1));
  int mode = s->loader->fields ? VOUCH_MODE_FIELD : VOUCH_MODE_LUA;
  if (status == LUA_YIELD && timed_out(s)) return raise_timeout(L, s);
  lua_settop(L, 0);
  lua_pushvalue(L, lua_upvalueindex(1));
  push_keys(L, 1);
  if (mode == VOUCH_MODE_FIELD) {
    lua_Integer col = lua_tointeger(L, lua_upvalueindex(3));
    if (col == -2 && s->ncols > 0) {
      const char *name = lua_tostring(L, lua_upvalueindex(2));
      int i;
      for (i = 0; i < s->ncols && strcmp(s->cols[i], name) != 0; i++) {}
      col = i < s->ncols ? i : -1;
      lua_pushinteger(L, col);
      lua_replace(L, lua_upvalueindex(3));
    }
    s->field = (int)col;
  }
  switch (step(L, s, 1, mode)) {
    case VOUCH_ROW:
      if (mode == VOUCH_MODE_LUA) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_rawget(L, -2);
      }
      lua_pushboolean(L, 1);
      lua_insert(L, -2);
      return 2;
    case VOUCH_NEED: return lua_yieldk(L, 0, ctx, field_k);
    case VOUCH_BAD: return lua_error(L);
    default: return 0;
  }
}


static int field_iter(lua_State *L) {
  return field_k(L, LUA_OK, 0);
}


/*
** src:field(name): an iterator that reads the rows as rows() does but
** returns, for each, true and its value of field `name` (what row[name]
** would be), without making the row; nothing at the end. Both iterators
** read the same rows: a row read by one is not read by the other.
*/
static int source_field(lua_State *L) {
  check_source(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, -2);
  lua_pushcclosure(L, field_iter, 3);
  return 1;
}


static int all_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_source_t *s = check_source(L, 1);
  lua_Integer n = (lua_Integer)ctx;
  if (status == LUA_YIELD && timed_out(s)) return raise_timeout(L, s);
  lua_settop(L, 2);
  push_keys(L, 1);
  for (;;) {
    switch (step(L, s, 1, VOUCH_MODE_LUA)) {
      case VOUCH_ROW:
        lua_rawseti(L, 2, ++n);
        break;
      case VOUCH_NEED: return lua_yieldk(L, 0, (lua_KContext)n, all_k);
      case VOUCH_BAD: return lua_error(L);
      default:
        lua_pushvalue(L, 2);
        return 1;
    }
  }
}


/* src:all(): the rows not read yet, as one array. */
static int source_all(lua_State *L) {
  check_source(L, 1);
  lua_settop(L, 1);
  lua_newtable(L);
  return all_k(L, LUA_OK, 0);
}


/* Raise the error on top after rolling the bulk insert back. */
static int into_fail(lua_State *L, vouch_source_t *s) {
  char *err = NULL;
  if (s->bulk) {
    vouch_db_bulk_end(s->bulk, 0, NULL, &err);
    s->bulk = NULL;
    free(err);
  }
  return lua_error(L);
}


static int into_begin(lua_State *L, vouch_source_t *s, vouch_db_t *db, const char *table) {
  char *err = NULL;
  s->bulk = vouch_db_bulk_begin(db, vouch_task_current(L), table, s->ncols, (const char *const *)s->cols, &err);
  if (s->bulk == NULL) {
    lua_pushfstring(L, "%s: %s", s->path, err ? err : "cannot start the bulk insert");
    free(err);
    return into_fail(L, s);
  }
  return 0;
}


static int into_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_source_t *s = check_source(L, 1);
  vouch_db_t *db = vouch_db_check(L, 2);
  const char *table = luaL_checkstring(L, 3);
  int64_t n = (int64_t)ctx;
  char *err = NULL;
  if (status == LUA_YIELD && timed_out(s)) {
    lua_pushfstring(L, "%s: %s", s->path, lua_tostring(L, -2));
    return into_fail(L, s);
  }
  lua_settop(L, 3);
  for (;;) {
    int rc = s->held - 1;  /* held is the result plus one */
    s->held = 0;
    if (rc < 0) {
      rc = step(L, s, 1, VOUCH_MODE_VALUES);
      if (rc == VOUCH_NEED) return lua_yieldk(L, 0, (lua_KContext)n, into_k);
      if (rc == VOUCH_BAD) return into_fail(L, s);
    }
    if (s->bulk == NULL && s->ncols > 0) {
      if (vouch_db_bulk_busy(L, db)) {  /* another task's load: our turn comes */
        s->held = rc + 1;
        vouch_db_bulk_wait(L, db);
        return lua_yieldk(L, 0, (lua_KContext)n, into_k);
      }
      into_begin(L, s, db, table);
    }
    if (rc == VOUCH_END) break;
    if (vouch_db_bulk_row(s->bulk, s->vals, &err) != 0) {
      lua_pushfstring(L, "%s: row %d: %s", s->path, (int)s->rows, err ? err : "insert failed");
      free(err);
      return into_fail(L, s);
    }
    n++;
  }
  if (s->bulk) {
    char hex[33];
    XXH128_hash_t hv = XXH3_128bits_digest(s->r->hash);
    vouch_load_info_t info;
    vouch_bulk_t *b = s->bulk;
    snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)hv.high64,
             (unsigned long long)hv.low64);
    info.source = s->resolved;
    info.format = s->loader->format;
    info.hash = hex;
    info.rows = n;
    info.bad_rows = s->bad_rows;
    s->bulk = NULL;
    if (vouch_db_bulk_end(b, 1, &info, &err) != 0) {
      lua_pushfstring(L, "%s: %s", s->path, err ? err : "commit failed");
      free(err);
      return lua_error(L);
    }
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}


/*
** src:into(db, table): store the rows not read yet in `table` (created when
** missing) in one transaction, and record the load. Returns the rows stored.
** Bad input anywhere stores nothing.
*/
static int source_into(lua_State *L) {
  vouch_source_t *s = check_source(L, 1);
  vouch_db_check(L, 2);
  luaL_checkstring(L, 3);
  if (s->bulk) return luaL_error(L, "%s: into() is already running", s->path);
  lua_settop(L, 3);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 1, 2);  /* keep the database alive while we insert */
  return into_k(L, LUA_OK, 0);
}


static void source_release(vouch_source_t *s) {
  const vouch_scanner_t *sc = s->loader ? s->loader->scanner : NULL;
  if (sc && s->batch) sc->batch_free(s->batch);
  s->batch = NULL;
  if (sc && s->scan_state) sc->state_free(s->scan_state);
  s->scan_state = NULL;
  if (s->r) {
    if (s->r->busy) s->r->orphan = 1;  /* the read's callback frees it */
    else reader_free(s->r);
    s->r = NULL;
    s->buf = NULL;
  }
  s->closed = 1;
}


/* src:close(): close the file now rather than when the source is collected. */
static int source_close(lua_State *L) {
  vouch_source_t *s = check_source(L, 1);
  if (s->r && s->r->waiting)
    return luaL_error(L, "%s: the source is being read by another task", s->path);
  progress(s, 1);
  source_release(s);
  return 0;
}


static int source_gc(lua_State *L) {
  vouch_source_t *s = check_source(L, 1);
  int i;
  if (s->bulk) {
    char *err = NULL;
    vouch_db_bulk_end(s->bulk, 0, NULL, &err);
    free(err);
    s->bulk = NULL;
  }
  source_release(s);
  if (s->loader && s->loader->free && s->state) s->loader->free(s);
  s->state = NULL;
  for (i = 0; s->cols && i < s->ncols; i++) free(s->cols[i]);
  free(s->cols);
  free(s->vals);
  free(s->path);
  free(s->resolved);
  s->cols = NULL;
  s->vals = NULL;
  s->path = s->resolved = NULL;
  return 0;
}


static int source_tostring(lua_State *L) {
  vouch_source_t *s = check_source(L, 1);
  lua_pushfstring(L, "vouch.load.source (%s %s)", s->loader->format,
                  s->path ? s->path : "?");
  return 1;
}


/* Fields: columns, rows_read, line, bad_rows, path, format; then the methods. */
static int source_index(lua_State *L) {
  vouch_source_t *s = check_source(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "columns") == 0) {
    int i;
    lua_createtable(L, s->ncols, 0);
    for (i = 0; i < s->ncols; i++) {
      lua_pushstring(L, s->cols[i]);
      lua_rawseti(L, -2, i + 1);
    }
  } else if (strcmp(k, "rows_read") == 0) {
    lua_pushinteger(L, (lua_Integer)s->rows);
  } else if (strcmp(k, "line") == 0) {
    if (s->line > 0) lua_pushinteger(L, (lua_Integer)s->line);
    else lua_pushnil(L);
  } else if (strcmp(k, "bad_rows") == 0) {
    lua_pushinteger(L, (lua_Integer)s->bad_rows);
  } else if (strcmp(k, "path") == 0) {
    lua_pushstring(L, s->path);
  } else if (strcmp(k, "format") == 0) {
    lua_pushstring(L, s->loader->format);
  } else if (strcmp(k, "hash") == 0) {
    /* Of the bytes read so far: of the whole input once its rows are read. */
    if (s->r && s->r->hash) {
      char hex[33];
      XXH128_hash_t hv = XXH3_128bits_digest(s->r->hash);
      snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)hv.high64,
               (unsigned long long)hv.low64);
      lua_pushstring(L, hex);
    } else lua_pushnil(L);
  } else if (strcmp(k, "size") == 0) {
    if (s->r && s->r->size != INT64_MAX) lua_pushinteger(L, (lua_Integer)s->r->size);
    else lua_pushnil(L);
  } else if (strcmp(k, "read") == 0) {
    /* Bytes read so far (ahead of the rows handed out by a buffer or so). */
    if (s->r) lua_pushinteger(L, (lua_Integer)(s->r->offset < s->r->size ? s->r->offset
                                                                          : s->r->size));
    else lua_pushnil(L);
  } else if (strcmp(k, "resolved") == 0) {
    lua_pushstring(L, s->resolved ? s->resolved : s->path);
  } else {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
  }
  return 1;
}

/* }====================================================== */


int luaopen_vouch_load(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"rows", source_rows}, {"field", source_field}, {"all", source_all}, {"into", source_into},
    {"close", source_close}, {NULL, NULL}
  };
  luaL_newmetatable(L, VOUCH_SOURCE_MT);
  luaL_newlib(L, methods);
  lua_pushcclosure(L, source_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, source_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, source_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, source_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lua_newtable(L);
  vouch_load_csv_open(L);
  vouch_load_json_open(L);
  vouch_load_xlsx_open(L);
  return 1;
}
