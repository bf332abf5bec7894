/*
** db.c: vouch.db, SQLite for scripts, and the narrow C interface of db.h.
**
** A database is a userdata "vouch.db" holding the connection, a bounded
** cache of prepared statements (keyed by their SQL), the prepared INSERTs
** of db:insert (per table and column set) and the list of open `rows`
** cursors, so that closing the database can finalize everything it lent.
** Values cross as Lua's own types: integers stay integers, floats floats,
** nil is NULL, strings are bytes (NULs included), blobs are explicit
** (vouch.db.blob) and booleans are stored as 0 and 1.
*/
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "record_pg.h"
#include "store.h"

#define ROWS_MT "vouch.db.rows"
#define BLOB_MT "vouch.db.blob"
#define DEFAULT_KEY "vouch.db.default"   /* registry: the host's database */
#define CACHE_MAX 64        /* prepared statements kept per database */
#define INS_TABLES_MAX 32   /* tables whose INSERTs db:insert keeps prepared */
#define INS_STMTS_MAX 8     /* column sets kept per table */
#define SQL_EXCERPT 200     /* bytes of SQL quoted in an error */

/* Uservalues of the database userdata. */
enum { UV_CACHE = 1,        /* table: SQL string -> light userdata (stmt_entry) */
       UV_ANCHOR = 2,       /* table: column-name strings db:insert points at */
       UV_COLUMNS = 3 };    /* table: load id -> its columns (strings), for run_input */

typedef struct stmt_entry {
  sqlite3_stmt *st;         /* prepared with PERSISTENT; owned */
  char *sql;                /* copy of the key, to remove it on eviction; owned */
  size_t len;
  int busy;                 /* lent to an open rows cursor */
  struct stmt_entry *prev, *next;  /* most recently used first */
} stmt_entry;

/* One column set of a table for db:insert: the INSERT naming those columns. */
typedef struct ins_stmt {
  sqlite3_stmt *st;         /* owned */
  int nslots;               /* table slots known when it was prepared */
  uint64_t *set;            /* bitset over those slots: the columns inserted */
  int *param;               /* param[slot]: 1-based parameter, 0 if not inserted */
  struct ins_stmt *next;
} ins_stmt;

/* What db:insert knows of a table: its column names seen so far ("slots"). */
typedef struct ins_table {
  char *name;               /* the table, as given; owned */
  int nslots, cap;
  const char **key;         /* slot names: Lua strings anchored in UV_ANCHOR */
  size_t *keylen;
  uint64_t *seen;           /* scratch bitset for the row being read */
  ins_stmt *stmts;          /* most recently used first, at most INS_STMTS_MAX */
  struct ins_table *next;   /* most recently used first */
} ins_table;

typedef struct rows_cursor rows_cursor;
typedef struct rec_writer rec_writer;
typedef struct ck_thread ck_thread;

typedef struct rec_load {   /* a load begun by db:run_load, for a run open here */
  int64_t id, run_id;
  int ncols;                /* the input's columns (their names are in
                               UV_COLUMNS); 0: rows are stored as objects */
  int64_t rows;             /* input rows written */
} rec_load;

#define REC_NAME_CELL 28     /* the columns of a name in a run's table */

typedef struct rec_run {    /* a run begun by db:run_begin and not yet ended */
  int64_t id;
  int ndims;                /* its scorecard's dimensions */
  size_t cells[3];          /* the widest id, name (cut) and kind stored */
} rec_run;

struct vouch_bulk {
  vouch_db_t *db;           /* borrowed; the caller keeps the userdata alive */
  sqlite3_stmt *ins;        /* NULL once the database was closed; owned */
  char *table;              /* owned */
  int outer;                /* began the transaction (else a savepoint) */
  int sp;                   /* savepoint number */
  const void *task;         /* whose load it is (the loop's task), or NULL */
  int64_t rows;
  vouch_bulk_t *prev, *next;/* the database's open bulk inserts */
};

struct vouch_db {
  sqlite3 *db;              /* the connection; NULL once closed */
  vouch_host_t *h;          /* whose limits the progress handler obeys */
  vouch_auth_t auth;        /* the authorizer's state (untrusted scripts) */
  int sandboxed;            /* the authorizer is installed */
  int readonly;
  int is_default;           /* the host's database (cached in the registry) */
  int tx_depth;             /* db:tx levels open */
  lua_State *tx_owner;      /* the coroutine that opened the outermost db:tx */
  const void *tx_task;      /* its task */
  struct bulk_wait *waiters;/* loads of other tasks waiting for the writer, oldest first */
  int sp_seq;               /* savepoint numbers */
  stmt_entry *cache;        /* statement cache, MRU list */
  int ncache;
  ins_table *ins;           /* db:insert's tables, MRU list */
  int nins;
  rows_cursor *cursors;     /* open rows cursors */
  vouch_bulk_t *bulks;      /* open bulk inserts */
  char *path;               /* as opened; owned */
  rec_run *runs;            /* runs begun here by db:run_begin and not yet ended:
                               the only ones the run record may write; owned */
  int nruns, capruns;
  sqlite3_stmt *rec_score;  /* INSERT INTO scores */
  sqlite3_stmt *rec_input;  /* INSERT INTO inputs */
  rec_load *loads;          /* loads begun by db:run_load for an open run; owned */
  int nloads, caploads;
  rec_writer *w;            /* writes the run's rows, or NULL; owned */
  ck_thread *ck;            /* the checkpoint under way, or NULL; owned */
  vouch_pgrec_t *pg;        /* the record is on this server: this file stages the runs
                               begun here, which are sent there as they end, and holds
                               a copy of the server's runs; owned */
  int staged;               /* a private file of the command's own, not the user's copy */
  int partners_out;         /* partners put here wait to be sent to the server */
  struct lease_timer *lease;/* renews the leases of the runs begun here on the server
                               (not shards), or NULL; closed with the database */
  int lease_ms;             /* their lease */
  struct {                  /* the shard of a run held here (vet --shard), run 0 if none */
    int64_t run, claims;
    int shard, lease_ms;
    uint64_t renewed;       /* uv_hrtime() of the last renewal */
    char holder[300];
  } shard;
};

struct rows_cursor {
  vouch_db_t *db;           /* NULL once released */
  sqlite3_stmt *st;         /* the statement being read */
  stmt_entry *entry;        /* the cache entry lent, or NULL if st is ours */
  int ncols;
  rows_cursor *prev, *next; /* the database's open cursors */
};


/*
** {======================================================
** Errors
** =======================================================
*/

/*
** Push the message of a failed SQLite call: SQLite's words, the code's
** name, and where in the SQL it failed when SQLite says (offset >= 0).
** A refusal by the authorizer says why instead of "not authorized".
*/
static const char *push_sqlerror(lua_State *L, vouch_db_t *d, int rc, const char *sql,
                                 int offset) {
  const char *msg = d->db ? sqlite3_errmsg(d->db) : "database is closed";
  luaL_Buffer b;
  if (d->auth.deny[0] && ((rc & 0xff) == SQLITE_AUTH || strstr(msg, "not authorized")))
    msg = d->auth.deny;
  if ((rc & 0xff) == SQLITE_NOMEM && d->h->max_memory)
    vouch_limits_trip(d->h, VOUCH_LIMIT_MEMORY);  /* SQLite's share of --max-memory */
  luaL_buffinit(L, &b);
  luaL_addstring(&b, msg);
  luaL_addstring(&b, " (");
  luaL_addstring(&b, vouch__store_code_name(rc));
  luaL_addchar(&b, ')');
  if (sql != NULL) {
    size_t n = strlen(sql);
    if (offset >= 0) lua_pushfstring(L, " at offset %d", offset);
    else lua_pushliteral(L, "");
    luaL_addvalue(&b);
    luaL_addstring(&b, " in \"");
    luaL_addlstring(&b, sql, n > SQL_EXCERPT ? SQL_EXCERPT : n);
    if (n > SQL_EXCERPT) luaL_addstring(&b, "...");
    luaL_addchar(&b, '"');
  }
  d->auth.deny[0] = '\0';
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}


/*
** Raise the message on top of the stack with the caller's position. When
** the progress handler stopped SQLite because a limit struck, the limits'
** hook is armed on this coroutine too, so a pcall around the query cannot
** keep the script going.
*/
static int raise_top(lua_State *L) {
  vouch_limits_hook(L);
  luaL_where(L, 1);
  lua_insert(L, -2);
  lua_concat(L, 2);
  return lua_error(L);
}


static int raise_sqlerror(lua_State *L, vouch_db_t *d, int rc, const char *sql, int offset) {
  push_sqlerror(L, d, rc, sql, offset);
  return raise_top(L);
}


/* A malloc'd copy of SQLite's message, for the C interface's *err. */
static char *c_error(vouch_db_t *d, const char *what) {
  const char *m = d->db ? sqlite3_errmsg(d->db) : "database is closed";
  int rc = d->db ? sqlite3_extended_errcode(d->db) : SQLITE_MISUSE;
  size_t n;
  char *s;
  if (d->auth.deny[0] && ((rc & 0xff) == SQLITE_AUTH || strstr(m, "not authorized")))
    m = d->auth.deny;
  n = strlen(what) + strlen(m) + 64;
  if ((s = malloc(n)) != NULL)
    snprintf(s, n, "%s: %s (%s)", what, m, vouch__store_code_name(rc));
  d->auth.deny[0] = '\0';
  return s;
}

/* }====================================================== */


/*
** {======================================================
** The run's writer: the rows of a scoring run (db:run_score, db:run_input)
** are made into their values and text on the caller's thread, in batches,
** and stepped into SQLite on a thread of their own, so that storing a run
** goes on while the next partners are scored. The connection is the
** writer's while it has rows: every other use of the database waits for
** it first (w_sync and w_idle), so statements still run in the order they
** were called. A row that fails is raised by the next call on the
** database, and the writer drops the rows after it.
** =======================================================
*/

#define W_BATCH (256 * 1024)  /* bytes of rows handed over at once */
#define W_QUEUE 4             /* batches handed over and not yet written, at most */

enum { W_INPUT = 1, W_SCORE = 2, W_STMT = 3 };

/* A row's header in a batch; its texts follow it. For an input row,
** text 0 is its values; for a score row, the partner's id, name, kind,
** dimensions and reasons, in that order. A statement of db:queue is
** followed by its len[0] parameters, each a w_param and its bytes. */
typedef struct w_row {
  int kind;
  sqlite3_stmt *st;         /* db:queue's statement (cached; kept while queued) */
  int total_type;           /* SQLITE_NULL, SQLITE_INTEGER or SQLITE_FLOAT */
  int verdict;              /* index in rec_verdicts */
  unsigned nulls;           /* bit k: text k is NULL; bits 5, 6: load, row */
  int64_t run, load, row, total_i;
  double total_f;
  uint32_t len[5];
} w_row;

typedef struct w_param {
  int type;                 /* SQLITE_NULL, _INTEGER, _FLOAT, _TEXT or _BLOB */
  int64_t i;
  double f;
  uint32_t len;             /* the bytes of a text or blob, which follow */
} w_param;

typedef struct w_batch {
  vouch_json_buf b;         /* the rows; b.n may run past `done` while one is made */
  size_t done;              /* bytes of whole rows */
  struct w_batch *next;     /* on the spare list */
} w_batch;

struct rec_writer {
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t go;             /* the writer: a batch came, or stop */
  uv_cond_t idle;           /* the caller: a batch was written */
  w_batch *queue[W_QUEUE];  /* handed over, oldest first from head */
  int head, count;
  int working;              /* the writer holds the connection */
  int stop;
  w_batch *spare;           /* written and given back, to be filled again */
  w_batch *cur;             /* the caller's, being filled */
  int rc;                   /* the first row that failed, else SQLITE_OK */
  char *msg;                /* and why; owned */
  unsigned forks;           /* w_forks when it started */
};

static const char *const rec_verdicts[] = { "approve", "review", "reject", NULL };


/* The message of a row that failed, as push_sqlerror words it. */
static char *w_message(vouch_db_t *d, sqlite3_stmt *st, int rc) {
  const char *m = sqlite3_errmsg(d->db), *sql = sqlite3_sql(st);
  if (d->auth.deny[0] && ((rc & 0xff) == SQLITE_AUTH || strstr(m, "not authorized")))
    m = d->auth.deny;
  size_t n = strlen(sql), cut = n > SQL_EXCERPT ? SQL_EXCERPT : n, len = strlen(m) + cut + 80;
  char *s = malloc(len);
  if (s != NULL)
    snprintf(s, len, "%s (%s) in \"%.*s%s\"", m, vouch__store_code_name(rc), (int)cut, sql,
             n > SQL_EXCERPT ? "..." : "");
  return s;
}


/* Step one batch's rows into the database (the writer's thread). */
static void w_write(vouch_db_t *d, rec_writer *w, w_batch *bt) {
  const char *p = bt->b.p, *end = p + bt->done;
  while (p < end && w->rc == SQLITE_OK) {
    w_row h;
    sqlite3_stmt *st;
    int rc, k, internal;
    memcpy(&h, p, sizeof h);
    p += sizeof h;
    internal = h.kind != W_STMT;  /* a script's statement: the authorizer still watches it */
    if (h.kind == W_STMT) {
      st = h.st;
      for (k = 1; k <= (int)h.len[0]; k++) {
        w_param a;
        memcpy(&a, p, sizeof a);
        p += sizeof a;
        if (a.type == SQLITE_INTEGER) sqlite3_bind_int64(st, k, a.i);
        else if (a.type == SQLITE_FLOAT) sqlite3_bind_double(st, k, a.f);
        else if (a.type == SQLITE_TEXT) sqlite3_bind_text(st, k, p, (int)a.len, SQLITE_STATIC);
        else if (a.type == SQLITE_BLOB) sqlite3_bind_blob(st, k, p, (int)a.len, SQLITE_STATIC);
        p += a.len;
      }
    } else if (h.kind == W_INPUT) {
      st = d->rec_input;
      sqlite3_bind_int64(st, 1, h.load);
      sqlite3_bind_int64(st, 2, h.row);
      sqlite3_bind_text(st, 3, p, (int)h.len[0], SQLITE_STATIC);
      p += h.len[0];
    } else {
      st = d->rec_score;
      sqlite3_bind_int64(st, 1, h.run);
      for (k = 0; k < 5; k++) {
        static const int param[5] = { 2, 3, 4, 7, 8 };
        if (!(h.nulls & (1u << k)))
          sqlite3_bind_text(st, param[k], p, (int)h.len[k], SQLITE_STATIC);
        p += h.len[k];
      }
      if (h.total_type == SQLITE_INTEGER) sqlite3_bind_int64(st, 5, h.total_i);
      else if (h.total_type == SQLITE_FLOAT) sqlite3_bind_double(st, 5, h.total_f);
      sqlite3_bind_text(st, 6, rec_verdicts[h.verdict], -1, SQLITE_STATIC);
      if (!(h.nulls & (1u << 5))) sqlite3_bind_int64(st, 9, h.load);
      if (!(h.nulls & (1u << 6))) sqlite3_bind_int64(st, 10, h.row);
    }
    d->auth.internal += internal;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
    d->auth.internal -= internal;
    if (rc != SQLITE_DONE) {
      w->rc = rc;
      w->msg = w_message(d, st, rc);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
}


static void w_main(void *arg) {
  vouch_db_t *d = arg;
  rec_writer *w = d->w;
  uv_mutex_lock(&w->mu);
  for (;;) {
    w_batch *bt;
    while (w->count == 0 && !w->stop) uv_cond_wait(&w->go, &w->mu);
    if (w->count == 0) break;
    bt = w->queue[w->head];
    w->working = 1;
    uv_mutex_unlock(&w->mu);
    if (w->rc == SQLITE_OK) {
      /* The progress handler is the caller's: its limits are for its
         queries, and the script's own hook watches the time meanwhile. */
      vouch__store_progress(d->db, d->h, 0);
      w_write(d, w, bt);
      vouch__store_progress(d->db, d->h, 1);
    }
    uv_mutex_lock(&w->mu);
    w->head = (w->head + 1) % W_QUEUE;
    w->count--;
    w->working = 0;
    bt->done = bt->b.n = 0;
    bt->next = w->spare;
    w->spare = bt;
    uv_cond_signal(&w->idle);
  }
  uv_mutex_unlock(&w->mu);
}


/* A writer left by the process this one was forked from has no thread
** here: forks are counted in the child (getpid is a system call, and this
** is asked for every row). */
static unsigned w_forks;
static void w_forked(void) { w_forks++; }

static void w_hook_forks(void) {
  static int hooked;
  if (!hooked) hooked = pthread_atfork(NULL, NULL, w_forked) == 0;
}

static rec_writer *w_of(vouch_db_t *d) {
  if (d->w != NULL && d->w->forks != w_forks) d->w = NULL;
  return d->w;
}


/* Hand the batch being filled to the writer, waiting while the queue is
** full. Returns whether a row has failed. */
static int w_hand(rec_writer *w) {
  w_batch *bt = w->cur;
  int failed;
  uv_mutex_lock(&w->mu);
  if (bt != NULL && bt->done > 0) {
    while (w->count == W_QUEUE) uv_cond_wait(&w->idle, &w->mu);
    w->queue[(w->head + w->count) % W_QUEUE] = bt;
    w->count++;
    w->cur = w->spare;
    if (w->spare) w->spare = w->spare->next;
    uv_cond_signal(&w->go);
  }
  failed = w->rc != SQLITE_OK;
  uv_mutex_unlock(&w->mu);
  return failed;
}


/* Wait until every row handed over is written: the connection is the
** caller's again. */
static void w_idle(vouch_db_t *d) {
  rec_writer *w = w_of(d);
  if (w == NULL) return;
  w_hand(w);
  uv_mutex_lock(&w->mu);
  while (w->count > 0 || w->working) uv_cond_wait(&w->idle, &w->mu);
  uv_mutex_unlock(&w->mu);
}


static void w_forget(rec_writer *w) {
  w->rc = SQLITE_OK;
  free(w->msg);
  w->msg = NULL;
}


/* w_idle, then the failure of a row, if one failed: a copy of its message
** (malloc'd; the caller frees it) and its code in *rc. Told where no db:tx
** is open, it is forgotten; inside one it is told to every call until the
** transaction is rolled back (tx_rollback), so that no task commits the
** rows around the one that failed (the writer drops what was queued after
** it). */
static char *w_failure(vouch_db_t *d, int *rc) {
  rec_writer *w = w_of(d);
  char *msg;
  if (w == NULL) return NULL;
  w_idle(d);
  if (w->rc == SQLITE_OK) return NULL;
  *rc = w->rc;
  msg = strdup(w->msg ? w->msg : "a row could not be written");
  if (d->tx_depth == 0) w_forget(w);
  return msg;
}


/* Push the failure told by w_failure, as SQLite errors are pushed. */
static void w_push_error(lua_State *L, vouch_db_t *d, char *msg, int rc) {
  if ((rc & 0xff) == SQLITE_NOMEM && d->h->max_memory)
    vouch_limits_trip(d->h, VOUCH_LIMIT_MEMORY);
  lua_pushstring(L, msg ? msg : "not enough memory");
  free(msg);
}


/* Before any other use of the database from Lua: the writer done, and a
** row that failed raised. */
static void w_sync(lua_State *L, vouch_db_t *d) {
  int rc = SQLITE_OK;
  char *msg;
  if (d->w == NULL) return;
  if ((msg = w_failure(d, &rc)) != NULL || rc != SQLITE_OK) {
    w_push_error(L, d, msg, rc);
    raise_top(L);
  }
}


/* Stop the writer (its rows written, a failure dropped) and free it. */
static void w_stop(vouch_db_t *d) {
  rec_writer *w = w_of(d);
  w_batch *bt;
  if (w == NULL) return;
  w_idle(d);
  uv_mutex_lock(&w->mu);
  w->stop = 1;
  uv_cond_signal(&w->go);
  uv_mutex_unlock(&w->mu);
  uv_thread_join(&w->thread);
  if (w->cur != NULL) {
    w->cur->next = w->spare;
    w->spare = w->cur;
  }
  while ((bt = w->spare) != NULL) {
    w->spare = bt->next;
    free(bt->b.p);
    vouch_mem_release(d->h, bt->b.cap);
    free(bt);
  }
  uv_cond_destroy(&w->go);
  uv_cond_destroy(&w->idle);
  uv_mutex_destroy(&w->mu);
  free(w->msg);
  free(w);
  d->w = NULL;
}


/* The batch to fill with one more row (the writer started if need be); its
** b.n is where the row begins. */
static w_batch *w_batch_for(lua_State *L, vouch_db_t *d) {
  rec_writer *w = w_of(d);
  if (w == NULL) {
    int made = 0;  /* mutex, conditions, thread */
    if ((w = calloc(1, sizeof *w)) == NULL) luaL_error(L, "not enough memory");
    w_hook_forks();
    w->forks = w_forks;
    d->w = w;
    if (uv_mutex_init(&w->mu) == 0 && ++made && uv_cond_init(&w->go) == 0 && ++made &&
        uv_cond_init(&w->idle) == 0 && ++made && uv_thread_create(&w->thread, w_main, d) == 0)
      made++;
    if (made < 4) {
      if (made > 2) uv_cond_destroy(&w->idle);
      if (made > 1) uv_cond_destroy(&w->go);
      if (made > 0) uv_mutex_destroy(&w->mu);
      free(w);
      d->w = NULL;
      luaL_error(L, "cannot start the database's writer");
    }
  }
  if (w->cur == NULL && (w->cur = calloc(1, sizeof *w->cur)) == NULL)
    luaL_error(L, "not enough memory");
  w->cur->b.n = w->cur->done;
  return w->cur;
}


/* The row just made in `bt` is whole: keep it, and hand the batch over
** when it is full. Its header was reserved at `at`. */
static void w_row_done(lua_State *L, vouch_db_t *d, w_batch *bt, size_t at, const w_row *h) {
  memcpy(bt->b.p + at, h, sizeof *h);
  bt->done = bt->b.n;
  if (bt->done >= W_BATCH && w_hand(d->w)) w_sync(L, d);
}

/* }====================================================== */


/*
** {======================================================
** The checkpoint, beside the caller: SQLite copies a database's log (WAL)
** back into its file once the log passes 1,000 pages, in the call that
** commits. After a large transaction (a run of a million partners) that
** copy is most of the commit's time, so it is made instead by a thread
** of its own, on a connection of its own (a passive checkpoint, which
** readers and writers of the database go on beside), while the caller
** goes on reading what it committed. Closing the database waits for it.
** =======================================================
*/

#define CK_PAGES 1000         /* SQLite's own threshold */

struct ck_thread {
  uv_thread_t thread;
  char *path;               /* the database file; owned */
  int done;                 /* set under mu by the thread as it ends */
  uv_mutex_t mu;
  unsigned forks;
};


static void ck_main(void *arg) {
  ck_thread *c = arg;
  sqlite3 *db = NULL;
  /* A connection finds the log when it first reads the file. */
  if (sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
      sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL) == SQLITE_OK)
    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  sqlite3_close(db);  /* not the last connection: the log stays for the caller's */
  uv_mutex_lock(&c->mu);
  c->done = 1;
  uv_mutex_unlock(&c->mu);
}


/* Wait for the checkpoint under way, if any. */
static void ck_join(vouch_db_t *d) {
  ck_thread *c = d->ck;
  if (c == NULL) return;
  d->ck = NULL;
  if (c->forks != w_forks) return;  /* its thread is the parent's */
  uv_thread_join(&c->thread);
  uv_mutex_destroy(&c->mu);
  free(c->path);
  free(c);
}


static int ck_running(ck_thread *c) {
  int done;
  uv_mutex_lock(&c->mu);
  done = c->done;
  uv_mutex_unlock(&c->mu);
  return !done;
}


/* SQLite's hook after each commit to the log: start the checkpoint when
** the log is long, unless one is still under way (the next commit will
** ask again). Without a thread it is made here, as SQLite would. */
static int ck_hook(void *ud, sqlite3 *db, const char *schema, int pages) {
  vouch_db_t *d = ud;
  const char *file;
  ck_thread *c;
  if (pages < CK_PAGES || strcmp(schema, "main") != 0) return SQLITE_OK;
  if (d->ck != NULL) {
    if (d->ck->forks == w_forks && ck_running(d->ck)) return SQLITE_OK;
    ck_join(d);
  }
  file = sqlite3_db_filename(db, "main");
  if (file == NULL || *file == '\0' || (c = calloc(1, sizeof *c)) == NULL) goto here;
  if ((c->path = strdup(file)) == NULL || uv_mutex_init(&c->mu) != 0) {
    free(c->path);
    free(c);
    goto here;
  }
  w_hook_forks();
  c->forks = w_forks;
  if (uv_thread_create(&c->thread, ck_main, c) != 0) {
    uv_mutex_destroy(&c->mu);
    free(c->path);
    free(c);
    goto here;
  }
  d->ck = c;
  return SQLITE_OK;
here:
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
  return SQLITE_OK;
}

/* }====================================================== */


/*
** {======================================================
** Transactions: the outermost level is BEGIN IMMEDIATE ... COMMIT (so a
** writer waits for the lock up front instead of failing half-way), inner
** levels are savepoints.
** =======================================================
*/

/* Run the host's own statement; the authorizer lets it through. */
static int internal_exec(vouch_db_t *d, const char *sql) {
  int rc;
  d->auth.internal++;
  rc = sqlite3_exec(d->db, sql, NULL, NULL, NULL);
  d->auth.internal--;
  return rc;
}


/* Begin a level; returns its savepoint number (0 for the outermost) or -1. */
static int tx_begin(vouch_db_t *d) {
  char sql[48];
  if (sqlite3_get_autocommit(d->db))
    return internal_exec(d, d->readonly ? "BEGIN" : "BEGIN IMMEDIATE") == SQLITE_OK ? 0 : -1;
  snprintf(sql, sizeof sql, "SAVEPOINT vouch_sp%d", ++d->sp_seq);
  return internal_exec(d, sql) == SQLITE_OK ? d->sp_seq : -1;
}


static int tx_commit(vouch_db_t *d, int sp) {
  char sql[48];
  w_idle(d);
  if (sp == 0) return internal_exec(d, "COMMIT");
  snprintf(sql, sizeof sql, "RELEASE vouch_sp%d", sp);
  return internal_exec(d, sql);
}


/*
** Undo a level. Errors are ignored: SQLite may already have rolled the
** transaction back (an interrupt, a full disk), and there is nothing left
** to undo then. The progress handler is off so a time limit cannot stop
** the rollback itself.
*/
static void tx_rollback(vouch_db_t *d, int sp) {
  char sql[80];
  if (d->db == NULL) return;
  w_idle(d);
  vouch__store_progress(d->db, d->h, 0);
  if (sp == 0) {
    if (!sqlite3_get_autocommit(d->db)) internal_exec(d, "ROLLBACK");
    if (d->w) w_forget(d->w);  /* the rows around a failed one are gone too */
  } else {
    snprintf(sql, sizeof sql, "ROLLBACK TO vouch_sp%d; RELEASE vouch_sp%d", sp, sp);
    internal_exec(d, sql);
  }
  vouch__store_progress(d->db, d->h, 1);
}

/* }====================================================== */


/*
** {======================================================
** Opening and closing
** =======================================================
*/

vouch_db_t *vouch_db_check(lua_State *L, int idx) {
  return (vouch_db_t *)luaL_checkudata(L, idx, VOUCH_DB_MT);
}


/* The database at `idx`, open, for a call that writes a run's rows. */
static vouch_db_t *check_open_run(lua_State *L, int idx) {
  vouch_db_t *d = vouch_db_check(L, idx);
  if (d->db == NULL) luaL_error(L, "attempt to use a closed database");
  return d;
}


/* The database at `idx`, open, its connection the caller's. */
static vouch_db_t *check_open(lua_State *L, int idx) {
  vouch_db_t *d = check_open_run(L, idx);
  w_sync(L, d);
  return d;
}


static void cursor_release(rows_cursor *c);
static void ins_free_all(vouch_db_t *d);


static void cache_free_entry(stmt_entry *e) {
  sqlite3_finalize(e->st);
  free(e->sql);
  free(e);
}


static void bulk_wake(vouch_db_t *d);
static int bulk_of_another(vouch_db_t *d, const void *task);


/*
** The runs begun here on a server are held under a lease (other than a
** shard's, which the scoring renews: db:run_renew): a timer renews it
** every third of it while any is open, from the loop, so that a script
** waiting on a slow source keeps it as well as one that scores. A run
** whose process died is marked aborted by the next reader once its lease
** runs out.
*/
typedef struct lease_timer {
  uv_timer_t timer;
  vouch_db_t *d;            /* NULL once the database closed */
  uint64_t renewed;         /* uv_hrtime() of the last renewal */
} lease_timer;

static void lease_closed(uv_handle_t *handle) {
  free(handle->data);
}

static void lease_fired(uv_timer_t *timer) {
  lease_timer *t = timer->data;
  vouch_db_t *d = t->d;
  int k;
  if (d == NULL || d->pg == NULL) return;
  t->renewed = uv_hrtime();
  /* A renewal that fails is tried at the next tick; one the server refuses
     (the run marked aborted) is said again when the run ends. */
  for (k = 0; k < d->nruns; k++)
    if (d->runs[k].id != d->shard.run) vouch_pgrec_run_renew(d->pg, d->runs[k].id, d->lease_ms);
}

static void lease_start(vouch_db_t *d) {
  uint64_t every = (uint64_t)d->lease_ms / 3;
  if (d->lease == NULL) {
    lease_timer *t = malloc(sizeof *t);
    if (t == NULL || uv_timer_init(&d->h->loop, &t->timer) != 0) {
      free(t);
      return;  /* not renewed: the run still ends well within its lease */
    }
    t->d = d;
    t->renewed = uv_hrtime();
    t->timer.data = t;
    uv_unref((uv_handle_t *)&t->timer);  /* it does not keep the loop running */
    d->lease = t;
  }
  d->lease->renewed = uv_hrtime();
  uv_timer_start(&d->lease->timer, lease_fired, every, every);
}

static void lease_stop(vouch_db_t *d) {
  if (d->lease == NULL) return;
  d->lease->d = NULL;
  uv_close((uv_handle_t *)&d->lease->timer, lease_closed);
  d->lease = NULL;
}


/* Finalize everything the database lent or kept, then close it. */
static void db_close_all(lua_State *L, vouch_db_t *d) {
  stmt_entry *e, *next;
  vouch_bulk_t *b;
  if (d->db == NULL) return;
  w_stop(d);
  lease_stop(d);
  while (d->cursors) cursor_release(d->cursors);
  for (b = d->bulks; b; b = b->next) {
    sqlite3_finalize(b->ins);
    b->ins = NULL;
  }
  for (e = d->cache; e; e = next) {
    next = e->next;
    cache_free_entry(e);
  }
  d->cache = NULL;
  d->ncache = 0;
  ins_free_all(d);
  sqlite3_finalize(d->rec_score);
  sqlite3_finalize(d->rec_input);
  d->rec_score = d->rec_input = NULL;
  ck_join(d);  /* then the close copies what is left of the log, and removes it */
  /* An open transaction is rolled back by the close: it never committed. */
  sqlite3_close_v2(d->db);
  d->db = NULL;
  d->tx_depth = 0;
  vouch_pgrec_close(d->pg);
  d->pg = NULL;
  while (d->waiters) bulk_wake(d);  /* each then finds the database closed */
  if (d->is_default && L != NULL) {
    /* The next vouch.db.open() opens the host's database again. */
    lua_getfield(L, LUA_REGISTRYINDEX, DEFAULT_KEY);
    if (lua_touserdata(L, -1) == d) {
      lua_pushnil(L);
      lua_setfield(L, LUA_REGISTRYINDEX, DEFAULT_KEY);
    }
    lua_pop(L, 1);
  }
}


/*
** Close the host's database, if open: called at exit before the finalizers
** run under their budget, so that writing a large run's pages back into
** the file (the host's work, at close) is not counted as theirs. A
** finalizer that still wants it opens it again.
*/
void vouch_db_close_default(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, DEFAULT_KEY) == LUA_TUSERDATA) {
    vouch_db_t *d = lua_touserdata(L, -1);
    if (d != NULL && d->db != NULL) db_close_all(L, d);
  }
  lua_pop(L, 1);
}


/*
** Push a new database userdata for `path` opened with `flags`. Returns 1,
** or pushes nil, message, code and returns 3 (nothing is left open).
*/
static int push_server(lua_State *L, const char *uri, int flags);

static int push_db(lua_State *L, const char *path, const char *display, int flags) {
  vouch_host_t *h = vouch_host(L);
  vouch_db_t *d;
  char *err = NULL;
  sqlite3 *conn;
  int rc;
  if (!h->trusted) flags |= VOUCH_STORE_SANDBOX;
  if (vouch_pgrec_is_uri(path)) {
    char shown[600];
    if (flags & VOUCH_STORE_HOST) return push_server(L, path, flags);
    vouch_pgrec_shown(path, shown, sizeof shown);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: vouch.db.open(path) opens SQLite files; the host's record is "
                    "vouch.db.open()", shown);
    lua_pushstring(L, "CANTOPEN");
    return 3;
  }
  d = (vouch_db_t *)lua_newuserdatauv(L, sizeof *d, 3);
  memset(d, 0, sizeof *d);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_CACHE);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_ANCHOR);
  lua_newtable(L);
  lua_setiuservalue(L, -2, UV_COLUMNS);
  d->path = strdup(path);
  d->h = h;
  luaL_setmetatable(L, VOUCH_DB_MT);  /* from here on __gc frees what is set */
  rc = vouch__store_open(path, flags, h, &d->auth, &conn, &err);
  if (rc != SQLITE_OK) {
    lua_pop(L, 1);
    luaL_pushfail(L);
    if (err && strncmp(err, path, strlen(path)) == 0)
      lua_pushfstring(L, "%s%s", display, err + strlen(path));
    else
      lua_pushstring(L, err ? err : "cannot open the database");
    lua_pushstring(L, vouch__store_code_name(rc));
    free(err);
    return 3;
  }
  d->db = conn;
  if (!(flags & VOUCH_STORE_READONLY)) sqlite3_wal_hook(conn, ck_hook, d);
  d->sandboxed = (flags & VOUCH_STORE_SANDBOX) != 0;
  d->readonly = (flags & VOUCH_STORE_READONLY) != 0;
  return 1;
}


/*
** Where the user's copy of the runs of a record on a server is kept: a
** file named by the server (its URI without a password) under
** $XDG_CACHE_HOME/vouch or ~/.cache/vouch, made private to the user.
** Returns -1 when there is no such folder.
*/
static int copy_path(const char *uri, char *out, size_t n) {
  const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char shown[600], dir[4096], hex[VOUCH_HASH_HEX];
  if (base != NULL && *base == '/') snprintf(dir, sizeof dir, "%s", base);
  else if (home != NULL && *home == '/') snprintf(dir, sizeof dir, "%s/.cache", home);
  else return -1;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  if (strlen(dir) + 7 >= sizeof dir) return -1;
  strcat(dir, "/vouch");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) return -1;
  vouch_pgrec_shown(uri, shown, sizeof shown);
  vouch_hash_hex(shown, strlen(shown), hex);
  return snprintf(out, n, "%s/record-%s.db", dir, hex) < (int)n ? 0 : -1;
}


/*
** The host's record on a server. Runs are scored into a SQLite file and
** sent to the server as each ends (vouch_pgrec_push): a command that
** scores (vet) stages them in a private file of its own, so that several
** of them on one machine never wait on each other; any other reads the
** user's copy of the server's runs, brought up to date here.
*/
static int push_server(lua_State *L, const char *uri, int flags) {
  vouch_host_t *h = vouch_host(L);
  char *err = NULL, local[4096], shown[600];
  vouch_pgrec_t *pg = vouch_pgrec_open(uri, &err);
  vouch_db_t *d;
  int staged;
  if (pg == NULL) {
    luaL_pushfail(L);
    lua_pushstring(L, err ? err : "cannot open the record");
    lua_pushstring(L, "CANTOPEN");
    free(err);
    return 3;
  }
  staged = h->record_stage || copy_path(uri, local, sizeof local) != 0;
  if (push_db(L, staged ? "" : local, staged ? "" : local, flags) != 1) {
    vouch_pgrec_close(pg);
    return 3;
  }
  d = (vouch_db_t *)lua_touserdata(L, -1);
  d->pg = pg;
  d->staged = staged;
  if (!h->record_stage) {
    int rc;
    d->auth.internal++;
    rc = vouch_pgrec_copy_runs(pg, d->db, 1);
    d->auth.internal--;
    if (rc != VOUCH_RECORD_OK) {
      vouch_pgrec_shown(uri, shown, sizeof shown);
      lua_pushfstring(L, "cannot copy the runs of %s: %s", shown, vouch_pgrec_error(pg));
      db_close_all(NULL, d);
      lua_remove(L, -2);
      luaL_pushfail(L);
      lua_insert(L, -2);
      lua_pushstring(L, "CANTOPEN");
      return 3;
    }
  }
  return 1;
}


/* Push the host's database, opening and migrating it on first use. */
static void push_default(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, DEFAULT_KEY) == LUA_TUSERDATA) {
    vouch_db_t *d = (vouch_db_t *)lua_touserdata(L, -1);
    if (d->db != NULL) return;
  }
  lua_pop(L, 1);
  if (push_db(L, h->db_path, h->db_path, VOUCH_STORE_HOST) != 1) {
    /* The CLI reports this with its own exit code, unless the script chose one. */
    if (h->exit_code < 0) h->exit_code = VOUCH_EXIT_DB;
    lua_pop(L, 1);                   /* the code */
    lua_remove(L, -2);               /* the nil */
    lua_error(L);
  }
  ((vouch_db_t *)lua_touserdata(L, -1))->is_default = 1;
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, DEFAULT_KEY);
}


vouch_db_t *vouch_db_default(lua_State *L) {
  vouch_db_t *d;
  push_default(L);
  d = (vouch_db_t *)lua_touserdata(L, -1);
  lua_pop(L, 1);  /* anchored in the registry */
  return d;
}


/* Whether two paths name the same file once resolved. */
static int same_file(const char *a, const char *b) {
  char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
  int same = ra && rb && strcmp(ra, rb) == 0;
  free(ra);
  free(rb);
  return same;
}


/*
** vouch.db.open([path [, mode]]): no path is the host's database (always
** allowed). A path is opened read-write ("w", created when missing) where
** --allow-write covers it, read-only ("r") where only --allow-read does;
** `mode` asks for one of them. ":memory:" is a private in-memory database,
** "" a private temporary one on disk (SQLite's), deleted when closed: room
** to stage or sort more than memory holds, and no path a script can name.
** The host's own files (its -wal, say) are refused.
**
** SQLite opens by name, so the file is first opened (or created) beneath
** its grant, which proves that it is there and that no symlink leads out,
** and SQLite is then given the resolved path with SQLITE_OPEN_NOFOLLOW. A
** window remains: a directory on the resolved path swapped for a symlink
** between the two opens would be followed by SQLite (the file itself,
** being a symlink, would not). Nothing the sandbox grants can do that to
** a directory above the grant, only to one below it that the script
** itself could already write.
*/
static int db_open(lua_State *L) {
  static const char *const sidecar[] = { "-wal", "-shm", "-journal" };
  vouch_host_t *h = vouch_host(L);
  const char *path = luaL_optstring(L, 1, NULL);
  const char *mode = luaL_optstring(L, 2, NULL);
  const char *why, *why_write;
  vouch_path_t *p;
  int want, fd, i;
  struct stat st;
  if (mode && strcmp(mode, "r") != 0 && strcmp(mode, "w") != 0)
    return luaL_argerror(L, 2, "mode must be \"r\" or \"w\"");
  if (path == NULL || (strcmp(h->db_path, ":memory:") != 0 && same_file(path, h->db_path))) {
    push_default(L);
    return 1;
  }
  if (strcmp(path, ":memory:") == 0 || *path == '\0')  /* "": private, on disk, gone at close */
    return push_db(L, path, path, mode && *mode == 'r' ? VOUCH_STORE_READONLY : 0);
  want = mode && *mode == 'r' ? VOUCH_READ : VOUCH_WRITE;
  p = vouch_path_check(h, path, want, &why);
  if (p == NULL && mode == NULL && why != NULL) {
    why_write = why;
    want = VOUCH_READ;
    p = vouch_path_check(h, path, want, &why);
    if (p == NULL && why != NULL) why = why_write;  /* name --allow-write */
  }
  if (p == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (p == NULL) return luaL_error(L, "%s: %s", path, why);
  fd = vouch_path_open(p, want == VOUCH_WRITE ? O_RDONLY | O_CREAT : O_RDONLY, 0666, &why);
  if (fd < 0 && why == NULL && errno == ENOENT && want == VOUCH_READ) {
    /* SQLite says so in its own words: it never creates a read-only file. */
  } else if (fd < 0) {
    int err = errno;
    vouch_path_free(p);
    if (why != NULL) return luaL_error(L, "%s: %s", path, why);
    return vouch_fail_errno(L, path, err);
  }
  if (fd >= 0) close(fd);
  /* SQLite creates these beside the file, following a symlink planted there. */
  lua_pushstring(L, vouch_path_resolved(p));
  vouch_path_free(p);
  for (i = 0; i < 3; i++) {
    const char *side = lua_pushfstring(L, "%s%s", lua_tostring(L, -1), sidecar[i]);
    if (lstat(side, &st) == 0 && S_ISLNK(st.st_mode))
      return luaL_error(L, "%s: access denied (%s is a symlink)", path, side);
    lua_pop(L, 1);
  }
  /* The resolved path is absolute: SQLite never reads it as a URI. */
  return push_db(L, lua_tostring(L, -1), path,
                 (want == VOUCH_READ ? VOUCH_STORE_READONLY : 0) | VOUCH_STORE_NOFOLLOW);
}


static int db_close(lua_State *L) {
  vouch_db_t *d = vouch_db_check(L, 1);
  db_close_all(L, d);
  return 0;
}


static int db_gc(lua_State *L) {
  vouch_db_t *d = vouch_db_check(L, 1);
  db_close_all(NULL, d);
  free(d->path);
  d->path = NULL;
  free(d->runs);
  d->runs = NULL;
  d->nruns = 0;
  free(d->loads);
  d->nloads = 0;
  d->loads = NULL;
  return 0;
}


static int db_tostring(lua_State *L) {
  vouch_db_t *d = vouch_db_check(L, 1);
  lua_pushfstring(L, "vouch.db (%s%s)", d->path ? d->path : "?",
                  d->db ? "" : ", closed");
  return 1;
}


static int db_changes(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  lua_pushinteger(L, sqlite3_changes64(d->db));
  return 1;
}


static int db_last_id(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  lua_pushinteger(L, sqlite3_last_insert_rowid(d->db));
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** Values: binding Lua values, pushing columns
** =======================================================
*/

/* vouch.db.blob(s): mark a string to be stored as a BLOB. */
static int db_blob(lua_State *L) {
  luaL_checkstring(L, 1);
  lua_newuserdatauv(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, BLOB_MT);
  return 1;
}


static int blob_tostring(lua_State *L) {
  luaL_checkudata(L, 1, BLOB_MT);
  lua_getiuservalue(L, 1, 1);
  return 1;
}


static int blob_len(lua_State *L) {
  luaL_checkudata(L, 1, BLOB_MT);
  lua_getiuservalue(L, 1, 1);
  lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
  return 1;
}


/*
** Bind the Lua value at `idx` to parameter `i`. Strings are bound STATIC
** when `keep` says the caller keeps them alive until the statement is
** reset, else copied. Returns an SQLite code, or -1 for a value that has
** no SQL form (a table, a function...).
*/
static int bind_value(lua_State *L, sqlite3_stmt *st, int i, int idx, int keep) {
  size_t len;
  const char *s;
  switch (lua_type(L, idx)) {
    case LUA_TNIL: return sqlite3_bind_null(st, i);
    case LUA_TBOOLEAN: return sqlite3_bind_int(st, i, lua_toboolean(L, idx));
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return sqlite3_bind_int64(st, i, lua_tointeger(L, idx));
      return sqlite3_bind_double(st, i, lua_tonumber(L, idx));
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &len);
      return sqlite3_bind_text64(st, i, s, len, keep ? SQLITE_STATIC : SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    case LUA_TUSERDATA:
      if (luaL_testudata(L, idx, BLOB_MT)) {
        int rc;
        lua_getiuservalue(L, idx, 1);
        s = lua_tolstring(L, -1, &len);
        /* the blob userdata holds the string: alive as long as the caller's value */
        rc = sqlite3_bind_blob64(st, i, s, len, keep ? SQLITE_STATIC : SQLITE_TRANSIENT);
        lua_pop(L, 1);
        return rc;
      }
      return -1;
    default:
      return -1;
  }
}


static void push_column(lua_State *L, sqlite3_stmt *st, int i) {
  switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: lua_pushinteger(L, sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: lua_pushnumber(L, sqlite3_column_double(st, i)); break;
    case SQLITE_TEXT: {
      const char *s = (const char *)sqlite3_column_text(st, i);
      lua_pushlstring(L, s ? s : "", (size_t)sqlite3_column_bytes(st, i));
      break;
    }
    case SQLITE_BLOB: {
      const void *p = sqlite3_column_blob(st, i);
      lua_pushlstring(L, p ? (const char *)p : "", (size_t)sqlite3_column_bytes(st, i));
      break;
    }
    default: lua_pushnil(L); break;
  }
}


/*
** Push the current row as a table keyed by column name (NULLs absent).
** `names`, when not 0, is the index of an array of the column names as
** Lua strings, which saves interning them again for every row.
*/
static void push_row(lua_State *L, sqlite3_stmt *st, int ncols, int names) {
  int i;
  lua_createtable(L, 0, ncols);
  for (i = 0; i < ncols; i++) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL) continue;
    if (names) lua_rawgeti(L, names, i + 1);
    else lua_pushstring(L, sqlite3_column_name(st, i));
    push_column(L, st, i);
    lua_rawset(L, -3);
  }
}


/*
** Bind the arguments from `first` to the top: positional, one per
** parameter, or named when the one argument is a table (`:name`, `@name`
** and `$name` take t.name, `?` takes the table's next array item, `?NNN`
** takes t[NNN]). `keep`: the values outlive the statement's use (see
** bind_value). Returns 0, or 1 with a message pushed; the caller gives
** the statement back and raises.
*/
static int bind_args(lua_State *L, sqlite3_stmt *st, int first, const char *fname, int keep) {
  int top = lua_gettop(L), nargs = top - first + 1;
  int np = sqlite3_bind_parameter_count(st), i, rc;
  if (nargs == 1 && lua_type(L, first) == LUA_TTABLE) {
    lua_Integer pos = 1;
    for (i = 1; i <= np; i++) {
      const char *name = sqlite3_bind_parameter_name(st, i);
      if (name == NULL) lua_rawgeti(L, first, pos++);
      else if (name[0] == '?') lua_rawgeti(L, first, (lua_Integer)strtoll(name + 1, NULL, 10));
      else {
        lua_pushstring(L, name + 1);
        lua_rawget(L, first);
      }
      rc = bind_value(L, st, i, -1, keep);
      if (rc != SQLITE_OK) {
        if (rc < 0)
          lua_pushfstring(L, "bad parameter '%s' to '%s' (%s has no SQL value)",
                          name ? name : "?", fname, luaL_typename(L, -1));
        else
          lua_pushfstring(L, "cannot bind parameter '%s' to '%s': %s", name ? name : "?",
                          fname, sqlite3_errstr(rc));
        return 1;
      }
      lua_pop(L, 1);
    }
    return 0;
  }
  if (nargs != np) {
    lua_pushfstring(L, "'%s' got %d parameter value%s for SQL with %d parameter%s", fname,
                    nargs, nargs == 1 ? "" : "s", np, np == 1 ? "" : "s");
    return 1;
  }
  for (i = 1; i <= np; i++) {
    rc = bind_value(L, st, i, first + i - 1, keep);
    if (rc < 0) {
      lua_pushfstring(L, "bad parameter #%d to '%s' (%s has no SQL value; use a string, "
                         "number, boolean, nil or vouch.db.blob)", i, fname,
                      luaL_typename(L, first + i - 1));
      return 1;
    }
    if (rc != SQLITE_OK) {
      lua_pushfstring(L, "cannot bind parameter #%d to '%s': %s", i, fname, sqlite3_errstr(rc));
      return 1;
    }
  }
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** The statement cache
** =======================================================
*/

/* Whether SQL text from `s` holds anything but spaces and comments. */
static int has_more_sql(const char *s) {
  while (*s) {
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == ';') s++;
    else if (s[0] == '-' && s[1] == '-') { while (*s && *s != '\n') s++; }
    else if (s[0] == '/' && s[1] == '*') {
      const char *e = strstr(s + 2, "*/");
      if (e == NULL) return 0;
      s = e + 2;
    } else return 1;
  }
  return 0;
}


static void cache_unlink(vouch_db_t *d, stmt_entry *e) {
  if (e->prev) e->prev->next = e->next;
  else d->cache = e->next;
  if (e->next) e->next->prev = e->prev;
  e->prev = e->next = NULL;
}


static void cache_push_front(vouch_db_t *d, stmt_entry *e) {
  e->prev = NULL;
  e->next = d->cache;
  if (d->cache) d->cache->prev = e;
  d->cache = e;
}


/* Drop least recently used entries that are not lent out, down to the bound. */
static void cache_trim(lua_State *L, vouch_db_t *d, int udidx) {
  stmt_entry *e = d->cache;
  if (d->ncache <= CACHE_MAX) return;
  while (e && e->next) e = e->next;
  lua_getiuservalue(L, udidx, UV_CACHE);
  while (e && d->ncache > CACHE_MAX) {
    stmt_entry *prev = e->prev;
    if (!e->busy) {
      cache_unlink(d, e);
      lua_pushlstring(L, e->sql, e->len);
      lua_pushnil(L);
      lua_rawset(L, -3);
      cache_free_entry(e);
      d->ncache--;
    }
    e = prev;
  }
  lua_pop(L, 1);
}


/*
** Find or prepare the statement for the SQL string at `sqlidx`. Sets
** *entry to the cache entry (NULL when the statement is the caller's to
** finalize: more SQL follows it, or its entry is lent to a cursor) and
** *tail to what follows the first statement. Returns NULL for SQL that
** holds no statement; raises on a syntax error.
*/
static sqlite3_stmt *prepare(lua_State *L, vouch_db_t *d, int udidx, int sqlidx,
                             stmt_entry **entry, const char **tail) {
  size_t len;
  const char *sql = lua_tolstring(L, sqlidx, &len);
  sqlite3_stmt *st = NULL;
  stmt_entry *e;
  int rc;
  *entry = NULL;
  *tail = "";
  lua_getiuservalue(L, udidx, UV_CACHE);
  lua_pushvalue(L, sqlidx);
  if (lua_rawget(L, -2) == LUA_TLIGHTUSERDATA) {
    e = (stmt_entry *)lua_touserdata(L, -1);
    lua_pop(L, 2);
    if (!e->busy) {
      cache_unlink(d, e);
      cache_push_front(d, e);
      sqlite3_reset(e->st);
      *entry = e;
      return e->st;
    }
    /* lent to an open cursor: prepare a private copy */
    rc = sqlite3_prepare_v3(d->db, sql, (int)len, 0, &st, tail);
    if (rc != SQLITE_OK) raise_sqlerror(L, d, rc, sql, sqlite3_error_offset(d->db));
    return st;
  }
  lua_pop(L, 1);
  rc = sqlite3_prepare_v3(d->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &st, tail);
  if (rc != SQLITE_OK) {
    lua_pop(L, 1);
    raise_sqlerror(L, d, rc, sql, sqlite3_error_offset(d->db));
    return NULL;
  }
  if (st == NULL || has_more_sql(*tail)) {
    lua_pop(L, 1);
    return st;  /* several statements, or none: not cached */
  }
  e = calloc(1, sizeof *e);
  if (e == NULL || (e->sql = malloc(len + 1)) == NULL) {
    free(e);
    lua_pop(L, 1);
    return st;  /* uncached then */
  }
  memcpy(e->sql, sql, len + 1);
  e->len = len;
  e->st = st;
  lua_pushvalue(L, sqlidx);
  lua_pushlightuserdata(L, e);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  cache_push_front(d, e);
  d->ncache++;
  cache_trim(L, d, udidx);
  *entry = e;
  return st;
}


/* Give a statement back: reset it when cached, finalize it when not. */
static void unprepare(sqlite3_stmt *st, stmt_entry *e) {
  if (e) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  } else {
    sqlite3_finalize(st);
  }
}

/* }====================================================== */


/*
** {======================================================
** exec, one, rows
** =======================================================
*/

/* Step a statement to its end; returns the final code (SQLITE_DONE on success). */
static int step_all(sqlite3_stmt *st) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {}
  return rc;
}


/*
** db:exec(sql, ...): run SQL that returns no rows worth keeping; returns
** the number of rows changed. Without parameters the SQL may hold several
** statements (a schema, say); with parameters it must hold one.
*/
static int partners_send(lua_State *L, vouch_db_t *d);

/* exec's result, the rows changed; a COMMIT it ran sends the partners put
   in that transaction. */
static int exec_done(lua_State *L, vouch_db_t *d) {
  lua_Integer n = (lua_Integer)sqlite3_changes64(d->db);
  partners_send(L, d);
  lua_pushinteger(L, n);
  return 1;
}


static int db_exec(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *tail;
  stmt_entry *e;
  sqlite3_stmt *st;
  int rc;
  luaL_checkstring(L, 2);
  st = prepare(L, d, 1, 2, &e, &tail);
  if (st == NULL) {
    if (has_more_sql(tail)) goto more;
    lua_pushinteger(L, 0);
    return 1;
  }
  if (e == NULL && has_more_sql(tail) && lua_gettop(L) > 2) {
    sqlite3_finalize(st);
    return luaL_error(L, "'exec' with parameters takes one SQL statement");
  }
  if (bind_args(L, st, 3, "exec", 1)) {
    unprepare(st, e);
    return raise_top(L);
  }
  rc = step_all(st);
  if (rc != SQLITE_DONE) {
    push_sqlerror(L, d, rc, sqlite3_sql(st), -1);
    unprepare(st, e);
    return raise_top(L);
  }
  unprepare(st, e);
  if (e == NULL && has_more_sql(tail)) goto more;
  return exec_done(L, d);
more:
  /* The rest of a script of statements, each prepared once. */
  while (has_more_sql(tail)) {
    const char *next = tail;
    rc = sqlite3_prepare_v2(d->db, next, -1, &st, &tail);
    if (rc != SQLITE_OK) return raise_sqlerror(L, d, rc, next, sqlite3_error_offset(d->db));
    if (st == NULL) continue;
    rc = step_all(st);
    if (rc != SQLITE_DONE) {
      push_sqlerror(L, d, rc, sqlite3_sql(st), -1);
      sqlite3_finalize(st);
      return raise_top(L);
    }
    sqlite3_finalize(st);
  }
  return exec_done(L, d);
}


/*
** db:queue(sql, ...): run one statement, with its parameters, on the
** database's own thread, after the statements queued before it, while the
** script goes on; returns nothing. Every other call on the database waits
** for the queue first, so statements keep the order they were called in,
** and a statement that fails is raised by the next call on the database.
** For many small writes whose results are not needed at once.
*/
static int db_queue(lua_State *L) {
  vouch_db_t *d = check_open_run(L, 1);
  int nargs = lua_gettop(L) - 2, i, np;
  const char *tail;
  stmt_entry *e = NULL;
  sqlite3_stmt *st;
  w_batch *bt;
  w_row h;
  size_t at;
  luaL_checkstring(L, 2);
  lua_getiuservalue(L, 1, UV_CACHE);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) == LUA_TLIGHTUSERDATA) e = (stmt_entry *)lua_touserdata(L, -1);
  lua_pop(L, 2);
  if (e == NULL || e->busy) {
    /* Prepared with the connection the caller's, and kept in the cache: a
       statement is evicted only by a call that waited for the queue. */
    w_sync(L, d);
    st = prepare(L, d, 1, 2, &e, &tail);
    if (st == NULL || e == NULL || e->busy) {
      if (st) unprepare(st, e);
      return luaL_error(L, "'queue' takes one SQL statement");
    }
  }
  st = e->st;
  np = sqlite3_bind_parameter_count(st);
  if (nargs != np)
    return luaL_error(L, "'queue' got %d parameter value%s for SQL with %d parameter%s", nargs,
                      nargs == 1 ? "" : "s", np, np == 1 ? "" : "s");
  memset(&h, 0, sizeof h);
  h.kind = W_STMT;
  h.st = st;
  h.len[0] = (uint32_t)np;
  bt = w_batch_for(L, d);
  at = bt->b.n;
  vouch_json_add(L, &bt->b, (const char *)&h, sizeof h);  /* its place */
  for (i = 3; i < 3 + np; i++) {
    w_param a;
    const char *v = NULL;
    size_t n = 0;
    memset(&a, 0, sizeof a);
    switch (lua_type(L, i)) {
      case LUA_TNIL: a.type = SQLITE_NULL; break;
      case LUA_TBOOLEAN: a.type = SQLITE_INTEGER; a.i = lua_toboolean(L, i); break;
      case LUA_TNUMBER:
        if (lua_isinteger(L, i)) a.type = SQLITE_INTEGER, a.i = (int64_t)lua_tointeger(L, i);
        else a.type = SQLITE_FLOAT, a.f = lua_tonumber(L, i);
        break;
      case LUA_TSTRING:
        a.type = SQLITE_TEXT;
        v = lua_tolstring(L, i, &n);
        break;
      default:
        if (luaL_testudata(L, i, BLOB_MT)) {
          a.type = SQLITE_BLOB;
          lua_getiuservalue(L, i, 1);
          v = lua_tolstring(L, -1, &n);
          lua_pop(L, 1);  /* the blob holds the string */
          break;
        }
        return luaL_error(L, "bad parameter %d to 'queue' (%s has no SQL value)", i - 2,
                          luaL_typename(L, i));
    }
    if (n > (size_t)INT32_MAX) return luaL_error(L, "bad parameter %d to 'queue' (too long)", i - 2);
    a.len = (uint32_t)n;
    vouch_json_add(L, &bt->b, (const char *)&a, sizeof a);
    if (n) vouch_json_add(L, &bt->b, v, n);
  }
  w_row_done(L, d, bt, at, &h);
  return 0;
}


/* db:one(sql, ...): the first row as a table keyed by column name, or nil. */
static int db_one(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *tail;
  stmt_entry *e;
  sqlite3_stmt *st;
  int rc;
  luaL_checkstring(L, 2);
  st = prepare(L, d, 1, 2, &e, &tail);
  if (st == NULL) { lua_pushnil(L); return 1; }
  if (e == NULL && has_more_sql(tail)) {
    sqlite3_finalize(st);
    return luaL_error(L, "'one' takes one SQL statement");
  }
  if (bind_args(L, st, 3, "one", 1)) {
    unprepare(st, e);
    return raise_top(L);
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    push_row(L, st, sqlite3_column_count(st), 0);
  } else if (rc == SQLITE_DONE) {
    lua_pushnil(L);
  } else {
    push_sqlerror(L, d, rc, sqlite3_sql(st), -1);
    unprepare(st, e);
    return raise_top(L);
  }
  unprepare(st, e);
  return 1;
}


static void cursor_release(rows_cursor *c) {
  vouch_db_t *d = c->db;
  if (d == NULL) return;
  if (c->st) {
    unprepare(c->st, c->entry);
    if (c->entry) c->entry->busy = 0;
  }
  c->st = NULL;
  c->entry = NULL;
  if (c->prev) c->prev->next = c->next;
  else d->cursors = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  c->db = NULL;
}


/* The iterator of db:rows: the next row, or nil (and the statement given back). */
static int rows_next(lua_State *L) {
  rows_cursor *c = (rows_cursor *)luaL_checkudata(L, 1, ROWS_MT);
  int rc;
  if (c->db == NULL || c->st == NULL) return 0;
  w_sync(L, c->db);
  rc = sqlite3_step(c->st);
  if (rc == SQLITE_ROW) {
    lua_getiuservalue(L, 1, 2);  /* the column names */
    push_row(L, c->st, c->ncols, lua_gettop(L));
    return 1;
  }
  if (rc == SQLITE_DONE) {
    cursor_release(c);
    return 0;
  }
  push_sqlerror(L, c->db, rc, sqlite3_sql(c->st), -1);
  cursor_release(c);
  return raise_top(L);
}


static int rows_close(lua_State *L) {
  rows_cursor *c = (rows_cursor *)luaL_checkudata(L, 1, ROWS_MT);
  if (c->db) w_idle(c->db);
  cursor_release(c);
  return 0;
}


/*
** db:rows(sql, ...): for row in db:rows(sql, ...) do ... end. Returns the
** iterator, the cursor as state and, fourth, the cursor again as the
** loop's to-be-closed value, so leaving the loop by break, return or error
** gives the statement back at once.
*/
static int db_rows(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *tail;
  stmt_entry *e;
  sqlite3_stmt *st;
  rows_cursor *c;
  int i;
  luaL_checkstring(L, 2);
  st = prepare(L, d, 1, 2, &e, &tail);
  if (st != NULL && e == NULL && has_more_sql(tail)) {
    sqlite3_finalize(st);
    return luaL_error(L, "'rows' takes one SQL statement");
  }
  if (st != NULL && bind_args(L, st, 3, "rows", 0)) {
    unprepare(st, e);
    return raise_top(L);
  }
  c = (rows_cursor *)lua_newuserdatauv(L, sizeof *c, 2);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, ROWS_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);  /* keep the database while the cursor lives */
  if (st != NULL) {
    c->ncols = sqlite3_column_count(st);
    lua_createtable(L, c->ncols, 0);
    for (i = 0; i < c->ncols; i++) {
      lua_pushstring(L, sqlite3_column_name(st, i));
      lua_rawseti(L, -2, i + 1);
    }
    lua_setiuservalue(L, -2, 2);
    c->db = d;
    c->st = st;
    c->entry = e;
    if (e) e->busy = 1;
    c->next = d->cursors;
    if (d->cursors) d->cursors->prev = c;
    d->cursors = c;
  }
  lua_pushcfunction(L, rows_next);
  lua_insert(L, -2);
  lua_pushnil(L);
  lua_pushvalue(L, -2);
  return 4;
}


/*
** db:print(sql, opts, ...): run the statement and write, for each row, its
** first column's text and a newline to standard output; returns the number
** of rows. A listing of a million rows costs a step and a copy each, with
** no Lua value made. opts (a table, or nil): `number = W` starts each line
** with its row number, counted from `first` (default 1), right-aligned in W
** columns; `fallback = f` is called with a row (as db:rows gives it) whose
** first column is NULL, and returns the text written in its place (the
** few rows SQL cannot format). `widths = {W1, W2, ...}` (one per column)
** writes every column of a row instead, as a line of the command line's
** tables: each value a cell (control characters escaped, as
** vouch.scorecard.cli's cell does) padded with spaces to its width in
** characters, on the left for the columns in the set `right`, the last one
** not padded; cells two spaces apart (and from the number); spaces at the
** end of a line dropped. The listing of a run lays out its cells here,
** after SQLite has sorted them, rather than in SQL before.
*/
typedef struct print_buf {
  char *b;
  size_t n, cap;
} print_buf;

/* The columns of a table line (`widths`), in a userdata on the stack. */
typedef struct print_col {
  size_t width;             /* characters a cell is padded to */
  int right;                /* padded on the left */
  const char *text;         /* the current row's value (SQLite's, or "") */
  size_t len;               /* its bytes */
} print_col;

static int print_flush(print_buf *p) {
  int ok = p->n == 0 || fwrite(p->b, 1, p->n, stdout) == p->n;
  p->n = 0;
  return ok;
}

static int print_put(print_buf *p, const char *s, size_t len) {
  if (p->n + len > p->cap && !print_flush(p)) return 0;
  if (len > p->cap) return fwrite(s, 1, len, stdout) == len;
  memcpy(p->b + p->n, s, len);
  p->n += len;
  return 1;
}

/* Lay out the row of st as a table line of the ncols columns of c, into p:
** made in place, in room made for the longest it can be. */
static int print_cells(print_buf *p, sqlite3_stmt *st, print_col *c, int ncols, int gap) {
  size_t need = 0, start, pad, w;
  char *o;
  int i, plain;
  for (i = 0; i < ncols; i++) {
    c[i].text = (const char *)sqlite3_column_text(st, i);
    c[i].len = c[i].text ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (c[i].text == NULL) c[i].text = "";
    need += 2 + c[i].width + 4 * c[i].len;  /* gap, padding, escapes */
  }
  if (p->n + need > p->cap) {
    if (!print_flush(p)) return 0;
    if (need > p->cap) {
      char *b = realloc(p->b, need);
      if (b == NULL) return 0;
      p->b = b;
      p->cap = need;
    }
  }
  start = p->n;
  o = p->b + start;
  for (i = 0; i < ncols; i++) {
    w = vouch__cell_width(c[i].text, c[i].len, &plain);
    pad = i < ncols - 1 && c[i].width > w ? c[i].width - w : 0;
    if (i > 0 || gap) { *o++ = ' '; *o++ = ' '; }
    if (c[i].right) { memset(o, ' ', pad); o += pad; }
    if (plain) { memcpy(o, c[i].text, c[i].len); o += c[i].len; }
    else o += vouch__cell_escape(o, c[i].text, c[i].len);
    if (!c[i].right) { memset(o, ' ', pad); o += pad; }
  }
  while (o > p->b + start && o[-1] == ' ') o--;
  p->n = (size_t)(o - p->b);
  return 1;
}

static int db_print(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *tail;
  stmt_entry *e;
  sqlite3_stmt *st;
  print_buf out = { NULL, 0, 1 << 16 };
  print_col *cols = NULL;
  lua_Integer n = 0, first = 1;
  int width = -1, fallback = 0, names = 0, ncols = 0, rc = SQLITE_DONE, ok = 1, i;
  luaL_checkstring(L, 2);
  if (lua_gettop(L) < 3) lua_settop(L, 3);
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_getfield(L, 3, "number") != LUA_TNIL) width = (int)luaL_checkinteger(L, -1);
    if (lua_getfield(L, 3, "first") != LUA_TNIL) first = luaL_checkinteger(L, -1);
    if (lua_getfield(L, 3, "fallback") != LUA_TNIL) {
      luaL_checktype(L, -1, LUA_TFUNCTION);
      fallback = 1;
    }
    lua_pop(L, 3);
    luaL_argcheck(L, width < 64, 3, "'number' is too wide");
    if (lua_getfield(L, 3, "widths") != LUA_TNIL) {
      luaL_argcheck(L, lua_istable(L, -1), 3, "'widths' is not a table");
      ncols = (int)luaL_len(L, -1);
      luaL_argcheck(L, ncols > 0 && ncols <= 32767, 3, "'widths' is empty or too long");
      lua_getfield(L, 3, "right");
      cols = lua_newuserdatauv(L, (size_t)ncols * sizeof *cols, 0);
      for (i = 0; i < ncols; i++) {
        lua_Integer w;
        int isnum;
        lua_rawgeti(L, -3, i + 1);
        w = lua_tointegerx(L, -1, &isnum);
        luaL_argcheck(L, isnum && w >= 0 && w < 1000000, 3, "'widths' holds other than widths");
        cols[i].width = (size_t)w;
        cols[i].right = 0;
        if (lua_istable(L, -3)) {
          lua_rawgeti(L, -3, i + 1);
          cols[i].right = lua_toboolean(L, -1);
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      }
      lua_replace(L, -3);  /* the columns where the widths were */
      lua_pop(L, 1);  /* right */
    } else lua_pop(L, 1);
  }
  if (cols == NULL) lua_newuserdatauv(L, 0, 0);
  lua_insert(L, 3);  /* opts at 4, the parameters from 5 */
  st = prepare(L, d, 1, 2, &e, &tail);
  if (st == NULL) { lua_pushinteger(L, 0); return 1; }
  if (e == NULL && has_more_sql(tail)) {
    sqlite3_finalize(st);
    return luaL_error(L, "'print' takes one SQL statement");
  }
  if (cols && sqlite3_column_count(st) != ncols) {
    int k = sqlite3_column_count(st);
    unprepare(st, e);
    return luaL_error(L, "'widths' has %d widths for %d columns", ncols, k);
  }
  if (bind_args(L, st, 5, "print", 0)) {
    unprepare(st, e);
    return raise_top(L);
  }
  if (e) e->busy = 1;  /* the fallback may use the database meanwhile */
  if ((out.b = malloc(out.cap)) == NULL) ok = 0;
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 0);
    size_t len = (size_t)sqlite3_column_bytes(st, 0);
    char num[80];
    n++;
    if (width >= 0) {
      int k = snprintf(num, sizeof num, "%*lld", width, (long long)(first + n - 1));
      ok = print_put(&out, num, (size_t)k);
    }
    if (text == NULL && fallback) {
      if (!names) {
        int ncol = sqlite3_column_count(st);
        lua_createtable(L, ncol, 0);
        for (i = 0; i < ncol; i++) {
          lua_pushstring(L, sqlite3_column_name(st, i));
          lua_rawseti(L, -2, i + 1);
        }
        names = lua_gettop(L);
      }
      lua_getfield(L, 4, "fallback");
      push_row(L, st, sqlite3_column_count(st), names);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        print_flush(&out);
        free(out.b);
        if (e) e->busy = 0;
        unprepare(st, e);
        return lua_error(L);
      }
      text = lua_tolstring(L, -1, &len);
      ok = print_put(&out, text ? text : "", text ? len : 0);
      lua_pop(L, 1);
    } else if (cols) {
      ok = ok && print_cells(&out, st, cols, ncols, width >= 0);
    } else {
      ok = print_put(&out, text ? text : "", len);
    }
    ok = ok && print_put(&out, "\n", 1);
  }
  if (out.b) {
    ok = print_flush(&out) && ok;
    free(out.b);
  }
  ok = fflush(stdout) == 0 && ok;
  if (e) e->busy = 0;
  if (!ok) {
    int en = errno;
    unprepare(st, e);
    return luaL_error(L, "cannot write to stdout: %s", out.b ? strerror(en) : "not enough memory");
  }
  if (rc != SQLITE_DONE) {
    push_sqlerror(L, d, rc, sqlite3_sql(st), -1);
    unprepare(st, e);
    return raise_top(L);
  }
  unprepare(st, e);
  lua_pushinteger(L, n);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** db:insert, the fast path for many rows. Each row's keys are matched to
** "slots" (the table's column names seen so far) by the address of their
** interned strings, in the order Lua's next gives them, so a run of rows
** built alike costs one pointer comparison per field. The row is bound
** while it is read into the INSERT of the last column set; a row with
** another set of columns switches to (or prepares) that set's INSERT.
** =======================================================
*/

static void ins_stmt_free(ins_stmt *s) {
  sqlite3_finalize(s->st);
  free(s->set);
  free(s->param);
  free(s);
}


static void ins_table_free(ins_table *t) {
  ins_stmt *s, *next;
  for (s = t->stmts; s; s = next) {
    next = s->next;
    ins_stmt_free(s);
  }
  free(t->name);
  free(t->key);
  free(t->keylen);
  free(t->seen);
  free(t);
}


static void ins_free_all(vouch_db_t *d) {
  ins_table *t, *next;
  for (t = d->ins; t; t = next) {
    next = t->next;
    ins_table_free(t);
  }
  d->ins = NULL;
  d->nins = 0;
}


static ins_table *ins_table_get(lua_State *L, vouch_db_t *d, const char *name) {
  ins_table *t, *prev = NULL;
  for (t = d->ins; t; prev = t, t = t->next) {
    if (strcmp(t->name, name) == 0) {
      if (prev) {  /* to the front */
        prev->next = t->next;
        t->next = d->ins;
        d->ins = t;
      }
      return t;
    }
  }
  if (d->nins >= INS_TABLES_MAX) {
    for (prev = NULL, t = d->ins; t->next; prev = t, t = t->next) {}
    prev->next = NULL;
    ins_table_free(t);
    d->nins--;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL || (t->name = strdup(name)) == NULL ||
      (t->seen = calloc(1, sizeof *t->seen)) == NULL) {
    if (t) free(t->name);
    free(t);
    luaL_error(L, "not enough memory");
  }
  t->next = d->ins;
  d->ins = t;
  d->nins++;
  return t;
}


/* The slot of the key `s`, trying `guess` first; -1 if new. */
static int ins_slot(ins_table *t, const char *s, size_t len, int guess) {
  int i;
  if (guess < t->nslots && t->key[guess] == s) return guess;
  for (i = 0; i < t->nslots; i++)
    if (t->key[i] == s) return i;
  /* long strings are not interned: compare their bytes */
  for (i = 0; i < t->nslots; i++)
    if (t->keylen[i] == len && memcmp(t->key[i], s, len) == 0) return i;
  return -1;
}


/* Add the key at the top of the stack as a new slot (anchoring the string). */
static int ins_add_slot(lua_State *L, ins_table *t, int anchor) {
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  if (t->nslots == t->cap) {
    int cap = t->cap ? t->cap * 2 : 16;
    const char **key = realloc(t->key, (size_t)cap * sizeof *key);
    size_t *keylen;
    uint64_t *seen;
    if (key) t->key = key;
    keylen = realloc(t->keylen, (size_t)cap * sizeof *keylen);
    if (keylen) t->keylen = keylen;
    seen = realloc(t->seen, (size_t)(cap / 64 + 1) * sizeof *seen);
    if (seen) t->seen = seen;
    if (!key || !keylen || !seen) luaL_error(L, "not enough memory");
    t->cap = cap;
  }
  lua_pushvalue(L, -1);
  lua_pushboolean(L, 1);
  lua_rawset(L, anchor);
  t->key[t->nslots] = s;
  t->keylen[t->nslots] = len;
  return t->nslots++;
}


static int set_words(int nslots) { return nslots / 64 + 1; }


/* Whether statement `s` inserts exactly the columns in t->seen. */
static int ins_matches(ins_table *t, ins_stmt *s) {
  int w, nw = set_words(t->nslots), sw = set_words(s->nslots);
  for (w = 0; w < nw; w++)
    if (t->seen[w] != (w < sw ? s->set[w] : 0)) return 0;
  for (; w < sw; w++)
    if (s->set[w] != 0) return 0;
  return 1;
}


static void add_ident(luaL_Buffer *b, const char *s, size_t len) {
  size_t i;
  luaL_addchar(b, '"');
  for (i = 0; i < len; i++) {
    if (s[i] == '"') luaL_addchar(b, '"');
    luaL_addchar(b, s[i]);
  }
  luaL_addchar(b, '"');
}


/* The INSERT for the column set in t->seen: found, or prepared and kept. */
static ins_stmt *ins_stmt_for(lua_State *L, vouch_db_t *d, ins_table *t) {
  ins_stmt *s, *prev = NULL;
  luaL_Buffer b;
  int i, n = 0, rc, nw = set_words(t->nslots);
  for (s = t->stmts; s; prev = s, s = s->next) {
    if (ins_matches(t, s)) {
      if (prev) {
        prev->next = s->next;
        s->next = t->stmts;
        t->stmts = s;
      }
      return s;
    }
  }
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "INSERT INTO ");
  add_ident(&b, t->name, strlen(t->name));
  for (i = 0; i < t->nslots; i++) {
    if (!(t->seen[i / 64] >> (i % 64) & 1)) continue;
    luaL_addstring(&b, n++ ? ", " : "(");
    add_ident(&b, t->key[i], t->keylen[i]);
  }
  if (n == 0) luaL_addstring(&b, " DEFAULT VALUES");
  else {
    luaL_addstring(&b, ") VALUES (?");
    for (i = 1; i < n; i++) luaL_addstring(&b, ", ?");
    luaL_addchar(&b, ')');
  }
  luaL_pushresult(&b);
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    luaL_error(L, "not enough memory");
    return NULL;
  }
  s->nslots = t->nslots;
  s->set = malloc((size_t)nw * sizeof *s->set);
  s->param = calloc((size_t)t->nslots + 1, sizeof *s->param);
  if (s->set == NULL || s->param == NULL) {
    ins_stmt_free(s);
    luaL_error(L, "not enough memory");
    return NULL;
  }
  memcpy(s->set, t->seen, (size_t)nw * sizeof *s->set);
  for (i = 0, n = 0; i < t->nslots; i++)
    if (t->seen[i / 64] >> (i % 64) & 1) s->param[i] = ++n;
  rc = sqlite3_prepare_v3(d->db, lua_tostring(L, -1), -1, SQLITE_PREPARE_PERSISTENT,
                          &s->st, NULL);
  if (rc != SQLITE_OK) {
    ins_stmt_free(s);
    push_sqlerror(L, d, rc, lua_tostring(L, -1), sqlite3_error_offset(d->db));
    lua_error(L);
    return NULL;
  }
  lua_pop(L, 1);
  s->next = t->stmts;
  t->stmts = s;
  /* keep a few column sets; the least recently used goes */
  for (i = 1, prev = s; prev->next; i++) {
    if (i >= INS_STMTS_MAX) {
      ins_stmt_free(prev->next);
      prev->next = NULL;
      break;
    }
    prev = prev->next;
  }
  return s;
}


/* The arguments of the protected part of db:insert. */
typedef struct ins_call {
  vouch_db_t *d;
  ins_table *t;
  lua_Integer nrows;        /* rows in the array, or 0 for a single row */
  lua_Integer done;         /* rows inserted */
  ins_stmt *cur;            /* the statement last used, or NULL */
} ins_call;


static int bad_value(lua_State *L, lua_Integer row, int keyidx, int validx) {
  return luaL_error(L, "row %I, column '%s': %s has no SQL value (use a string, number, "
                       "boolean or vouch.db.blob)", row, lua_tostring(L, keyidx),
                    luaL_typename(L, validx));
}


/*
** Insert the row at the top of the stack (row number `n` for messages).
** Stack: 1 db, 2 table name, 3 rows, 4 anchor table, 5 ins_call.
*/
static void ins_row(lua_State *L, ins_call *c, lua_Integer n) {
  ins_table *t = c->t;
  ins_stmt *s = c->cur;
  int row = lua_gettop(L), slot, guess = 0, slow = (s == NULL), rc, w;
  for (w = 0; w < set_words(t->nslots); w++) t->seen[w] = 0;
  lua_pushnil(L);
  while (lua_next(L, row)) {
    size_t len;
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "row %I: keys must be column names (got a %s key)", n,
                 luaL_typename(L, -2));
    k = lua_tolstring(L, -2, &len);
    slot = ins_slot(t, k, len, guess);
    if (slot < 0) {
      lua_pushvalue(L, -2);
      slot = ins_add_slot(L, t, 4);
      lua_pop(L, 1);
      if (slot % 64 == 0) t->seen[slot / 64] = 0;  /* a new word of the bitset */
      slow = 1;
    }
    guess = slot + 1;
    t->seen[slot / 64] |= (uint64_t)1 << (slot % 64);
    if (!slow) {
      if (slot < s->nslots && s->param[slot]) {
        rc = bind_value(L, s->st, s->param[slot], -1, 1);
        if (rc < 0) bad_value(L, n, -2, -1);
        if (rc != SQLITE_OK) luaL_error(L, "row %I: %s", n, sqlite3_errstr(rc));
      } else {
        slow = 1;
      }
    }
    lua_pop(L, 1);
  }
  if (slow || !ins_matches(t, s)) {
    /* another column set: its INSERT, bound from the start */
    if (s) sqlite3_clear_bindings(s->st);
    s = c->cur = ins_stmt_for(L, c->d, t);
    lua_pushnil(L);
    while (lua_next(L, row)) {
      size_t len;
      const char *k = lua_tolstring(L, -2, &len);
      slot = ins_slot(t, k, len, 0);
      rc = bind_value(L, s->st, s->param[slot], -1, 1);
      if (rc < 0) bad_value(L, n, -2, -1);
      if (rc != SQLITE_OK) luaL_error(L, "row %I: %s", n, sqlite3_errstr(rc));
      lua_pop(L, 1);
    }
  }
  rc = sqlite3_step(s->st);
  if (rc != SQLITE_DONE) {
    push_sqlerror(L, c->d, rc, NULL, -1);
    sqlite3_reset(s->st);
    if (c->nrows > 0) lua_pushfstring(L, "insert into %s, row %I: %s", t->name, n,
                                      lua_tostring(L, -1));
    else lua_pushfstring(L, "insert into %s: %s", t->name, lua_tostring(L, -1));
    lua_error(L);
  }
  sqlite3_reset(s->st);
  c->done++;
}


static int ins_protected(lua_State *L) {
  ins_call *c = (ins_call *)lua_touserdata(L, 5);
  lua_Integer i;
  if (c->nrows == 0) {
    lua_pushvalue(L, 3);
    ins_row(L, c, 1);
    return 0;
  }
  for (i = 1; i <= c->nrows; i++) {
    if (lua_rawgeti(L, 3, i) != LUA_TTABLE)
      luaL_error(L, "row %I is a %s, not a table", i, luaL_typename(L, -1));
    ins_row(L, c, i);
    lua_settop(L, 5);
  }
  return 0;
}


/*
** db:insert(table, row) inserts one row and returns its rowid;
** db:insert(table, {row, row, ...}) inserts them all or none (one
** transaction, or a savepoint inside one) and returns how many. Rows are
** tables keyed by column name; a column a row leaves out gets its default.
*/
static int db_insert(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *name = luaL_checkstring(L, 2);
  ins_call c;
  int status, sp = -1, is_array;
  ins_stmt *s;
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  memset(&c, 0, sizeof c);
  c.d = d;
  is_array = lua_rawgeti(L, 3, 1) == LUA_TTABLE;
  lua_pop(L, 1);
  if (is_array) {
    c.nrows = (lua_Integer)lua_rawlen(L, 3);
  } else {
    lua_pushnil(L);
    if (!lua_next(L, 3)) {  /* {}: no rows */
      lua_pushinteger(L, 0);
      return 1;
    }
    lua_pop(L, 2);
  }
  c.t = ins_table_get(L, d, name);
  lua_getiuservalue(L, 1, UV_ANCHOR);          /* 4 */
  lua_pushlightuserdata(L, &c);                /* 5 */
  if (c.nrows > 0 && (sp = tx_begin(d)) < 0)
    return raise_sqlerror(L, d, sqlite3_extended_errcode(d->db), NULL, -1);
  lua_pushcfunction(L, ins_protected);
  lua_insert(L, 1);
  status = lua_pcall(L, 5, 0, 0);
  /* Whatever happened, no statement keeps the rows' strings. */
  for (s = c.t->stmts; s; s = s->next) {
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
  }
  if (status == LUA_OK && sp >= 0 && tx_commit(d, sp) != SQLITE_OK) {
    push_sqlerror(L, d, sqlite3_extended_errcode(d->db), NULL, -1);
    status = LUA_ERRRUN;
  }
  if (status != LUA_OK) {
    if (sp >= 0) tx_rollback(d, sp);
    if (lua_type(L, -1) == LUA_TSTRING && status == LUA_ERRRUN) return raise_top(L);
    return lua_error(L);
  }
  if (c.nrows > 0) lua_pushinteger(L, c.done);
  else lua_pushinteger(L, sqlite3_last_insert_rowid(d->db));
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** db:tx(fn, ...): call fn(...) in a transaction; commit when it returns
** (its results are tx's), roll back and re-raise when it raises. Nested
** calls are savepoints. fn may yield (wait for I/O) inside the transaction.
** =======================================================
*/

static int tx_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_db_t *d = (vouch_db_t *)lua_touserdata(L, 1);
  int sp = (int)ctx;
  if (d->db != NULL) {
    d->tx_depth--;
    if (d->tx_depth == 0) {
      d->tx_owner = NULL;
      d->tx_task = NULL;
      if (d->waiters) bulk_wake(d);
    }
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    int wrc = SQLITE_OK;
    char *wmsg;
    if (d->db == NULL) return luaL_error(L, "the database was closed inside db:tx");
    if ((wmsg = w_failure(d, &wrc)) != NULL || wrc != SQLITE_OK) {
      w_push_error(L, d, wmsg, wrc);  /* a row of a run failed: nothing of it is kept */
      tx_rollback(d, sp);
      return raise_top(L);
    }
    if (tx_commit(d, sp) != SQLITE_OK) {
      push_sqlerror(L, d, sqlite3_extended_errcode(d->db), NULL, -1);
      tx_rollback(d, sp);
      return raise_top(L);
    }
    partners_send(L, d);
    return lua_gettop(L) - 1;
  }
  tx_rollback(d, sp);
  return lua_error(L);  /* the error object is on top */
}


static int db_tx(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  int sp;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (d->tx_depth > 0 && d->tx_owner != L)
    return luaL_error(L, "a transaction of another task is open on this database");
  if ((sp = tx_begin(d)) < 0)
    return raise_sqlerror(L, d, sqlite3_extended_errcode(d->db), NULL, -1);
  if (d->tx_depth == 0 && bulk_of_another(d, vouch_task_current(L)))
    return luaL_error(L, "a load of another task is writing to this database");
  if (d->tx_depth++ == 0) {
    d->tx_owner = L;
    d->tx_task = vouch_task_current(L);
  }
  return tx_k(L, lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, (lua_KContext)sp, tx_k),
              (lua_KContext)sp);
}

/* }====================================================== */


/*
** {======================================================
** Bulk insert for the loaders (db.h)
** =======================================================
*/

/*
** One connection has one stack of savepoints, so loads of several tasks
** (vouch.all over sources going :into one database) take turns at it: a
** load that finds another task's load or db:tx open waits, as an operation
** on its task, until the last of them ends, then begins. The loads' reading
** and tokenizing go on meanwhile up to their first row.
*/
typedef struct bulk_wait {
  vouch_op_t op;            /* must be first */
  uv_timer_t timer;         /* started when woken: the task resumes from the loop */
  vouch_db_t *db;           /* NULL once woken or the database gone */
  vouch_db_t *woken;        /* the database whose turn it was given */
  struct bulk_wait *prev, *next;
} bulk_wait;


static int bulk_of_another(vouch_db_t *d, const void *task) {
  vouch_bulk_t *b;
  for (b = d->bulks; b; b = b->next)
    if (b->task != task) return 1;
  return 0;
}


int vouch_db_bulk_busy(lua_State *L, vouch_db_t *db) {
  const void *task = vouch_task_current(L);
  if (db->db == NULL) return 0;  /* begin reports the closed database */
  return (db->tx_depth > 0 && db->tx_task != task) || bulk_of_another(db, task);
}


static void wait_unlink(bulk_wait *w) {
  vouch_db_t *d = w->db;
  if (d == NULL) return;
  if (w->prev) w->prev->next = w->next;
  else d->waiters = w->next;
  if (w->next) w->next->prev = w->prev;
  w->db = NULL;
  w->prev = w->next = NULL;
}


static void wait_closed(uv_handle_t *handle) {
  free(handle->data);
}


static void wait_fired(uv_timer_t *timer) {
  bulk_wait *w = timer->data;
  uv_close((uv_handle_t *)timer, wait_closed);
  if (w->op.L) vouch_op_done(&w->op, 0);
}




/* A task cancelled after it was given its turn passes the turn on. */
static void wait_cancel(vouch_op_t *op) {
  bulk_wait *w = (bulk_wait *)op;
  vouch_db_t *d = w->woken;
  wait_unlink(w);
  uv_timer_stop(&w->timer);
  uv_close((uv_handle_t *)&w->timer, wait_closed);
  if (d && d->db && d->waiters && d->bulks == NULL && d->tx_depth == 0) bulk_wake(d);
}


/* Let the oldest waiter try again: from the loop, never inside the caller. */
static void bulk_wake(vouch_db_t *d) {
  bulk_wait *w = d->waiters;
  if (w == NULL) return;
  wait_unlink(w);
  w->woken = d;
  uv_timer_start(&w->timer, wait_fired, 0, 0);
}


void vouch_db_bulk_wait(lua_State *L, vouch_db_t *db) {
  bulk_wait *w, **tail;
  vouch_op_check(L);
  w = calloc(1, sizeof *w);
  if (w == NULL) luaL_error(L, "not enough memory");
  vouch_op_start(L, &w->op);
  w->op.cancel = wait_cancel;
  uv_timer_init(&vouch_host(L)->loop, &w->timer);
  w->timer.data = w;
  w->db = db;
  for (tail = &db->waiters; *tail; tail = &(*tail)->next) w->prev = *tail;
  *tail = w;
}


static void bulk_unlink(vouch_bulk_t *b) {
  vouch_db_t *d = b->db;
  if (b->prev) b->prev->next = b->next;
  else if (d->bulks == b) d->bulks = b->next;
  if (b->next) b->next->prev = b->prev;
  b->prev = b->next = NULL;
}


/* Append "name" quoted as an SQL identifier to a malloc'd growing string. */
static int sb_ident(char **s, size_t *n, size_t *cap, const char *id) {
  size_t need = *n + 2 * strlen(id) + 8, i;
  if (need > *cap) {
    char *p = realloc(*s, need * 2);
    if (p == NULL) return -1;
    *s = p;
    *cap = need * 2;
  }
  (*s)[(*n)++] = '"';
  for (i = 0; id[i]; i++) {
    if (id[i] == '"') (*s)[(*n)++] = '"';
    (*s)[(*n)++] = id[i];
  }
  (*s)[(*n)++] = '"';
  (*s)[*n] = '\0';
  return 0;
}


static int sb_add(char **s, size_t *n, size_t *cap, const char *text) {
  size_t len = strlen(text);
  if (*n + len + 1 > *cap) {
    char *p = realloc(*s, (*n + len + 1) * 2);
    if (p == NULL) return -1;
    *s = p;
    *cap = (*n + len + 1) * 2;
  }
  memcpy(*s + *n, text, len + 1);
  *n += len;
  return 0;
}


vouch_bulk_t *vouch_db_bulk_begin(vouch_db_t *db, const void *task, const char *table,
                                  int ncols, const char *const *cols, char **err) {
  vouch_bulk_t *b;
  char *create = NULL, *insert = NULL;
  size_t cn = 0, ccap = 0, in = 0, icap = 0;
  int i, ok = 1, rc;
  *err = NULL;
  w_idle(db);
  if (db->db == NULL) { *err = strdup("attempt to use a closed database"); return NULL; }
  if (ncols <= 0) { *err = strdup("a bulk insert needs at least one column"); return NULL; }
  b = calloc(1, sizeof *b);
  if (b == NULL || (b->table = strdup(table)) == NULL) {
    free(b);
    *err = strdup("not enough memory");
    return NULL;
  }
  b->db = db;
  b->task = task;
  ok = sb_add(&create, &cn, &ccap, "CREATE TABLE IF NOT EXISTS ") == 0 &&
       sb_ident(&create, &cn, &ccap, table) == 0 && sb_add(&create, &cn, &ccap, "(") == 0 &&
       sb_add(&insert, &in, &icap, "INSERT INTO ") == 0 &&
       sb_ident(&insert, &in, &icap, table) == 0 && sb_add(&insert, &in, &icap, "(") == 0;
  for (i = 0; ok && i < ncols; i++) {
    ok = sb_add(&create, &cn, &ccap, i ? ", " : "") == 0 &&
         sb_ident(&create, &cn, &ccap, cols[i]) == 0 &&
         sb_add(&insert, &in, &icap, i ? ", " : "") == 0 &&
         sb_ident(&insert, &in, &icap, cols[i]) == 0;
  }
  ok = ok && sb_add(&create, &cn, &ccap, ")") == 0 &&
       sb_add(&insert, &in, &icap, ") VALUES (?") == 0;
  for (i = 1; ok && i < ncols; i++) ok = sb_add(&insert, &in, &icap, ", ?") == 0;
  ok = ok && sb_add(&insert, &in, &icap, ")") == 0;
  if (!ok) {
    *err = strdup("not enough memory");
    goto fail;
  }
  if ((b->sp = tx_begin(db)) < 0) {
    *err = c_error(db, "cannot begin the load");
    goto fail;
  }
  b->outer = b->sp == 0;
  rc = sqlite3_exec(db->db, create, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    *err = c_error(db, table);
    goto fail_tx;
  }
  rc = sqlite3_prepare_v3(db->db, insert, -1, SQLITE_PREPARE_PERSISTENT, &b->ins, NULL);
  if (rc != SQLITE_OK) {
    *err = c_error(db, table);
    goto fail_tx;
  }
  free(create);
  free(insert);
  b->next = db->bulks;
  if (db->bulks) db->bulks->prev = b;
  db->bulks = b;
  return b;
fail_tx:
  tx_rollback(db, b->sp);
  if (db->waiters && db->bulks == NULL && db->tx_depth == 0) bulk_wake(db);
fail:
  free(create);
  free(insert);
  free(b->table);
  free(b);
  return NULL;
}


int vouch_db_bulk_row(vouch_bulk_t *b, const vouch_value_t *vals, char **err) {
  int i, n, rc = SQLITE_OK;
  *err = NULL;
  if (b->ins == NULL || b->db->db == NULL) {
    *err = strdup("attempt to use a closed database");
    return -1;
  }
  w_idle(b->db);
  n = sqlite3_bind_parameter_count(b->ins);
  for (i = 0; rc == SQLITE_OK && i < n; i++) {
    const vouch_value_t *v = &vals[i];
    switch (v->type) {
      case VOUCH_INT: rc = sqlite3_bind_int64(b->ins, i + 1, v->u.i); break;
      case VOUCH_REAL: rc = sqlite3_bind_double(b->ins, i + 1, v->u.d); break;
      case VOUCH_TEXT:
        rc = sqlite3_bind_text64(b->ins, i + 1, v->u.s.p, v->u.s.n, SQLITE_STATIC, SQLITE_UTF8);
        break;
      case VOUCH_BLOB:
        rc = sqlite3_bind_blob64(b->ins, i + 1, v->u.s.p, v->u.s.n, SQLITE_STATIC);
        break;
      default: rc = sqlite3_bind_null(b->ins, i + 1); break;
    }
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(b->ins);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    char what[64];
    snprintf(what, sizeof what, "row %lld", (long long)b->rows + 1);
    *err = c_error(b->db, what);
  } else {
    b->rows++;
  }
  sqlite3_reset(b->ins);
  sqlite3_clear_bindings(b->ins);  /* the values were borrowed */
  return rc == SQLITE_OK ? 0 : -1;
}


/* Record a finished load in `loads`, when the database has that table. */
static int record_load(vouch_bulk_t *b, const vouch_load_info_t *info) {
  vouch_db_t *d = b->db;
  sqlite3_stmt *st;
  char now[32];
  int rc;
  d->auth.internal++;  /* the host's own row: prepared and stepped past the authorizer */
  rc = sqlite3_prepare_v2(d->db, "INSERT INTO loads(source, format, hash, rows, bad_rows, "
                                 "target, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          -1, &st, NULL);
  if (rc != SQLITE_OK) {
    d->auth.internal--;
    /* a database without the host's schema keeps no record */
    return sqlite3_table_column_metadata(d->db, NULL, "loads", NULL, NULL, NULL, NULL,
                                         NULL, NULL) == SQLITE_OK ? rc : SQLITE_OK;
  }
  vouch__store_now(now, sizeof now);
  sqlite3_bind_text(st, 1, info->source ? info->source : "?", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, info->format ? info->format : "?", -1, SQLITE_STATIC);
  if (info->hash) sqlite3_bind_text(st, 3, info->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, info->rows);
  sqlite3_bind_int64(st, 5, info->bad_rows);
  sqlite3_bind_text(st, 6, b->table, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  d->auth.internal--;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


int vouch_db_bulk_end(vouch_bulk_t *b, int commit, const vouch_load_info_t *info,
                      char **err) {
  vouch_db_t *d = b->db;
  int result = 0;
  *err = NULL;
  w_idle(d);
  if (b->ins == NULL || d->db == NULL) {
    if (commit) {
      *err = strdup("the database was closed before the load finished");
      result = -1;
    }
  } else {
    sqlite3_finalize(b->ins);
    b->ins = NULL;
    if (commit && info && record_load(b, info) != SQLITE_OK) {
      *err = c_error(d, "cannot record the load");
      commit = 0;
      result = -1;
    }
    if (commit && tx_commit(d, b->sp) != SQLITE_OK) {
      *err = c_error(d, "cannot commit the load");
      commit = 0;
      result = -1;
    }
    if (!commit) tx_rollback(d, b->sp);
  }
  bulk_unlink(b);
  free(b->table);
  free(b);
  if (d->waiters && d->bulks == NULL && d->tx_depth == 0) bulk_wake(d);
  return result;
}

/* }====================================================== */


/*
** {======================================================
** The run record: the host's own writes of runs, scores and reasons.
** Untrusted SQL cannot change these tables of a database that holds the
** host's schema (store.c's authorizer). card:run writes them through the
** three calls below, which run fixed statements past the authorizer and
** touch only a run begun through the same connection, by this process,
** and not yet ended: the most a script can store is its own run's results.
** =======================================================
*/

#define REC_COLS_MAX 4096      /* columns of an input recorded by name */



static int run_owned(vouch_db_t *d, lua_Integer id) {
  int i;
  for (i = 0; i < d->nruns; i++)
    if (d->runs[i].id == id) return i;
  return -1;
}

static rec_load *load_owned(vouch_db_t *d, lua_Integer id) {
  int i;
  for (i = 0; i < d->nloads; i++)
    if (d->loads[i].id == id) return &d->loads[i];
  return NULL;
}

/* Forget load `l` (its columns are in the uservalue of the database at 1). */
static void load_drop(lua_State *L, vouch_db_t *d, rec_load *l) {
  lua_getiuservalue(L, 1, UV_COLUMNS);
  lua_pushnil(L);
  lua_rawseti(L, -2, (lua_Integer)l->id);
  lua_pop(L, 1);
  *l = d->loads[--d->nloads];
}

/* The loads of run `id` are over when it ends. */
static void loads_drop(lua_State *L, vouch_db_t *d, int64_t run_id) {
  int i = 0;
  while (i < d->nloads) {
    if (d->loads[i].run_id == run_id) load_drop(L, d, &d->loads[i]);
    else i++;
  }
}


/* Prepare (internal++) or step a host statement; raise with SQLite's words. */
static sqlite3_stmt *rec_prepare(lua_State *L, vouch_db_t *d, const char *sql) {
  sqlite3_stmt *st = NULL;
  int rc;
  d->auth.internal++;
  rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  d->auth.internal--;
  if (rc != SQLITE_OK) raise_sqlerror(L, d, rc, sql, sqlite3_error_offset(d->db));
  return st;
}


/* Step `st` to its end past the authorizer (a schema change re-prepares it). */
static int rec_step(vouch_db_t *d, sqlite3_stmt *st) {
  int rc;
  d->auth.internal++;
  rc = step_all(st);
  d->auth.internal--;
  return rc;
}


/* Raise the error of a failed host statement, after giving it back. */
static int rec_fail(lua_State *L, vouch_db_t *d, sqlite3_stmt *st, int rc, int finalize) {
  push_sqlerror(L, d, rc, sqlite3_sql(st), -1);
  if (finalize) sqlite3_finalize(st);
  else {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  return raise_top(L);
}


/* Run a one-off host statement binding text/integers from `fmt` ("s", "i",
** "n" for NULL); raise on failure. */
static void rec_exec(lua_State *L, vouch_db_t *d, const char *sql, const char *fmt, ...) {
  sqlite3_stmt *st = rec_prepare(L, d, sql);
  va_list ap;
  int i, rc;
  va_start(ap, fmt);
  for (i = 0; fmt[i]; i++) {
    if (fmt[i] == 's') {
      const char *v = va_arg(ap, const char *);
      if (v) sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT);
    } else if (fmt[i] == 'i') sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
  }
  va_end(ap);
  if ((rc = rec_step(d, st)) != SQLITE_DONE) rec_fail(L, d, st, rc, 1);
  sqlite3_finalize(st);
}


/* A text field of the table argument: a string of at most `max` bytes. */
static const char *rec_text(lua_State *L, const char *key, const char *def, size_t max) {
  size_t len;
  const char *s;
  if (lua_getfield(L, 2, key) == LUA_TNIL) {
    lua_pop(L, 1);
    if (def == NULL) luaL_error(L, "bad argument #1 (field '%s' missing)", key);
    lua_pushstring(L, def);
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "bad argument #1 (field '%s': string expected, got %s)", key,
               luaL_typename(L, -1));
  vouch_redact_at(L, -1);  /* no secret read through vouch.env is kept */
  s = lua_tolstring(L, -1, &len);
  if (len > max) luaL_error(L, "bad argument #1 (field '%s' longer than %d bytes)", key, (int)max);
  return s;
}


/* The JSON text of an array field of the table argument (strings or
** numbers), or `def` when absent. Leaves the text on the stack. */
static const char *rec_array(lua_State *L, const char *key, int want_numbers) {
  lua_Integer i, n;
  if (lua_getfield(L, 2, key) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "[]");
    return lua_tostring(L, -1);
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "bad argument #1 (field '%s': table expected, got %s)", key,
               luaL_typename(L, -1));
  n = (lua_Integer)lua_rawlen(L, -1);
  if (n > REC_COLS_MAX) luaL_error(L, "bad argument #1 (field '%s': more than %d items)",
                                   key, REC_COLS_MAX);
  for (i = 1; i <= n; i++) {
    int t = lua_rawgeti(L, -1, i);
    if (t != (want_numbers ? LUA_TNUMBER : LUA_TSTRING))
      luaL_error(L, "bad argument #1 (field '%s': item %d is not a %s)", key, (int)i,
                 want_numbers ? "number" : "string");
    lua_pop(L, 1);
  }
  if (n == 0) lua_pushliteral(L, "[]");
  else vouch_json_push_fields(L, -1, NULL, 0);  /* keys 1..n: an array */
  lua_remove(L, -2);
  return lua_tostring(L, -1);
}


/* A reason code or a rule's code in `rules`: an identifier of at most 64
** bytes. Readers build JSON paths and SQL from codes (the monitor looks a
** code up in scorecards.rules), so what a script stores here must not be
** able to break them. */
static int rec_code_ok(const char *s, size_t n) {
  size_t i;
  if (n == 0 || n > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
  for (i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
  return 1;
}


/* The JSON text of the `rules` field of the table argument, a map of rule
** codes to their dimensions (strings), or "{}". Leaves it on the stack. */
static const char *rec_rules(lua_State *L) {
  int n = 0;
  if (lua_getfield(L, 2, "rules") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushliteral(L, "{}");
    return lua_tostring(L, -1);
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "bad argument #1 (field 'rules': table expected, got %s)", luaL_typename(L, -1));
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    size_t kn = 0;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &kn) : NULL;
    if (k == NULL || lua_type(L, -1) != LUA_TSTRING || !rec_code_ok(k, kn))
      luaL_error(L, "bad argument #1 (field 'rules': rule codes (identifiers) to dimension "
                    "names expected)");
    if (++n > REC_COLS_MAX)
      luaL_error(L, "bad argument #1 (field 'rules': more than %d items)", REC_COLS_MAX);
    lua_pop(L, 1);
  }
  if (n == 0) lua_pushliteral(L, "{}");
  else vouch_json_push_fields(L, -1, NULL, 0);
  lua_remove(L, -2);
  return lua_tostring(L, -1);
}


/*
** The scorecard of a run, once per hash. `explain` later compiles the
** source stored under a hash and replays runs with it, so what a script
** stores here must not stand for another scorecard: a source must have the
** hash given (vouch.hash of the text up to its first NUL, which is what
** SQLite keeps), and a hash stored before must have been stored with the
** same name, dimensions and weights (and source, where both have one); a
** row stored without its source gets it.
*/
static void rec_scorecard(lua_State *L, vouch_db_t *d, const char *hash, const char *name,
                          const char *dims, const char *weights, const char *source,
                          const char *rules) {
  static const char *const sql[2] = {
    /* made, unless there: another process may make it between a look and
       an insert */
    "INSERT INTO scorecards(hash, name, dimensions, weights, source, rules) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(hash) DO NOTHING RETURNING 1",
    /* else what is there must be the same */
    "SELECT name IS ?2 AND dimensions IS ?3 AND weights IS ?4 AND "
    "(source IS NULL OR ?5 IS NULL OR source IS ?5) FROM scorecards WHERE hash = ?1"
  };
  sqlite3_stmt *st;
  int k, rc, row = 0;
  if (source) {
    char hex[VOUCH_HASH_HEX];
    vouch_hash_hex(source, strlen(source), hex);
    if (strcmp(hex, hash) != 0)
      luaL_error(L, "'run_begin': hash '%s' is not the hash of the source given (%s)", hash, hex);
  }
  for (k = 0; k < 2; k++) {
    st = rec_prepare(L, d, sql[k]);
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, dims, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, weights, -1, SQLITE_STATIC);
    if (source) sqlite3_bind_text(st, 5, source, -1, SQLITE_STATIC);
    if (k == 0) sqlite3_bind_text(st, 6, rules, -1, SQLITE_STATIC);
    d->auth.internal++;
    row = k == 1;  /* none there any more: nothing to differ from */
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      row = k == 0 || sqlite3_column_int(st, 0);  /* made here, or the same */
      rc = step_all(st);
    }
    d->auth.internal--;
    if (rc != SQLITE_DONE) rec_fail(L, d, st, rc, 1);
    sqlite3_finalize(st);
    if (k == 0 && row) return;
  }
  if (!row)
    luaL_error(L, "'run_begin': scorecard %s was stored before with another name, dimensions, "
                  "weights or source", hash);
  if (source)
    rec_exec(L, d, "UPDATE scorecards SET source = ? WHERE hash = ? AND source IS NULL", "ss",
             source, hash);
  /* rules only named for display: what was stored before stays */
  rec_exec(L, d, "UPDATE scorecards SET rules = json_patch(?, rules) WHERE hash = ?", "ss",
           rules, hash);
}


/* Raise what the server said, naming it. */
static int server_error(lua_State *L, vouch_db_t *d, const char *what) {
  return luaL_error(L, "'%s': the record on the server: %s", what, vouch_pgrec_error(d->pg));
}


/*
** The run begun on the server for db:run_begin: a new one, or, when the
** table at 2 has a `shard` field ({key =, of =, want =, lease = ms,
** batch =}), a shard of the run of that key (d->shard). Returns 1 with
** *id set, or pushes nil, why ("complete", "failed" or "held") and the
** run's id and returns 3.
*/
static int server_run(lua_State *L, vouch_db_t *d, const char *card, const char *hash,
                      const char *inputs, const char *now, const char *by, int64_t *id) {
  vouch_shard_ask_t a;
  const char *state;
  char host[256];
  int shard;
  int64_t claims;
  if (lua_getfield(L, 2, "shard") == LUA_TNIL) {
    lua_getfield(L, 2, "lease");
    d->lease_ms = (int)luaL_optinteger(L, -1, 60000);
    lua_pop(L, 2);
    if (d->lease_ms < 300 || d->lease_ms > 86400000)
      return luaL_error(L, "'run_begin': lease %d ms: out of range", d->lease_ms);
    if (vouch_pgrec_run_new(d->pg, card, hash, inputs, now, by, (int64_t)getpid(), d->lease_ms,
                            id) != 0)
      return server_error(L, d, "run_begin");
    lease_start(d);
    return 1;
  }
  luaL_argexpected(L, lua_istable(L, -1), 2, "field 'shard' a table");
  memset(&a, 0, sizeof a);
  lua_getfield(L, -1, "key");
  a.key = luaL_checkstring(L, -1);
  lua_getfield(L, -2, "of");
  a.of = (int)luaL_checkinteger(L, -1);
  lua_getfield(L, -3, "want");
  a.want = (int)luaL_optinteger(L, -1, 1) - 1;
  lua_getfield(L, -4, "lease");
  a.lease_ms = (int)luaL_optinteger(L, -1, 20000);
  lua_getfield(L, -5, "batch");
  a.batch = luaL_optstring(L, -1, NULL);
  lua_getfield(L, -6, "run");
  a.run = (int64_t)luaL_optinteger(L, -1, 0);
  if (a.of < 1 || a.of > 100000 || a.want < 0 || a.want >= a.of || a.lease_ms < 100)
    return luaL_error(L, "'run_begin': shard %d of %d, lease %d ms: out of range", a.want + 1,
                      a.of, a.lease_ms);
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';
  snprintf(d->shard.holder, sizeof d->shard.holder, "%s pid %lld", host, (long long)getpid());
  a.holder = d->shard.holder;
  a.card = card;
  a.hash = hash;
  a.inputs = inputs;
  a.at = now;
  a.by = by;
  a.pid = (int64_t)getpid();
  if (vouch_pgrec_shard_claim(d->pg, &a, id, &shard, &claims, &state) != 0)
    return server_error(L, d, "run_begin");
  lua_pop(L, 7);
  if (shard < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, state);
    lua_pushinteger(L, (lua_Integer)*id);
    return 3;
  }
  d->shard.run = *id;
  d->shard.shard = shard;
  d->shard.claims = claims;
  d->shard.lease_ms = a.lease_ms;
  d->shard.renewed = uv_hrtime();
  return 1;
}


/*
** db:refresh([wait]): on the record on a server, bring the copy of its runs
** up to date, and return the server's name (without a password); nothing
** on a file. A connection the server dropped is made again for up to
** `wait` seconds (default 10; 0: tried once), as the server restarts.
*/
static int db_refresh(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  lua_Number wait = luaL_optnumber(L, 2, -1);
  char shown[600];
  int rc, was;
  luaL_argcheck(L, wait == -1 || (wait >= 0 && wait <= 60), 2, "seconds from 0 to 60");
  if (d->pg == NULL) return 0;
  if (!d->staged) {
    was = vouch_pgrec_rejoin(d->pg, wait < 0 ? -1 : (int)(wait * 1000));
    d->auth.internal++;
    rc = vouch_pgrec_copy_runs(d->pg, d->db, 1);
    d->auth.internal--;
    vouch_pgrec_rejoin(d->pg, was);
    if (rc != VOUCH_RECORD_OK) return server_error(L, d, "refresh");
  }
  vouch_pgrec_shown(d->h->db_path, shown, sizeof shown);
  lua_pushstring(L, shown);
  return 1;
}


/*
** db:run_renew(run_id): keep the lease on the shard of run_id held here,
** renewing it when a third of it has passed (cheap to call often). Raises
** when another process has taken the shard over.
*/
static int db_run_renew(lua_State *L) {
  vouch_db_t *d = check_open_run(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2);
  uint64_t now = uv_hrtime();
  if (d->pg && d->lease && d->shard.run != id) {  /* a run of this process alone */
    if (now - d->lease->renewed >= (uint64_t)d->lease_ms * 1000000 / 3) lease_fired(&d->lease->timer);
    return 0;
  }
  if (d->pg == NULL || d->shard.run != id ||
      now - d->shard.renewed < (uint64_t)d->shard.lease_ms * 1000000 / 3)
    return 0;
  if (vouch_pgrec_shard_renew(d->pg, id, d->shard.shard, d->shard.holder, d->shard.claims,
                              d->shard.lease_ms) != 0)
    return server_error(L, d, "run_renew");
  d->shard.renewed = now;
  return 0;
}


/*
** db:run_begin{scorecard =, hash =, dimensions = {names}, weights = {numbers},
** source = text, inputs = JSON text, started_by =}: record the scorecard
** (once per hash), commit a run as 'running' (with this process's pid) and
** return its id.
*/
static int db_run_begin(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *card, *hash, *inputs, *by, *dims, *weights, *rules, *source = NULL;
  char now[32];
  sqlite3_stmt *st;
  int64_t id = 0;
  int rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  card = rec_text(L, "scorecard", NULL, 1000);
  hash = rec_text(L, "hash", NULL, 200);
  inputs = rec_text(L, "inputs", "[]", 1 << 20);
  by = rec_text(L, "started_by", "cli", 200);
  dims = rec_array(L, "dimensions", 0);
  weights = rec_array(L, "weights", 1);
  if (lua_getfield(L, 2, "source") != LUA_TNIL) source = rec_text(L, "source", NULL, 1 << 24);
  if (d->nruns == d->capruns) {
    int cap = d->capruns ? 2 * d->capruns : 4;
    rec_run *v = realloc(d->runs, sizeof *v * (size_t)cap);
    if (v == NULL) return luaL_error(L, "not enough memory");
    d->runs = v;
    d->capruns = cap;
  }
  vouch__store_now(now, sizeof now);
  rules = rec_rules(L);
  rec_scorecard(L, d, hash, card, dims, weights, source, rules);
  if (!d->pg && lua_getfield(L, 2, "shard") != LUA_TNIL)
    return luaL_error(L, "'run_begin': a run is scored in shards on a record on a server "
                         "(--db postgresql://...), not in a file");
  if (d->pg) {  /* the server numbers the run */
    int got = server_run(L, d, card, hash, inputs, now, by, &id);
    if (got != 1) return got;
  }
  st = rec_prepare(L, d, "INSERT INTO runs(scorecard, scorecard_hash, inputs, started_at, "
                         "status, started_by, pid, id) VALUES (?, ?, ?, ?, 'running', ?, ?, ?) "
                         "ON CONFLICT(id) DO UPDATE SET status = 'running', ended_at = NULL, "
                         "partners = NULL, error = NULL");
  sqlite3_bind_text(st, 1, card, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, inputs, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, by, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, (sqlite3_int64)getpid());
  if (d->pg) sqlite3_bind_int64(st, 7, id);
  if ((rc = rec_step(d, st)) != SQLITE_DONE) return rec_fail(L, d, st, rc, 1);
  sqlite3_finalize(st);
  if (d->pg) {  /* a shard's pass again: what an earlier pass staged was sent */
    rec_exec(L, d, "DELETE FROM scores WHERE run_id = ?", "i", id);
    rec_exec(L, d, "DELETE FROM run_loads WHERE run_id = ?", "i", id);
  } else id = sqlite3_last_insert_rowid(d->db);
  lua_getfield(L, 2, "dimensions");
  memset(&d->runs[d->nruns], 0, sizeof d->runs[d->nruns]);
  d->runs[d->nruns].ndims = lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : 0;
  d->runs[d->nruns].id = id;
  lua_pushinteger(L, (lua_Integer)d->runs[d->nruns++].id);
  if (d->shard.run == id) {
    lua_pushinteger(L, d->shard.shard + 1);
    return 2;
  }
  return 1;
}


/*
** db:run_load(run_id, {source =, format =, columns = {names}}): record that
** the run reads a load, and return the load's id: its input rows follow
** with the run's scores (run_rows), stored as JSON arrays in the order of
** `columns`, or as objects when no columns are given.
*/
static int db_run_load(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  lua_Integer run = luaL_checkinteger(L, 2);
  const char *source, *format, *cols = NULL;
  char now[32];
  rec_load *l;
  int64_t id;
  int i, n = 0;
  if (run_owned(d, run) < 0)
    return luaL_error(L, "'run_load': run %d was not begun by this process with "
                         "db:run_begin, or has ended", (int)run);
  lua_remove(L, 2);
  luaL_checktype(L, 2, LUA_TTABLE);
  source = rec_text(L, "source", NULL, 4096);
  format = rec_text(L, "format", "lua", 32);
  if (lua_getfield(L, 2, "columns") != LUA_TNIL) {
    lua_pop(L, 1);
    cols = rec_array(L, "columns", 0);
    lua_getfield(L, 2, "columns");
    n = (int)lua_rawlen(L, -1);
  }
  if (d->nloads == d->caploads) {
    int cap = d->caploads ? 2 * d->caploads : 4;
    rec_load *v = realloc(d->loads, sizeof *v * (size_t)cap);
    if (v == NULL) return luaL_error(L, "not enough memory");
    d->loads = v;
    d->caploads = cap;
  }
  l = &d->loads[d->nloads++];  /* registered at once: dropped with the run if what follows raises */
  memset(l, 0, sizeof *l);
  l->run_id = run;
  l->ncols = -1;
  vouch__store_now(now, sizeof now);
  if (d->pg && !d->staged)  /* below the server's ids, which the copy holds: sent, it
                               takes the one the server gives */
    rec_exec(L, d, "INSERT INTO loads(id, source, format, rows, loaded_at, columns) "
                   "VALUES ((SELECT min(coalesce(min(id), 0), 0) - 1 FROM loads), ?, ?, 0, "
                   "?, ?)", "ssss", source, format, now, cols);
  else
    rec_exec(L, d, "INSERT INTO loads(source, format, rows, loaded_at, columns) "
                   "VALUES (?, ?, 0, ?, ?)", "ssss", source, format, now, cols);
  id = sqlite3_last_insert_rowid(d->db);
  rec_exec(L, d, "INSERT INTO run_loads(run_id, load_id) VALUES (?, ?)", "ii", (int64_t)run, id);
  if (cols) {  /* a copy of the names, which run_input looks the fields up by */
    lua_getiuservalue(L, 1, UV_COLUMNS);
    lua_createtable(L, n, 0);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -3, i);
      lua_rawseti(L, -2, i);
    }
    lua_rawseti(L, -2, (lua_Integer)id);
    l->ncols = n;
  }
  l->id = id;
  lua_pushinteger(L, (lua_Integer)id);
  return 1;
}


/*
** db:run_load_end(load_id, {hash =, rows =, bad_rows =, size =}): what the
** load read, once it is read. A load of the same content (hash, columns,
** rows) stored before is the same input: the run points at it, and the rows
** just written are dropped, so an input is stored once however many runs
** read it.
*/
static int db_run_load_end(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2);
  rec_load *l = load_owned(d, id);
  const char *hash;
  int64_t rows, bad, size, same = 0, run;
  sqlite3_stmt *st;
  if (l == NULL)
    return luaL_error(L, "'run_load_end': load %d was not begun by this process with "
                         "db:run_load, or its run has ended", (int)id);
  lua_remove(L, 2);
  luaL_checktype(L, 2, LUA_TTABLE);
  hash = rec_text(L, "hash", NULL, 200);
  lua_getfield(L, 2, "rows");
  rows = (int64_t)luaL_optinteger(L, -1, l->rows);
  lua_getfield(L, 2, "bad_rows");
  bad = (int64_t)luaL_optinteger(L, -1, 0);
  lua_getfield(L, 2, "size");
  size = (int64_t)luaL_optinteger(L, -1, -1);
  run = l->run_id;
  st = rec_prepare(L, d, "SELECT id FROM loads WHERE hash = ?1 AND id <> ?2 AND rows = ?3 "
                         "AND columns IS (SELECT columns FROM loads WHERE id = ?2) AND "
                         "EXISTS (SELECT 1 FROM inputs WHERE load_id = loads.id) "
                         "ORDER BY id LIMIT 1");
  sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, l->id);
  sqlite3_bind_int64(st, 3, rows);
  d->auth.internal++;
  if (sqlite3_step(st) == SQLITE_ROW) same = sqlite3_column_int64(st, 0);
  d->auth.internal--;
  sqlite3_finalize(st);
  if (same && l->rows == rows) {
    rec_exec(L, d, "UPDATE scores SET load_id = ? WHERE run_id = ? AND load_id = ?", "iii",
             same, run, l->id);
    rec_exec(L, d, "DELETE FROM run_loads WHERE run_id = ? AND load_id = ?", "ii", run, l->id);
    rec_exec(L, d, "INSERT OR IGNORE INTO run_loads(run_id, load_id) VALUES (?, ?)", "ii",
             run, same);
    rec_exec(L, d, "DELETE FROM inputs WHERE load_id = ?", "i", l->id);
    rec_exec(L, d, "DELETE FROM loads WHERE id = ?", "i", l->id);
    lua_pushinteger(L, (lua_Integer)same);
  } else {
    st = rec_prepare(L, d, "UPDATE loads SET hash = ?, rows = ?, bad_rows = ?, size = ? "
                           "WHERE id = ?");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rows);
    sqlite3_bind_int64(st, 3, bad);
    if (size >= 0) sqlite3_bind_int64(st, 4, size);
    sqlite3_bind_int64(st, 5, l->id);
    {
      int rc = rec_step(d, st);
      if (rc != SQLITE_DONE) return rec_fail(L, d, st, rc, 1);
    }
    sqlite3_finalize(st);
    lua_pushinteger(L, (lua_Integer)l->id);
  }
  load_drop(L, d, l);
  return 1;
}


/*
** db:run_input(load_id, row, t): store the input row `t` (a table) as row
** `row` of a load of a run begun here and not yet ended: a JSON array of
** its fields in the order of the load's columns, or the whole table as an
** object when the load has none.
*/
static int db_run_input(lua_State *L) {
  vouch_db_t *d = check_open_run(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2), row = luaL_checkinteger(L, 3);
  rec_load *l = load_owned(d, id);
  w_batch *bt;
  w_row h;
  size_t at;
  if (l == NULL || l->id == 0)
    return luaL_error(L, "'run_input': load %d was not begun by this process with "
                         "db:run_load, or its run has ended", (int)id);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  if (d->rec_input == NULL) {
    w_sync(L, d);
    d->rec_input = rec_prepare(L, d, "INSERT INTO inputs(load_id, row, vals) VALUES (?, ?, ?)");
  }
  memset(&h, 0, sizeof h);
  h.kind = W_INPUT;
  h.load = l->id;
  h.row = (int64_t)row;
  bt = w_batch_for(L, d);
  at = bt->b.n;
  vouch_json_add(L, &bt->b, (const char *)&h, sizeof h);  /* its place: filled in below */
  if (l->ncols >= 0) {
    lua_getiuservalue(L, 1, UV_COLUMNS);
    lua_rawgeti(L, -1, (lua_Integer)l->id);
    vouch_json_add_fields(L, &bt->b, 4, 6, l->ncols);
  } else {
    vouch_json_add_value(L, &bt->b, 4);
  }
  if (bt->b.n - at > (size_t)INT32_MAX) return luaL_error(L, "'run_input': the row is too long");
  h.len[0] = (uint32_t)(bt->b.n - at - sizeof h);
  l->rows++;
  w_row_done(L, d, bt, at, &h);
  return 0;
}


/*
** The record's reasons. Each stored reason is a JSON array [code, outcome,
** points, rank], with a fifth item, its evidence, for a flag whose evidence
** came from the whole set (a portfolio rule). An outcome is one of these;
** the first four are red flags.
*/
static const char *const rec_outcomes[] = {
  "veto", "penalty", "cap", "review", "score", "points", "indeterminate", "pass", NULL
};
#define REC_DIM_DIGITS 7     /* significant digits of a stored dimension value */
#define REC_POINTS_DIGITS 6  /* and of a reason's points */
#define REC_REASONS_MAX 4096


/* Append reason `k` (1-based) of the flat list at `t` to the row's text. */
static void rec_reason(lua_State *L, vouch_json_buf *b, int t, int k) {
  int base = (k - 1) * 5, top = lua_gettop(L), i;
  size_t n;
  const char *s;
  for (i = 1; i <= 5; i++) lua_rawgeti(L, t, base + i);
  if (lua_type(L, top + 1) != LUA_TSTRING)
    luaL_error(L, "bad argument #10 to 'run_score' (reason %d: code must be a string)", k);
  s = lua_tolstring(L, top + 1, &n);
  if (!rec_code_ok(s, n))
    luaL_error(L, "bad argument #10 to 'run_score' (reason %d: code must be an identifier "
                  "of at most 64 bytes)", k);
  vouch_json_add(L, b, k > 1 ? ",[" : "[", k > 1 ? 2 : 1);
  vouch_json_add_string(L, b, s, n);
  vouch_json_add(L, b, ",\"", 2);
  s = lua_type(L, top + 2) == LUA_TSTRING ? lua_tolstring(L, top + 2, &n) : NULL;
  for (i = 0; s && rec_outcomes[i] && strcmp(s, rec_outcomes[i]) != 0; i++) {}
  if (s == NULL || rec_outcomes[i] == NULL)
    luaL_error(L, "bad argument #10 to 'run_score' (reason %d: unknown outcome '%s')", k,
               s ? s : luaL_typename(L, top + 2));
  vouch_json_add(L, b, s, n);
  vouch_json_add(L, b, "\",", 2);
  if (lua_type(L, top + 3) == LUA_TNUMBER) vouch_json_add_number(L, b, top + 3, REC_POINTS_DIGITS);
  else if (lua_toboolean(L, top + 3))
    luaL_error(L, "bad argument #10 to 'run_score' (reason %d: points must be a number or false)", k);
  else vouch_json_add(L, b, "null", 4);
  vouch_json_add(L, b, ",", 1);
  if (lua_isinteger(L, top + 4) && lua_tointeger(L, top + 4) >= 1)
    vouch_json_add_number(L, b, top + 4, 0);
  else if (lua_toboolean(L, top + 4))
    luaL_error(L, "bad argument #10 to 'run_score' (reason %d: rank must be a whole number "
                  "from 1, or false)", k);
  else vouch_json_add(L, b, "null", 4);
  if (lua_toboolean(L, top + 5)) {
    vouch_json_add(L, b, ",", 1);
    vouch_json_add_value(L, b, top + 5);
  }
  vouch_json_add(L, b, "]", 1);
  lua_settop(L, top);
}


/*
** The width of a stored cell as a table of the run shows it (cut to `cut`
** characters, unless 0): printable ASCII is as wide as its bytes (cut,
** cut - 1 of them and "…"), the rest is measured as SQL's cell_width and
** cell_cut do.
*/
static size_t rec_cell_width(const char *s, size_t len, size_t cut) {
  size_t i;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) break;
  if (i == len) return cut && len > cut ? cut : len;
  return cut ? vouch__cell_cut_width(s, len, cut) : vouch__cell_width(s, len, NULL);
}


/*
** db:run_score(run_id, id, name, kind, total, verdict, load_id, row, dims,
** reasons [, n]): store one partner's result in a run begun here and not
** yet ended. `dims`: the values of the run's dimensions in the scorecard's
** order (false where indeterminate); `reasons`: a flat list, five items a
** reason (code, outcome, points, rank, evidence; false for none), of which
** the first `n` are stored (all, by default). The record's JSON is written
** here, so whatever a script passes, what is stored reads back.
*/
static int db_run_score(lua_State *L) {
  vouch_db_t *d = check_open_run(L, 1);
  lua_Integer run = luaL_checkinteger(L, 2);
  w_batch *bt;
  vouch_json_buf *b;
  w_row h;
  size_t at, from;
  lua_Integer n, i;
  int k = run_owned(d, run), v;
  if (k < 0)
    return luaL_error(L, "'run_score': run %d was not begun by this process with "
                         "db:run_begin, or has ended", (int)run);
  lua_settop(L, 12);
  if (!lua_isstring(L, 3)) luaL_typeerror(L, 3, "string or number");
  lua_tolstring(L, 3, NULL);  /* an id is stored as text */
  if (!lua_isnil(L, 4)) luaL_checktype(L, 4, LUA_TSTRING);
  if (!lua_isnil(L, 5)) luaL_checktype(L, 5, LUA_TSTRING);
  if (!lua_isnil(L, 6)) luaL_checknumber(L, 6);
  memset(&h, 0, sizeof h);
  h.kind = W_SCORE;
  h.run = (int64_t)run;
  h.verdict = luaL_checkoption(L, 7, NULL, rec_verdicts);
  if (lua_isnil(L, 8)) h.nulls |= 1u << 5;
  else h.load = (int64_t)luaL_checkinteger(L, 8);
  if (lua_isnil(L, 9)) h.nulls |= 1u << 6;
  else h.row = (int64_t)luaL_checkinteger(L, 9);
  luaL_checktype(L, 10, LUA_TTABLE);
  luaL_checktype(L, 11, LUA_TTABLE);
  n = luaL_optinteger(L, 12, (lua_Integer)lua_rawlen(L, 11) / 5);
  luaL_argcheck(L, n >= 0 && n <= REC_REASONS_MAX, 12, "reasons out of range");
  for (i = 3; i <= 5; i++) vouch_redact_at(L, (int)i);  /* secrets stay out */
  if (lua_isinteger(L, 6)) h.total_type = SQLITE_INTEGER, h.total_i = (int64_t)lua_tointeger(L, 6);
  else if (!lua_isnil(L, 6)) h.total_type = SQLITE_FLOAT, h.total_f = lua_tonumber(L, 6);
  else h.total_type = SQLITE_NULL;
  if (d->rec_score == NULL) {
    w_sync(L, d);
    d->rec_score = rec_prepare(L, d, "INSERT INTO scores(run_id, partner_id, name, kind, total, "
                                     "verdict, dims, reasons, load_id, row) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  }
  bt = w_batch_for(L, d);
  b = &bt->b;
  at = b->n;
  vouch_json_add(L, b, (const char *)&h, sizeof h);  /* its place: filled in below */
  for (i = 3; i <= 5; i++) {  /* id, name, kind */
    size_t len = 0, w, *widest = &d->runs[k].cells[i - 3];
    const char *str = lua_isnil(L, (int)i) ? NULL : lua_tolstring(L, (int)i, &len);
    if (str == NULL) h.nulls |= 1u << (i - 3);
    else {
      vouch_json_add(L, b, str, len);
      w = rec_cell_width(str, len, i == 4 ? REC_NAME_CELL : 0);
      if (w > *widest) *widest = w;
    }
    h.len[i - 3] = (uint32_t)len;
  }
  from = b->n;  /* the dimensions, then the reasons */
  vouch_json_add(L, b, "[", 1);
  for (v = 1; v <= d->runs[k].ndims; v++) {
    int t = lua_rawgeti(L, 10, v);
    if (v > 1) vouch_json_add(L, b, ",", 1);
    if (t == LUA_TNUMBER) vouch_json_add_number(L, b, -1, REC_DIM_DIGITS);
    else if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)))
      vouch_json_add(L, b, "null", 4);
    else return luaL_error(L, "bad argument #9 to 'run_score' (dimension %d: number or false "
                              "expected, got %s)", v, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  if (lua_rawlen(L, 10) > (size_t)d->runs[k].ndims)
    return luaL_error(L, "bad argument #9 to 'run_score' (%d dimensions given, the run's "
                         "scorecard has %d)", (int)lua_rawlen(L, 10), d->runs[k].ndims);
  vouch_json_add(L, b, "]", 1);
  h.len[3] = (uint32_t)(b->n - from);
  from = b->n;
  vouch_json_add(L, b, "[", 1);
  for (i = 1; i <= n; i++) rec_reason(L, b, 11, (int)i);
  vouch_json_add(L, b, "]", 1);
  h.len[4] = (uint32_t)(b->n - from);
  if (b->n - at > (size_t)INT32_MAX) return luaL_error(L, "'run_score': the row is too long");
  w_row_done(L, d, bt, at, &h);
  return 0;
}


/*
** db:run_end(id, status [, partners [, error]]): close a run begun here as
** 'ok' or 'failed'; it takes no more rows after that. Returns the widths
** of the widest cells stored, as a table of the run shows them:
** {id =, name =, kind =} (a name cut to REC_NAME_CELL characters).
*/
static int db_run_end(lua_State *L) {
  static const char *const statuses[] = { "ok", "failed", NULL };
  vouch_db_t *d = check_open(L, 1);
  lua_Integer id = luaL_checkinteger(L, 2);
  int status = luaL_checkoption(L, 3, NULL, statuses);
  const char *err;
  int k = run_owned(d, id), rc;
  vouch_redact_at(L, 5);  /* no secret read through vouch.env is kept */
  err = luaL_optstring(L, 5, NULL);
  sqlite3_stmt *st;
  char now[32];
  const char *server = NULL;
  if (k < 0)
    return luaL_error(L, "'run_end': run %d was not begun by this process with db:run_begin, "
                         "or has ended", (int)id);
  if (!lua_isnoneornil(L, 4)) luaL_checkinteger(L, 4);
  vouch__store_now(now, sizeof now);
  st = rec_prepare(L, d, "UPDATE runs SET status = ?, ended_at = ?, partners = ?, error = ? "
                         "WHERE id = ? AND status = 'running'");
  sqlite3_bind_text(st, 1, statuses[status], -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
  if (!lua_isnoneornil(L, 4)) sqlite3_bind_int64(st, 3, luaL_checkinteger(L, 4));
  if (err) sqlite3_bind_text(st, 4, err, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, id);
  if ((rc = rec_step(d, st)) != SQLITE_DONE) return rec_fail(L, d, st, rc, 1);
  sqlite3_finalize(st);
  if (d->pg) {  /* sent to the server; on failure the run stays begun, to be ended failed */
    int sh = d->shard.run == id ? d->shard.shard : -1;
    d->auth.internal++;
    rc = vouch_pgrec_push(d->pg, d->db, id, sh, d->shard.holder, d->shard.claims, &server);
    d->auth.internal--;
    if (rc != VOUCH_RECORD_OK) return server_error(L, d, "run_end");
    if (sh >= 0) d->shard.run = 0;
    else if (!d->staged)  /* the copy holds the run as the server does */
      rec_exec(L, d, "INSERT OR IGNORE INTO copied(run_id) VALUES (?)", "i", (int64_t)id);
  }
  lua_createtable(L, 0, 4);
  if (server) {
    lua_pushstring(L, server);
    lua_setfield(L, -2, "server");
  }
  lua_pushinteger(L, (lua_Integer)d->runs[k].cells[0]);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, (lua_Integer)d->runs[k].cells[1]);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)d->runs[k].cells[2]);
  lua_setfield(L, -2, "kind");
  d->runs[k] = d->runs[--d->nruns];
  loads_drop(L, d, id);
  if (d->nruns == 0) {  /* no run left to write, nor to hold */
    w_stop(d);
    if (d->lease) uv_timer_stop(&d->lease->timer);
  }
  return 1;
}


/*
** On a server, the partners put here are sent there once the transaction
** they were put in commits (at once outside one): temp.partners_out lists
** them, in that transaction, so that a rollback forgets them too. Each
** takes the server's first_seen.
*/
static int partners_send(lua_State *L, vouch_db_t *d) {
  sqlite3_stmt *st;
  char first[32];
  int rc;
  if (d->pg == NULL || !d->partners_out || !sqlite3_get_autocommit(d->db)) return 0;
  /* made in a transaction rolled back: nothing to send */
  if (sqlite3_table_column_metadata(d->db, "temp", "partners_out", NULL, NULL, NULL, NULL, NULL,
                                    NULL) != SQLITE_OK) {
    d->partners_out = 0;
    return 0;
  }
  st = rec_prepare(L, d, "SELECT p.id, p.name, p.kind, p.attrs, p.last_seen FROM "
                         "temp.partners_out o JOIN partners p ON p.id = o.id");
  d->auth.internal++;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 0);
    if (vouch_pgrec_put_partner(d->pg, id, (const char *)sqlite3_column_text(st, 1),
                                (const char *)sqlite3_column_text(st, 2),
                                (const char *)sqlite3_column_text(st, 3),
                                (const char *)sqlite3_column_text(st, 4), first) != 0) {
      d->auth.internal--;
      sqlite3_finalize(st);
      return server_error(L, d, "put_partner");
    }
    lua_pushstring(L, id);  /* kept past the statement's reset */
    rec_exec(L, d, "UPDATE partners SET first_seen = ? WHERE id = ?", "ss", first,
             lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  d->auth.internal--;
  if (rc != SQLITE_DONE) return rec_fail(L, d, st, rc, 1);
  sqlite3_finalize(st);
  rec_exec(L, d, "DELETE FROM temp.partners_out", "");
  d->partners_out = 0;
  return 0;
}


/*
** db:put_partner{id =, name =, kind =, attrs = JSON text}: add a partner to
** `partners` or update it (first_seen kept, last_seen now). Partners are
** input to later runs (card:run{query = "partners"}), kept by the host; on
** a server, kept there (the copy takes them from it as it opens).
*/
static int db_put_partner(lua_State *L) {
  vouch_db_t *d = check_open(L, 1);
  const char *id, *name, *kind, *attrs;
  char now[32];
  sqlite3_stmt *st;
  int rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  id = rec_text(L, "id", NULL, 1000);
  name = lua_getfield(L, 2, "name") == LUA_TNIL ? NULL : rec_text(L, "name", NULL, 1000);
  kind = lua_getfield(L, 2, "kind") == LUA_TNIL ? NULL : rec_text(L, "kind", NULL, 200);
  attrs = rec_text(L, "attrs", "{}", 1 << 20);
  vouch__store_now(now, sizeof now);
  st = rec_prepare(L, d, "INSERT INTO partners(id, name, kind, attrs, first_seen, last_seen) "
                         "VALUES (?1, ?2, ?3, json(?4), ?5, ?5) ON CONFLICT(id) DO UPDATE SET "
                         "name = excluded.name, kind = excluded.kind, attrs = excluded.attrs, "
                         "last_seen = excluded.last_seen");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (name) sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
  if (kind) sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, attrs, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
  if ((rc = rec_step(d, st)) != SQLITE_DONE) return rec_fail(L, d, st, rc, 1);
  sqlite3_finalize(st);
  if (d->pg) {
    rec_exec(L, d, "CREATE TEMP TABLE IF NOT EXISTS partners_out(id TEXT PRIMARY KEY)", "");
    rec_exec(L, d, "INSERT OR IGNORE INTO temp.partners_out VALUES (?)", "s", id);
    d->partners_out = 1;
    partners_send(L, d);
  }
  return 0;
}

/* }====================================================== */


/* vouch.db.pid(): this process's id, for runs.pid (dead runs are aborted by it). */
static int db_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}


static const luaL_Reg db_methods[] = {
  {"exec", db_exec},
  {"queue", db_queue},
  {"one", db_one},
  {"rows", db_rows},
  {"print", db_print},
  {"insert", db_insert},
  {"tx", db_tx},
  {"changes", db_changes},
  {"last_id", db_last_id},
  {"run_begin", db_run_begin},
  {"run_renew", db_run_renew},
  {"refresh", db_refresh},
  {"run_score", db_run_score},
  {"run_load", db_run_load},
  {"run_input", db_run_input},
  {"run_load_end", db_run_load_end},
  {"run_end", db_run_end},
  {"put_partner", db_put_partner},
  {"close", db_close},
  {NULL, NULL}
};

static const luaL_Reg db_meta[] = {
  {"__gc", db_gc},
  {"__close", db_close},
  {"__tostring", db_tostring},
  {NULL, NULL}
};

static const luaL_Reg db_funcs[] = {
  {"open", db_open},
  {"blob", db_blob},
  {"pid", db_pid},
  {NULL, NULL}
};


int luaopen_vouch_db(lua_State *L) {
  luaL_newmetatable(L, VOUCH_DB_MT);
  luaL_setfuncs(L, db_meta, 0);
  luaL_newlib(L, db_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newmetatable(L, ROWS_MT);
  lua_newtable(L);  /* cursor:close(), for iterators driven by hand */
  lua_pushcfunction(L, rows_close);
  lua_setfield(L, -2, "close");
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, rows_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, rows_close);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, BLOB_MT);
  lua_pushcfunction(L, blob_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, blob_len);
  lua_setfield(L, -2, "__len");
  lua_pop(L, 1);
  luaL_newlib(L, db_funcs);
  lua_pushinteger(L, vouch__store_schema_version());
  lua_setfield(L, -2, "schema_version");
  return 1;
}


/*
** {======================================================
** The HTTP cache: the host's own statements, past the authorizer, so a
** script can read the cache but never forge an entry.
** =======================================================
*/

static sqlite3_stmt *cache_prepare(vouch_db_t *d, const char *sql) {
  sqlite3_stmt *st = NULL;
  if (d->db == NULL) return NULL;
  w_idle(d);
  d->auth.internal++;
  if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) st = NULL;
  d->auth.internal--;
  return st;
}


static int cache_step(vouch_db_t *d, sqlite3_stmt *st) {
  int rc;
  d->auth.internal++;
  rc = sqlite3_step(st);
  d->auth.internal--;
  return rc;
}


int vouch_db_cache_get(lua_State *L, vouch_db_t *d, const char *key, int full) {
  sqlite3_stmt *st = cache_prepare(d, full
      ? "UPDATE http_cache SET used_at = ?2, hits = hits + 1 WHERE key = ?1 "
        "RETURNING status, headers, body"
      : "SELECT etag, last_modified FROM http_cache WHERE key = ?1");
  char now[32];
  int rc, i;
  if (st == NULL) return -1;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (full) {
    vouch__store_now(now, sizeof now);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
  }
  rc = cache_step(d, st);
  if (rc != SQLITE_ROW) {
    if (full && rc == SQLITE_DONE) sqlite3_reset(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
  }
  if (!lua_checkstack(L, 4)) {
    sqlite3_finalize(st);
    return -1;
  }
  for (i = 0; i < (full ? 3 : 2); i++) {
    if (sqlite3_column_type(st, i) == SQLITE_NULL) lua_pushnil(L);
    else if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
      lua_pushinteger(L, (lua_Integer)sqlite3_column_int64(st, i));
    else {
      const void *p = sqlite3_column_blob(st, i);
      lua_pushlstring(L, p ? p : "", (size_t)sqlite3_column_bytes(st, i));
    }
  }
  if (full) cache_step(d, st);  /* to its end, so the update is done */
  sqlite3_finalize(st);
  return 1;
}


int vouch_db_cache_put(vouch_db_t *d, const char *key, const char *url, int status,
                       const char *etag, const char *last_modified, const char *headers,
                       size_t headers_len, const char *body, size_t body_len) {
  sqlite3_stmt *st = cache_prepare(d,
      "INSERT OR REPLACE INTO http_cache(key, url, status, etag, last_modified, headers, "
      "body, size, stored_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)");
  char now[32];
  int rc;
  if (st == NULL) return -1;
  vouch__store_now(now, sizeof now);
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, status);
  if (etag) sqlite3_bind_text(st, 4, etag, -1, SQLITE_STATIC);
  if (last_modified) sqlite3_bind_text(st, 5, last_modified, -1, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 6, headers, headers_len, SQLITE_STATIC);
  sqlite3_bind_blob64(st, 7, body, body_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, (sqlite3_int64)body_len);
  sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
  rc = cache_step(d, st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}


int vouch_db_cache_prune(vouch_db_t *d, int64_t older_than, int64_t *removed) {
  sqlite3_stmt *st = cache_prepare(d, older_than < 0
      ? "DELETE FROM http_cache"
      : "DELETE FROM http_cache WHERE used_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?1)");
  char mod[48];
  int rc;
  *removed = 0;
  if (st == NULL) return -1;
  if (older_than >= 0) {
    snprintf(mod, sizeof mod, "-%lld seconds", (long long)older_than);
    sqlite3_bind_text(st, 1, mod, -1, SQLITE_TRANSIENT);
  }
  rc = cache_step(d, st);
  if (rc == SQLITE_DONE) *removed = sqlite3_changes64(d->db);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* }====================================================== */
