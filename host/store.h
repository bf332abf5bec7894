/*
** store.h: SQLite below db.c. Opening a connection the way vouch wants it
** (WAL, foreign keys, busy timeout), the host's schema and its numbered
** migrations, the sandbox's authorizer, and the names of SQLite's result
** codes. Private to db.c and store.c: the rest of the host uses db.h.
*/
#ifndef VOUCH_STORE_H
#define VOUCH_STORE_H

#include <sqlite3.h>

#include "vouch.h"

#define VOUCH_BUSY_TIMEOUT 5000     /* ms a writer waits for another's lock */

/* How vouch__store_open opens a database. */
enum {
  VOUCH_STORE_READONLY = 1,         /* open read-only; never create */
  VOUCH_STORE_HOST = 2,             /* the host's database: migrate, mark dead runs */
  VOUCH_STORE_SANDBOX = 4,          /* untrusted: install the authorizer */
  VOUCH_STORE_NOFOLLOW = 8          /* refuse a symlink as the file (checked path) */
};

/* The authorizer's state, owned by the connection's vouch_db_t. */
typedef struct vouch_auth {
  int internal;             /* > 0 while the host prepares its own SQL: allow all */
  int record;               /* the database holds the host's schema: its tables
                               change only through the host's own statements */
  char deny[200];           /* why the last statement was refused, or "" */
} vouch_auth_t;

/* Whether `name` is a table of the host's schema (or SQLite's statistics of it). */
int vouch__store_host_table(const char *name);

/*
** Open `path` (":memory:" works) with `flags`, configured and, for the host
** database, migrated to the newest schema. Returns SQLITE_OK and the
** connection in *out, or an SQLite code with a malloc'd message in *err
** (the file is then left as it was found). `auth` must outlive the
** connection when VOUCH_STORE_SANDBOX is given. `h` (may be NULL) is the
** host whose limits the progress handler obeys.
*/
int vouch__store_open(const char *path, int flags, vouch_host_t *h, vouch_auth_t *auth,
                      sqlite3 **out, char **err);

/* The newest schema version this vouch knows (the number of migrations). */
int vouch__store_schema_version(void);

/*
** Mark runs left 'running' by processes that no longer exist as 'aborted'.
** Returns the number of runs marked, or -1 on error (message in *err).
*/
int vouch__store_abort_dead_runs(sqlite3 *db, char **err);

/* The symbolic name of an (extended) result code: "SQLITE_CONSTRAINT_UNIQUE". */
const char *vouch__store_code_name(int code);

/* The current UTC time as YYYY-MM-DDTHH:MM:SSZ into buf (at least 21 bytes). */
void vouch__store_now(char *buf, size_t n);

/* Disable or re-enable the progress handler (around the host's rollbacks). */
void vouch__store_progress(sqlite3 *db, vouch_host_t *h, int on);

/*
** Table cells as the command line shows them (vouch.scorecard.cli's cell
** and width): control characters escaped (\\n, \\r, \\t, else \\ddd) so that
** no value breaks a line, and a cell as wide as the UTF-8 characters of
** that text, or as its bytes where it is not UTF-8.
** vouch__cell_width is the width of the cell of s (len bytes); *plain
** (when not NULL) is set to 1 where s needs no escape. vouch__cell_escape
** writes the cell's text to out, which has room for 4 * len bytes, and
** returns its length. vouch__cell_cut_width is the width of the cell of s
** cut to at most n characters, as SQL's cell_cut(s, n) cuts it.
*/
size_t vouch__cell_width(const char *s, size_t len, int *plain);
size_t vouch__cell_escape(char *out, const char *s, size_t len);
size_t vouch__cell_cut_width(const char *s, size_t len, size_t n);

#endif
