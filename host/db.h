/*
** db.h: the narrow C interface to the database. SQLite stays behind it:
** db.c (the Lua API, vouch.db) and the loaders' bulk path (src:into) use
** only these calls, so another database could be put behind them later.
** Call them from the loop's thread only: connections are opened without
** SQLite's mutexes. A bulk insert borrows its database: keep the userdata
** referenced (on a Lua stack or in the registry) until vouch_db_bulk_end.
*/
#ifndef VOUCH_DB_H
#define VOUCH_DB_H

#include <stddef.h>
#include <stdint.h>

#include "vouch.h"

#define VOUCH_DB_MT "vouch.db"

/* A value crossing the interface; strings and blobs are borrowed. */
enum { VOUCH_NULL, VOUCH_INT, VOUCH_REAL, VOUCH_TEXT, VOUCH_BLOB };
typedef struct vouch_value {
  int type;                 /* VOUCH_NULL .. VOUCH_BLOB */
  union {
    int64_t i;
    double d;
    struct { const char *p; size_t n; } s;  /* TEXT and BLOB; not owned */
  } u;
} vouch_value_t;

typedef struct vouch_db vouch_db_t;      /* an open database (userdata "vouch.db") */
typedef struct vouch_bulk vouch_bulk_t;  /* a bulk insert in progress */

/* What a finished load records in the host's `loads` table. */
typedef struct vouch_load_info {
  const char *source;       /* path or URL */
  const char *format;       /* "csv", "json", "ndjson" */
  const char *hash;         /* hex digest of the content, or NULL */
  int64_t rows;             /* rows stored */
  int64_t bad_rows;         /* rows skipped as bad (opts.skip_bad) */
} vouch_load_info_t;

/* The vouch.db library: vouch.db.open, vouch.db.blob. */
int luaopen_vouch_db(lua_State *L);

/* The vouch.db userdata at `idx`, or raise "vouch.db expected". */
vouch_db_t *vouch_db_check(lua_State *L, int idx);
void vouch_db_close_default(lua_State *L);

/* The host's default database (--db, $VOUCH_DB, ./vouch.db), opened and
** migrated on first use; raises on failure. */
vouch_db_t *vouch_db_default(lua_State *L);

/*
** Bulk insert: begin a transaction (a savepoint inside an open one), create
** `table` if it does not exist with the given columns, and prepare one insert.
** vouch_db_bulk_row adds a row of `ncols` values. vouch_db_bulk_end commits
** and records the load when `commit` is true (info may be NULL: no record),
** and otherwise rolls back so that nothing of the load remains. On error each
** returns NULL or -1 and sets *err to a malloc'd message; after an error the
** caller still calls vouch_db_bulk_end(b, 0, ...) to release everything.
*/
vouch_bulk_t *vouch_db_bulk_begin(vouch_db_t *db, const void *task, const char *table,
                                  int ncols, const char *const *cols, char **err);
/*
** A connection writes for one task at a time (its savepoints are one stack).
** `task` (vouch_task_current, or NULL) owns the bulk insert. Before
** beginning, a loader asks vouch_db_bulk_busy: when another task's load or
** db:tx is open, vouch_db_bulk_wait makes the running task wait (an
** operation; the caller returns lua_yieldk) until it ends, then it asks again.
*/
int vouch_db_bulk_busy(lua_State *L, vouch_db_t *db);
void vouch_db_bulk_wait(lua_State *L, vouch_db_t *db);
int vouch_db_bulk_row(vouch_bulk_t *b, const vouch_value_t *vals, char **err);
int vouch_db_bulk_end(vouch_bulk_t *b, int commit, const vouch_load_info_t *info,
                      char **err);

/*
** The HTTP cache (table http_cache), written only through these calls.
** vouch_db_cache_get pushes the stored entry under `key`: with `full` 0
** its ETag and Last-Modified (each a string or nil), with `full` 1 its
** status, header lines and body, counting the use. Returns 1 when found,
** 0 when not (nothing pushed), -1 on an SQLite error (nothing pushed).
** vouch_db_cache_put stores or replaces an entry; vouch_db_cache_prune
** removes those unused for `older_than` seconds (all when < 0). Both
** return 0, or -1 on an SQLite error.
*/
int vouch_db_cache_get(lua_State *L, vouch_db_t *db, const char *key, int full);
int vouch_db_cache_put(vouch_db_t *db, const char *key, const char *url, int status,
                       const char *etag, const char *last_modified, const char *headers,
                       size_t headers_len, const char *body, size_t body_len);
int vouch_db_cache_prune(vouch_db_t *db, int64_t older_than, int64_t *removed);

#endif
