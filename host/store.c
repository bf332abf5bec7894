/*
** store.c: SQLite below the Lua API. Opens connections configured the way
** vouch needs them (WAL so a daemon and a REPL can share a file, foreign
** keys, a busy timeout), creates and upgrades the host's schema through
** numbered migrations, marks runs whose process died as aborted, and keeps
** untrusted SQL away from files (the authorizer).
*/
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "store.h"

#define PROGRESS_OPS 1000   /* VM instructions between checks of the limits */


/*
** {======================================================
** The schema: migration N brings user_version from N-1 to N. Append new
** migrations at the end; never edit one that has shipped.
** =======================================================
*/

static const char *const migrations[] = {
  /* 1: partners, loads, runs, scores and reasons */
  "CREATE TABLE partners(id TEXT PRIMARY KEY, name TEXT, kind TEXT,\n"
  "  attrs TEXT NOT NULL DEFAULT '{}',\n"
  "  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);\n"
  "CREATE TABLE loads(id INTEGER PRIMARY KEY, source TEXT NOT NULL,\n"
  "  format TEXT NOT NULL, hash TEXT, rows INTEGER NOT NULL DEFAULT 0,\n"
  "  bad_rows INTEGER NOT NULL DEFAULT 0, target TEXT, loaded_at TEXT NOT NULL);\n"
  "CREATE TABLE runs(id INTEGER PRIMARY KEY, scorecard TEXT NOT NULL,\n"
  "  scorecard_hash TEXT NOT NULL, inputs TEXT NOT NULL DEFAULT '[]',\n"
  "  started_at TEXT NOT NULL, ended_at TEXT,\n"
  "  status TEXT NOT NULL DEFAULT 'running'\n"
  "    CHECK (status IN ('running','ok','failed','aborted')),\n"
  "  started_by TEXT NOT NULL DEFAULT 'cli',\n"
  "  pid INTEGER, partners INTEGER, error TEXT);\n"
  "CREATE TABLE scores(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  partner_id TEXT NOT NULL, name TEXT, kind TEXT, total REAL,\n"
  "  verdict TEXT NOT NULL CHECK (verdict IN ('approve','review','reject')),\n"
  "  trust REAL, goodwill REAL, authority REAL, community REAL, empathy REAL,\n"
  "  shared_values REAL, respect REAL, collaboration REAL,\n"
  "  PRIMARY KEY (run_id, partner_id)) WITHOUT ROWID;\n"
  "CREATE INDEX scores_partner ON scores(partner_id, run_id);\n"
  "CREATE TABLE reasons(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  partner_id TEXT NOT NULL, code TEXT NOT NULL, dimension TEXT,\n"
  "  outcome TEXT NOT NULL,\n"
  "  points REAL,\n"
  "  rank INTEGER,\n"
  "  evidence TEXT NOT NULL DEFAULT '{}');\n"
  "CREATE INDEX reasons_run ON reasons(run_id, partner_id);\n"
  "CREATE INDEX reasons_code ON reasons(code);\n",
  /* 2: schedules, their runs, and early re-runs asked for by scripts */
  "CREATE TABLE schedules(name TEXT PRIMARY KEY, expr TEXT NOT NULL,\n"
  "  tz TEXT NOT NULL DEFAULT 'UTC', script TEXT NOT NULL,\n"
  "  args TEXT NOT NULL DEFAULT '[]',\n"
  "  missed TEXT NOT NULL DEFAULT 'skip' CHECK (missed IN ('skip','once','each')),\n"
  "  missed_cap INTEGER NOT NULL DEFAULT 10,\n"
  "  overlap TEXT NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip','queue','replace')),\n"
  "  jitter INTEGER NOT NULL DEFAULT 0,\n"
  "  paused INTEGER NOT NULL DEFAULT 0,\n"
  "  alerts TEXT NOT NULL DEFAULT '[]',\n"
  "  threshold REAL NOT NULL DEFAULT 10,\n"
  "  dir TEXT,\n"
  "  created_at TEXT NOT NULL, last_run TEXT, next_run TEXT);\n"
  "CREATE TABLE schedule_runs(id INTEGER PRIMARY KEY,\n"
  "  schedule TEXT NOT NULL, scheduled_for TEXT,\n"
  "  trigger TEXT NOT NULL DEFAULT 'time',\n"
  "  status TEXT NOT NULL CHECK (status IN ('running','ok','failed','limit',\n"
  "    'crashed','aborted','replaced','skipped')),\n"
  "  started_at TEXT NOT NULL, ended_at TEXT, duration REAL, exit_code INTEGER,\n"
  "  error TEXT, output TEXT, pid INTEGER, run_id INTEGER, alert TEXT);\n"
  "CREATE INDEX schedule_runs_schedule ON schedule_runs(schedule, id);\n"
  "CREATE TABLE schedule_triggers(id INTEGER PRIMARY KEY,\n"
  "  schedule TEXT NOT NULL, partner_id TEXT, reason TEXT,\n"
  "  created_at TEXT NOT NULL, fired_at TEXT);\n",
  /* 3: what a schedule's runs may do, recorded when it is added (JSON: read,
     write, net, memory, timeout, trusted). Older schedules keep reading the
     directory they were added from and nothing else; a row without grants
     is not run. */
  "ALTER TABLE schedules ADD COLUMN grants TEXT;\n"
  "UPDATE schedules SET grants = json_object('read', json_array(dir)) WHERE dir LIKE '/%';\n",
  /* 4: the record made generic and compact. A run names its scorecard by
     hash (stored once, with its dimensions and source), the loads it read
     (run_loads) and, for each partner, its input row (inputs: stored once
     per load, however many runs read it), its total, verdict, dimension
     values (a JSON array in the scorecard's order) and its principal
     reasons and raised flags (a JSON array of [code, dimension, outcome,
     points, rank]). Every other outcome is recomputed by replaying the
     scorecard on the input. Runs from before keep their rows in `reasons`. */
  "CREATE TABLE scorecards(hash TEXT PRIMARY KEY, name TEXT NOT NULL,\n"
  "  dimensions TEXT NOT NULL DEFAULT '[]', weights TEXT NOT NULL DEFAULT '[]',\n"
  "  source TEXT) WITHOUT ROWID;\n"
  "INSERT OR IGNORE INTO scorecards(hash, name, dimensions, weights)\n"
  "  SELECT scorecard_hash, scorecard, '[\"trust\",\"goodwill\",\"authority\",\"community\","
  "\"empathy\",\"shared_values\",\"respect\",\"collaboration\"]', '[]' FROM runs;\n"
  "ALTER TABLE loads ADD COLUMN size INTEGER;\n"
  "ALTER TABLE loads ADD COLUMN columns TEXT;\n"
  "CREATE INDEX loads_hash ON loads(hash);\n"
  "CREATE TABLE run_loads(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  load_id INTEGER NOT NULL REFERENCES loads(id), PRIMARY KEY (run_id, load_id))\n"
  "  WITHOUT ROWID;\n"
  "CREATE TABLE inputs(load_id INTEGER NOT NULL REFERENCES loads(id) ON DELETE CASCADE,\n"
  "  row INTEGER NOT NULL, vals TEXT NOT NULL, PRIMARY KEY (load_id, row)) WITHOUT ROWID;\n"
  "CREATE TABLE scores_4(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  partner_id TEXT NOT NULL, name TEXT, kind TEXT, total REAL,\n"
  "  verdict TEXT NOT NULL CHECK (verdict IN ('approve','review','reject')),\n"
  "  dims TEXT NOT NULL DEFAULT '[]', reasons TEXT NOT NULL DEFAULT '[]',\n"
  "  load_id INTEGER, row INTEGER,\n"
  "  PRIMARY KEY (run_id, partner_id)) WITHOUT ROWID;\n"
  "INSERT INTO scores_4 SELECT s.run_id, s.partner_id, s.name, s.kind, s.total, s.verdict,\n"
  "  json_array(s.trust, s.goodwill, s.authority, s.community, s.empathy, s.shared_values,\n"
  "    s.respect, s.collaboration),\n"
  "  coalesce((SELECT json_group_array(json_array(code, dimension, outcome, points, rank))\n"
  "    FROM (SELECT code, dimension, outcome, points, rank FROM reasons r\n"
  "          WHERE r.run_id = s.run_id AND r.partner_id = s.partner_id AND\n"
  "            (rank IS NOT NULL OR outcome IN ('veto','review','penalty','cap'))\n"
  "          ORDER BY rank IS NULL, rank, rowid)), '[]'),\n"
  "  NULL, NULL FROM scores s;\n"
  "DROP TABLE scores;\n"
  "ALTER TABLE scores_4 RENAME TO scores;\n"
  "CREATE INDEX scores_partner ON scores(partner_id, run_id);\n",
  /* 5: vouch.http's cache of responses with validators (cache = true), by
     a hash of method, URL and request headers; the URL kept without the
     secrets read through vouch.env. Written only by the host. */
  "CREATE TABLE http_cache(key TEXT PRIMARY KEY, url TEXT NOT NULL,\n"
  "  status INTEGER NOT NULL, etag TEXT, last_modified TEXT,\n"
  "  headers BLOB NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL,\n"
  "  stored_at TEXT NOT NULL, used_at TEXT NOT NULL,\n"
  "  hits INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;\n"
  "CREATE INDEX http_cache_used ON http_cache(used_at);\n",
  /* 6: a stored reason no longer repeats its rule's dimension: it is
     [code, outcome, points, rank(, evidence)], and each scorecard keeps the
     dimension of each of its rules once (`rules`: {code: dimension}). */
  "ALTER TABLE scorecards ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';\n"
  "UPDATE scorecards SET rules = coalesce((SELECT json_group_object(code, dim) FROM\n"
  "  (SELECT j.value->>0 AS code, max(j.value->>1) AS dim FROM runs r\n"
  "     JOIN scores s ON s.run_id = r.id AND json_valid(s.reasons), json_each(s.reasons) j\n"
  "   WHERE r.scorecard_hash = scorecards.hash AND j.type = 'array' AND\n"
  "     j.value->>0 IS NOT NULL AND j.value->>1 IS NOT NULL\n"
  "   GROUP BY 1)), '{}');\n"
  /* scores is made again for that, its verdict checked without an IN list
     (which SQLite 3.40 checks through a temporary table built for each
     INSERT: a fifth of the cost of storing a partner) */
  "CREATE TABLE scores_6(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  partner_id TEXT NOT NULL, name TEXT, kind TEXT, total REAL,\n"
  "  verdict TEXT NOT NULL\n"
  "    CHECK (verdict = 'approve' OR verdict = 'review' OR verdict = 'reject'),\n"
  "  dims TEXT NOT NULL DEFAULT '[]', reasons TEXT NOT NULL DEFAULT '[]',\n"
  "  load_id INTEGER, row INTEGER,\n"
  "  PRIMARY KEY (run_id, partner_id)) WITHOUT ROWID;\n"
  "INSERT INTO scores_6 SELECT run_id, partner_id, name, kind, total, verdict, dims,\n"
  "  CASE WHEN reasons = '[]' OR NOT json_valid(reasons) OR json_type(reasons) <> 'array'\n"
  "    THEN reasons\n"  /* what a script stored by hand, as it was */
  "    ELSE (SELECT json_group_array(CASE j.type WHEN 'array' THEN json_remove(j.value, '$[1]')\n"
  "                                   ELSE j.value END)\n"
  "          FROM json_each(scores.reasons) j) END, load_id, row FROM scores;\n"
  "DROP TABLE scores;\n"
  "ALTER TABLE scores_6 RENAME TO scores;\n"
  "CREATE INDEX scores_partner ON scores(partner_id, run_id);\n",
  /* 7: a schedule's retention: the last `keep` of its runs, or those of the
     last `keep_days` days (0: no limit of that kind); vouch prune applies it. */
  "ALTER TABLE schedules ADD COLUMN keep INTEGER NOT NULL DEFAULT 0;\n"
  "ALTER TABLE schedules ADD COLUMN keep_days REAL NOT NULL DEFAULT 0;\n",
  /* 8: a scorecard's hash is vouch.hash of its source (XXH3-64), no longer
     FNV-1a. Each scorecard whose source is stored is keyed again by the new
     hash of that source, and its runs follow it, so that a new run of the
     same source is a run of the same scorecard. A scorecard stored without
     its source keeps its FNV-1a hash, and so do its runs: there is nothing
     to hash again (a new run of it gets a row of its own). */
  "UPDATE runs SET scorecard_hash = (SELECT vouch_hash(c.source) FROM scorecards c\n"
  "    WHERE c.hash = runs.scorecard_hash)\n"
  "  WHERE scorecard_hash IN (SELECT hash FROM scorecards WHERE source IS NOT NULL);\n"
  "UPDATE scorecards SET hash = vouch_hash(source) WHERE source IS NOT NULL;\n",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int vouch__store_schema_version(void) { return NMIGRATIONS; }

/* }====================================================== */


/*
** {======================================================
** Result codes by name
** =======================================================
*/

#define CODE(x) {x, #x}
static const struct { int code; const char *name; } code_names[] = {
  CODE(SQLITE_OK), CODE(SQLITE_ERROR), CODE(SQLITE_INTERNAL), CODE(SQLITE_PERM),
  CODE(SQLITE_ABORT), CODE(SQLITE_BUSY), CODE(SQLITE_LOCKED), CODE(SQLITE_NOMEM),
  CODE(SQLITE_READONLY), CODE(SQLITE_INTERRUPT), CODE(SQLITE_IOERR),
  CODE(SQLITE_CORRUPT), CODE(SQLITE_NOTFOUND), CODE(SQLITE_FULL),
  CODE(SQLITE_CANTOPEN), CODE(SQLITE_PROTOCOL), CODE(SQLITE_EMPTY),
  CODE(SQLITE_SCHEMA), CODE(SQLITE_TOOBIG), CODE(SQLITE_CONSTRAINT),
  CODE(SQLITE_MISMATCH), CODE(SQLITE_MISUSE), CODE(SQLITE_NOLFS), CODE(SQLITE_AUTH),
  CODE(SQLITE_FORMAT), CODE(SQLITE_RANGE), CODE(SQLITE_NOTADB), CODE(SQLITE_NOTICE),
  CODE(SQLITE_WARNING), CODE(SQLITE_ROW), CODE(SQLITE_DONE),
  CODE(SQLITE_ERROR_MISSING_COLLSEQ), CODE(SQLITE_ERROR_RETRY),
  CODE(SQLITE_ERROR_SNAPSHOT), CODE(SQLITE_IOERR_READ), CODE(SQLITE_IOERR_SHORT_READ),
  CODE(SQLITE_IOERR_WRITE), CODE(SQLITE_IOERR_FSYNC), CODE(SQLITE_IOERR_TRUNCATE),
  CODE(SQLITE_IOERR_NOMEM), CODE(SQLITE_IOERR_LOCK), CODE(SQLITE_IOERR_SHMOPEN),
  CODE(SQLITE_IOERR_CORRUPTFS), CODE(SQLITE_LOCKED_SHAREDCACHE),
  CODE(SQLITE_BUSY_RECOVERY), CODE(SQLITE_BUSY_SNAPSHOT), CODE(SQLITE_BUSY_TIMEOUT),
  CODE(SQLITE_CANTOPEN_ISDIR), CODE(SQLITE_CANTOPEN_FULLPATH),
  CODE(SQLITE_CANTOPEN_DIRTYWAL), CODE(SQLITE_CANTOPEN_SYMLINK),
  CODE(SQLITE_CORRUPT_INDEX), CODE(SQLITE_READONLY_RECOVERY),
  CODE(SQLITE_READONLY_CANTLOCK), CODE(SQLITE_READONLY_ROLLBACK),
  CODE(SQLITE_READONLY_DBMOVED), CODE(SQLITE_READONLY_CANTINIT),
  CODE(SQLITE_READONLY_DIRECTORY), CODE(SQLITE_ABORT_ROLLBACK),
  CODE(SQLITE_CONSTRAINT_CHECK), CODE(SQLITE_CONSTRAINT_COMMITHOOK),
  CODE(SQLITE_CONSTRAINT_FOREIGNKEY), CODE(SQLITE_CONSTRAINT_FUNCTION),
  CODE(SQLITE_CONSTRAINT_NOTNULL), CODE(SQLITE_CONSTRAINT_PRIMARYKEY),
  CODE(SQLITE_CONSTRAINT_TRIGGER), CODE(SQLITE_CONSTRAINT_UNIQUE),
  CODE(SQLITE_CONSTRAINT_VTAB), CODE(SQLITE_CONSTRAINT_ROWID),
  CODE(SQLITE_CONSTRAINT_DATATYPE), CODE(SQLITE_AUTH_USER),
};
#undef CODE


/* An extended code this table does not know falls back to its primary code. */
const char *vouch__store_code_name(int code) {
  size_t i;
  for (i = 0; i < sizeof code_names / sizeof code_names[0]; i++)
    if (code_names[i].code == code) return code_names[i].name;
  if ((code & 0xff) != code) return vouch__store_code_name(code & 0xff);
  return "SQLITE_UNKNOWN";
}

/* }====================================================== */


void vouch__store_now(char *buf, size_t n) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* A malloc'd printf, for *err. */
static char *fmt(const char *f, ...) {
  va_list ap;
  char *s = NULL;
  int n;
  va_start(ap, f);
  n = vsnprintf(NULL, 0, f, ap);
  va_end(ap);
  if (n < 0 || (s = malloc((size_t)n + 1)) == NULL) return NULL;
  va_start(ap, f);
  vsnprintf(s, (size_t)n + 1, f, ap);
  va_end(ap);
  return s;
}


/*
** {======================================================
** Limits: a long query obeys --timeout and Ctrl-C like Lua code does.
** =======================================================
*/

static int progress(void *ud) {
  vouch_host_t *h = ud;
  if (h->limit_hit == VOUCH_LIMIT_INTERRUPT) {
    /* Ctrl-C: this query ends with SQLite's "interrupted" and that is the
       one error the interrupt makes; the hook then finds nothing to do. */
    h->limit_hit = VOUCH_LIMIT_NONE;
    return 1;
  }
  if (h->limit_hit != VOUCH_LIMIT_NONE) return 1;
  if (h->deadline && uv_hrtime() > h->deadline) {
    vouch_limits_trip(h, VOUCH_LIMIT_TIME);
    return 1;
  }
  return 0;
}


void vouch__store_progress(sqlite3 *db, vouch_host_t *h, int on) {
  if (h == NULL) return;
  sqlite3_progress_handler(db, on ? PROGRESS_OPS : 0, on ? progress : NULL, h);
}

/* }====================================================== */


/*
** {======================================================
** The authorizer: untrusted SQL may read and write the open database, but
** never reach another file by name (ATTACH, VACUUM INTO), load code
** (load_extension, fts3_tokenizer) or change how the file is kept (most
** PRAGMAs). VACUUM attaches its scratch copy internally, so it is refused too.
**
** A database that holds the host's schema (the host's own, or any other
** vouch database a script can name) is the host's record, read back later
** by the daemon, `vouch vet` and the reports: untrusted SQL may read it and
** keep tables of its own there, but may not change a row, index or column
** of the host's tables, create a trigger (a trigger outlives the script and
** runs inside the host's later writes), or shadow a host table with a
** temporary one. Those tables change only through the host's statements
** (auth->internal), which db.c prepares for the run record, the loads and
** the schedules.
** =======================================================
*/

/* The host's schema: every table its migrations create. */
static const char *const host_tables[] = {
  "partners", "loads", "runs", "scores", "reasons", "schedules", "schedule_runs",
  "schedule_triggers", "scorecards", "inputs", "run_loads", "scores_4", "http_cache", "scores_6",
  "copied",  /* a copy of a record on a server: the runs whose scores it holds */
  NULL
};

/* PRAGMAs that only report, with or without an argument. */
static const char *const pragma_query[] = {
  "table_info", "table_xinfo", "table_list", "index_list", "index_info",
  "index_xinfo", "foreign_key_list", "foreign_key_check", "integrity_check",
  "quick_check", "database_list", "collation_list", "function_list",
  "module_list", "pragma_list", "compile_options", "data_version", "stats",
  NULL
};

/* PRAGMAs that may be read but not set. */
static const char *const pragma_read[] = {
  "user_version", "schema_version", "application_id", "page_count", "page_size",
  "max_page_count", "freelist_count", "encoding", "journal_mode", "foreign_keys",
  "synchronous", "auto_vacuum", "locking_mode", "wal_autocheckpoint", "temp_store",
  "mmap_size", "secure_delete", "cell_size_check", "automatic_index",
  "legacy_alter_table", "reverse_unordered_selects", "ignore_check_constraints",
  NULL
};

/* PRAGMAs that may also be set: they change only this connection's manners. */
static const char *const pragma_set[] = {
  "busy_timeout", "cache_size", "defer_foreign_keys", "query_only",
  "recursive_triggers", "case_sensitive_like", "optimize", "analysis_limit",
  "cache_spill", "shrink_memory", "threads", "soft_heap_limit", NULL
};

static int in_list(const char *const *l, const char *s) {
  for (; *l; l++)
    if (strcasecmp(*l, s) == 0) return 1;
  return 0;
}


int vouch__store_host_table(const char *name) {
  /* sqlite_schema itself changes only through CREATE and DROP, checked below
     (and DEFENSIVE refuses writing it directly); the statistics that steer
     the host's query plans and AUTOINCREMENT's counters are the host's. */
  return name != NULL && (in_list(host_tables, name) || strcasecmp(name, "sqlite_sequence") == 0 ||
                          strncasecmp(name, "sqlite_stat", 11) == 0);
}


/* Refuse a change to the host's table `t`, saying how it is changed instead. */
static int deny_host(vouch_auth_t *auth, const char *what, const char *t) {
  snprintf(auth->deny, sizeof auth->deny,
           "%s '%s' is not allowed in the sandbox: it is a table of the host's record "
           "(scripts read it; card:run and vouch.schedule write it)", what, t ? t : "?");
  return SQLITE_DENY;
}


/* The record's part of the authorizer; SQLITE_OK lets the generic checks go on. */
static int authorize_record(vouch_auth_t *auth, int action, const char *a, const char *b) {
  switch (action) {
    case SQLITE_INSERT: return vouch__store_host_table(a) ? deny_host(auth, "INSERT into", a) : SQLITE_OK;
    case SQLITE_UPDATE: return vouch__store_host_table(a) ? deny_host(auth, "UPDATE of", a) : SQLITE_OK;
    case SQLITE_DELETE: return vouch__store_host_table(a) ? deny_host(auth, "DELETE from", a) : SQLITE_OK;
    case SQLITE_ALTER_TABLE:
      return vouch__store_host_table(b) ? deny_host(auth, "ALTER TABLE", b) : SQLITE_OK;
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX:
      return vouch__store_host_table(b) ? deny_host(auth, "an index on", b) : SQLITE_OK;
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW: case SQLITE_DROP_VTABLE:
      return vouch__store_host_table(a) ? deny_host(auth, "a table or view named", a) : SQLITE_OK;
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER:
      snprintf(auth->deny, sizeof auth->deny,
               "triggers are not allowed in the sandbox on a database that holds the "
               "host's record (keep yours in a database of your own: vouch.db.open(path))");
      return SQLITE_DENY;
    default:
      return SQLITE_OK;
  }
}


static int authorize(void *ud, int action, const char *a, const char *b,
                     const char *dbname, const char *trigger) {
  vouch_auth_t *auth = ud;
  (void)dbname; (void)trigger;
  if (auth->internal > 0) return SQLITE_OK;
  if (auth->record && authorize_record(auth, action, a, b) != SQLITE_OK) return SQLITE_DENY;
  switch (action) {
    case SQLITE_ATTACH:
      /* VACUUM attaches '' (a literal); ATTACH of an expression passes NULL. */
      if (a != NULL && *a == '\0')
        snprintf(auth->deny, sizeof auth->deny, "VACUUM is not allowed in the sandbox");
      else
        snprintf(auth->deny, sizeof auth->deny,
                 "ATTACH and VACUUM INTO are not allowed in the sandbox "
                 "(open the database with vouch.db.open)");
      return SQLITE_DENY;
    case SQLITE_DETACH:
      snprintf(auth->deny, sizeof auth->deny, "DETACH is not allowed in the sandbox");
      return SQLITE_DENY;
    case SQLITE_FUNCTION:
      if (b && (strcasecmp(b, "load_extension") == 0 || strcasecmp(b, "fts3_tokenizer") == 0)) {
        snprintf(auth->deny, sizeof auth->deny, "%s() is not allowed in the sandbox", b);
        return SQLITE_DENY;
      }
      return SQLITE_OK;
    case SQLITE_PRAGMA:
      if (a && (in_list(pragma_query, a) || in_list(pragma_set, a) ||
                (b == NULL && in_list(pragma_read, a))))
        return SQLITE_OK;
      snprintf(auth->deny, sizeof auth->deny, "PRAGMA %s%s is not allowed in the sandbox",
               a ? a : "?", b ? " with a value" : "");
      return SQLITE_DENY;
    default:
      return SQLITE_OK;
  }
}

/* }====================================================== */


/*
** {======================================================
** Migrations
** =======================================================
*/

static int exec(sqlite3 *db, const char *sql, char **err) {
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    *err = fmt("%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
  }
  return rc;
}


/* The first column of the first row of `sql` as an integer (0 if none). */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out, char **err) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  *out = 0;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    rc = sqlite3_finalize(st);
  }
  if (rc != SQLITE_OK) *err = fmt("%s", sqlite3_errmsg(db));
  return rc;
}


/*
** Check, before anything is written, that the file is a vouch database this
** version understands: either new and empty, or of a schema version no newer
** than ours. A refused file is never touched.
*/
static int check_version(sqlite3 *db, const char *path, char **err) {
  sqlite3_int64 v, tables = 0;
  /* both in one read: another process's first migration commits before
     it or after it, never between */
  int rc = exec(db, "BEGIN", err);
  if (rc == SQLITE_OK) rc = query_int(db, "PRAGMA user_version", &v, err);
  if (rc == SQLITE_OK) rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &tables, err);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    char *m = *err;
    *err = fmt("%s: %s", path, m);
    free(m);
    return rc;
  }
  if (v > NMIGRATIONS) {
    *err = fmt("%s: the database was written by a newer vouch (schema version %lld; "
               "this vouch knows up to %d); refusing to use it", path, (long long)v,
               NMIGRATIONS);
    return SQLITE_ERROR;
  }
  if (v == 0) {
    if (tables > 0) {
      *err = fmt("%s: not a vouch database (it has tables but no vouch schema "
                 "version); open it with vouch.db.open(path) instead", path);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}


/*
** A trigger on one of the host's tables was not made by vouch (its schema
** has none): it would run inside the host's own writes, falsify the record
** or make it fail, so the database is refused until it is dropped.
*/
static int check_triggers(sqlite3 *db, const char *path, char **err) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT name, tbl_name FROM sqlite_schema "
                                  "WHERE type = 'trigger' ORDER BY name", -1, &st, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *table = (const char *)sqlite3_column_text(st, 1);
    rc = SQLITE_OK;
    if (!vouch__store_host_table(table)) continue;
    *err = fmt("%s: trigger '%s' on the host's table '%s' was not made by vouch and would "
               "run inside its writes; refusing the database (remove it with: sqlite3 %s "
               "'DROP TRIGGER \"%s\"')", path, name ? name : "?", table, path, name ? name : "?");
    sqlite3_finalize(st);
    return SQLITE_ERROR;
  }
  if (rc != SQLITE_DONE) *err = fmt("%s: %s", path, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* Whether an opened database holds the host's schema (a vouch database). */
static int has_host_schema(sqlite3 *db) {
  sqlite3_int64 v = 0;
  char *err = NULL;
  if (query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                    "('runs', 'scores', 'schedules')", &v, &err) != SQLITE_OK) {
    free(err);
    return 1;  /* unreadable now: assume the worst */
  }
  return v > 0;
}


/*
** Bring the schema up to date, one migration per transaction. Each step
** re-reads the version inside its write transaction, so two processes
** opening a new file at once do not both run a migration.
*/
static int migrate(sqlite3 *db, const char *path, char **err) {
  sqlite3_int64 current;
  if (query_int(db, "PRAGMA user_version", &current, err) == SQLITE_OK &&
      current >= NMIGRATIONS)
    return SQLITE_OK;  /* up to date: no write lock needed */
  free(*err);
  *err = NULL;
  for (;;) {
    sqlite3_int64 v = 0;
    char sql[64];
    int rc = exec(db, "BEGIN IMMEDIATE", err);
    if (rc != SQLITE_OK) goto fail;
    rc = query_int(db, "PRAGMA user_version", &v, err);
    if (rc != SQLITE_OK) goto rollback;
    if (v >= NMIGRATIONS) return exec(db, "COMMIT", err) == SQLITE_OK ? SQLITE_OK : SQLITE_ERROR;
    rc = exec(db, migrations[v], err);
    if (rc != SQLITE_OK) goto rollback;
    snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)v + 1);
    if ((rc = exec(db, sql, err)) != SQLITE_OK) goto rollback;
    if ((rc = exec(db, "COMMIT", err)) != SQLITE_OK) goto rollback;
    continue;
  rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  fail:
    {
      char *m = *err;
      *err = fmt("%s: cannot upgrade the database to schema version %lld: %s", path,
                 (long long)v + 1, m ? m : "?");
      free(m);
    }
    return rc;
  }
}


/*
** Runs are looked for without a lock, and each dead one is marked in its
** own small write, so opening the database never waits on a writer when
** there is nothing to mark. A write that finds the database busy leaves
** the run for the next open.
*/
int vouch__store_abort_dead_runs(sqlite3 *db, char **err) {
  sqlite3_stmt *sel = NULL, *upd = NULL;
  sqlite3_int64 dead[64];
  char now[32];
  int rc, n = 0, ndead = 0, i;
  pid_t self = getpid();
  rc = sqlite3_prepare_v2(db, "SELECT id, pid FROM runs WHERE status = 'running' "
                              "AND pid IS NOT NULL", -1, &sel, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
    sqlite3_int64 pid = sqlite3_column_int64(sel, 1);
    rc = SQLITE_OK;
    if (pid <= 0 || pid == (sqlite3_int64)self) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    if (ndead < (int)(sizeof dead / sizeof dead[0])) dead[ndead++] = sqlite3_column_int64(sel, 0);
  }
  if (rc != SQLITE_DONE) {
    *err = fmt("%s", sqlite3_errmsg(db));
    sqlite3_finalize(sel);
    return -1;
  }
  sqlite3_finalize(sel);
  if (ndead == 0) return 0;
  vouch__store_now(now, sizeof now);
  rc = sqlite3_prepare_v2(db, "UPDATE runs SET status = 'aborted', ended_at = ?1, "
                              "error = 'process ' || pid || ' ended before the run finished' "
                              "WHERE id = ?2 AND status = 'running'", -1, &upd, NULL);
  if (rc != SQLITE_OK) {
    *err = fmt("%s", sqlite3_errmsg(db));
    return -1;
  }
  for (i = 0; i < ndead; i++) {
    sqlite3_bind_text(upd, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd, 2, dead[i]);
    rc = sqlite3_step(upd);
    sqlite3_reset(upd);
    if (rc != SQLITE_DONE) break;  /* busy: the next open tries again */
    n += sqlite3_changes(db);
  }
  sqlite3_finalize(upd);
  return n;
}

/*
** The number at p as strtod reads it, and in *end where it stops. The
** common case, a plain decimal of at most 15 digits (a stored dimension
** has 7), is read here: its digits and the power of ten it is divided by
** are exact doubles, so one division rounds as strtod does. Anything else
** (an exponent, more digits) is strtod's, which costs several times more.
*/
static double json_number(const char *p, char **end) {
  static const double tens[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15 };
  const char *q = p + (*p == '-');
  unsigned long long m = 0;
  int digits = 0, frac = 0;
  double x;
  while (*q >= '0' && *q <= '9' && digits <= 15) { m = m * 10 + (unsigned)(*q++ - '0'); digits++; }
  if (*q == '.' && digits > 0) {
    for (q++; *q >= '0' && *q <= '9' && digits <= 15; q++) {
      m = m * 10 + (unsigned)(*q - '0');
      digits++;
      frac++;
    }
    if (frac == 0) digits = 0;  /* "1." is strtod's */
  }
  if (digits == 0 || digits > 15 || (*q != ',' && *q != ']' && *q != ' '))
    return strtod(p, end);
  x = (double)m / tens[frac];
  *end = (char *)q;
  return *p == '-' ? -x : x;
}

/*
** json_argmin(ARRAY): the 0-based position of the first of the least of the
** numbers in the JSON array ARRAY (nulls skipped), or NULL. The record's
** `scores.dims` are such arrays; a partner's weakest dimension is this
** position, found here in one pass rather than by json_each and a sort.
*/
static void json_argmin(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *p = (const char *)sqlite3_value_text(argv[0]);
  double low = 0;
  int at = -1, k = 0;
  (void)argc;
  if (p == NULL) return;
  while (*p == ' ') p++;
  if (*p++ != '[') return;
  for (;;) {
    char *end;
    double x;
    while (*p == ' ') p++;
    if (*p == ']' && k == 0) break;
    if (strncmp(p, "null", 4) == 0) p += 4;
    else {
      x = json_number(p, &end);
      if (end == p) return;  /* not an array of numbers */
      if (at < 0 || x < low) { low = x; at = k; }
      p = end;
    }
    while (*p == ' ') p++;
    k++;
    if (*p == ',') { p++; continue; }
    if (*p == ']') break;
    return;
  }
  if (at >= 0) sqlite3_result_int(ctx, at);
}



/* Past the spaces at p. */
static const char *json_ws(const char *p) {
  while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
  return p;
}

/* The characters of JSON numbers, true, false and null. */
static const char scalar_char[256] = {
  ['+'] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
  ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['e'] = 1, ['E'] = 1, ['t'] = 1,
  ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1
};

/* Past the JSON value at p, or NULL where the text is not one (loosely:
** only what is needed to step over it without reading past its end). */
static const char *json_skip(const char *p, int depth) {
  const char *s = p;
  if (depth > 64) return NULL;
  if (*p == '"') {
    for (p++; *p != '"'; p++) {
      if (*p == '\0' || (*p == '\\' && *++p == '\0')) return NULL;
    }
    return p + 1;
  }
  if (*p == '[' || *p == '{') {
    char close = *p == '[' ? ']' : '}';
    p = json_ws(p + 1);
    if (*p == close) return p + 1;
    for (;;) {
      if ((p = json_skip(p, depth + 1)) == NULL) return NULL;
      p = json_ws(p);
      if (close == '}') {
        if (*p != ':' || (p = json_skip(json_ws(p + 1), depth + 1)) == NULL) return NULL;
        p = json_ws(p);
      }
      if (*p == close) return p + 1;
      if (*p != ',') return NULL;
      p = json_ws(p + 1);
    }
  }
  while (scalar_char[(unsigned char)*p]) p++;
  return p > s ? p : NULL;
}

/*
** reason_codes(REASONS): the codes of a partner's principal reasons (the
** stored reasons that have a rank), in order, joined by ", "; NULL where
** REASONS is not an array of arrays. The listing of a run reads them for
** every partner: one pass here, where a JSON path per code and rank parsed
** the text eight times.
*/
static void reason_codes(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *p = (const char *)sqlite3_value_text(argv[0]);
  size_t size = (size_t)sqlite3_value_bytes(argv[0]), n = 0;
  char small[512], *out = small;
  (void)argc;
  if (p == NULL || *(p = json_ws(p)) != '[') return;
  /* The codes, with ", " between, never take more than the text they
     are quoted in. */
  if (size > sizeof small && (out = sqlite3_malloc64(size)) == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  p = json_ws(p + 1);
  while (*p == '[') {
    const char *code = NULL;
    int k, len = 0, ranked = 0;
    p = json_ws(p + 1);
    for (k = 0; *p != ']'; k++) {
      const char *v = p;
      if ((p = json_skip(v, 1)) == NULL) goto done;
      if (k == VOUCH_REASON_CODE && *v == '"') { code = v + 1; len = (int)(p - v) - 2; }
      if (k == VOUCH_REASON_RANK) ranked = strncmp(v, "null", 4) != 0;
      p = json_ws(p);
      if (*p == ',') p = json_ws(p + 1);
      else if (*p != ']') goto done;
    }
    if (ranked && code) {
      if (n > 0) { memcpy(out + n, ", ", 2); n += 2; }
      memcpy(out + n, code, (size_t)len);
      n += (size_t)len;
    }
    p = json_ws(p + 1);
    if (*p == ',') p = json_ws(p + 1);
  }
  if (*p == ']') sqlite3_result_text64(ctx, out, n, SQLITE_TRANSIENT, SQLITE_UTF8);
done:
  if (out != small) sqlite3_free(out);
}

/* printable(X): 1 when the text X (or NULL) is printable ASCII only. */
static void printable(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const unsigned char *p = sqlite3_value_text(argv[0]);
  (void)argc;
  if (p) while (*p >= 0x20 && *p < 0x7f) p++;
  sqlite3_result_int(ctx, p == NULL || *p == '\0');
}

/*
** fixed(X, N): the number X with N decimals (0 to 17) as C's printf writes
** it, which is how Lua's string.format writes it too: SQLite's own printf
** rounds a tie such as 78.25 away from zero (78.3), C to even (78.2), and
** a listing made in SQL must print the totals the Lua tables print.
** NULL for a NULL X.
*/
static void fixed(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char buf[400];
  int n = sqlite3_value_int(argv[1]), len;
  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  if (n < 0 || n > 17) {
    sqlite3_result_error(ctx, "fixed(X, N): N must be 0 to 17", -1);
    return;
  }
  len = snprintf(buf, sizeof buf, "%.*f", n, sqlite3_value_double(argv[0]));
  if (len < 0 || len >= (int)sizeof buf) { sqlite3_result_error(ctx, "fixed(X, N): too long", -1); return; }
  sqlite3_result_text(ctx, buf, len, SQLITE_TRANSIENT);
}

/* vouch_hash(X): vouch.hash of the text X, NULL for NULL. Migration 8 keys
** the stored scorecards by it. */
static void sql_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const unsigned char *p = sqlite3_value_text(argv[0]);
  char hex[VOUCH_HASH_HEX];
  (void)argc;
  if (p == NULL) return;
  vouch_hash_hex(p, (size_t)sqlite3_value_bytes(argv[0]), hex);
  sqlite3_result_text(ctx, hex, VOUCH_HASH_HEX - 1, SQLITE_TRANSIENT);
}

/* }====================================================== */


/*
** {======================================================
** Table cells: the rules of vouch.scorecard.cli's cell, width and cut
** =======================================================
*/

/* A control character (C's iscntrl in the C locale, Lua's %c). */
#define iscntrl_c(b) ((b) < 0x20 || (b) == 0x7f)

/* The bytes of the escape of control character b: \n, \r, \t, else \ddd. */
static size_t escape_len(unsigned char b) {
  return b == '\n' || b == '\r' || b == '\t' ? 2 : 4;
}

/*
** The length of the UTF-8 character at p (at most n bytes), or 0 where the
** bytes are not one: Lua's utf8.len without `lax` accepts the same (no
** overlong forms, no surrogates, nothing above U+10FFFF).
*/
static size_t utf8_char(const unsigned char *p, size_t n) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf;
  size_t k, len;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
  }
  else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  }
  else return 0;
  if (n < len || p[1] < lo || p[1] > hi) return 0;
  for (k = 2; k < len; k++)
    if ((p[k] & 0xc0) != 0x80) return 0;
  return len;
}

size_t vouch__cell_width(const char *s, size_t len, int *plain) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  size_t chars = 0, bytes = len;
  int valid = 1, clean = 1;
  while (p < e) {
    unsigned char b = *p;
    if (b >= 0x20 && b < 0x7f) { chars++; p++; }
    else if (b < 0x80) {
      size_t k = escape_len(b);
      chars += k;
      bytes += k - 1;
      clean = 0;
      p++;
    }
    else {
      size_t k = valid ? utf8_char(p, (size_t)(e - p)) : 0;
      if (k == 0) { valid = 0; k = 1; }
      chars++;
      p += k;
    }
  }
  if (plain) *plain = clean;
  return valid ? chars : bytes;
}

size_t vouch__cell_escape(char *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  char *o = out;
  for (; p < e; p++) {
    if (!iscntrl_c(*p)) *o++ = (char)*p;
    else if (*p == '\n') { *o++ = '\\'; *o++ = 'n'; }
    else if (*p == '\r') { *o++ = '\\'; *o++ = 'r'; }
    else if (*p == '\t') { *o++ = '\\'; *o++ = 't'; }
    else {
      *o++ = '\\';
      *o++ = (char)('0' + *p / 100);
      *o++ = (char)('0' + *p / 10 % 10);
      *o++ = (char)('0' + *p % 10);
    }
  }
  return (size_t)(o - out);
}

/* cell_width(X): the width of X shown as a table cell; NULL for NULL. */
static void cell_width(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *s = (const char *)sqlite3_value_text(argv[0]);
  (void)argc;
  if (s == NULL) return;
  sqlite3_result_int64(ctx, (sqlite3_int64)vouch__cell_width(s, (size_t)sqlite3_value_bytes(argv[0]),
                                                             NULL));
}

/*
** X (len bytes, w columns wide) cut to at most n columns into e (room for
** 4 * len + 3 bytes), the cut marked with "…"; returns its length. Where
** X is not UTF-8 it is cut as Lua's utf8.offset counts (each byte that
** does not continue a character starts one), or after n - 1 bytes where
** that fails, as cli.cut does.
*/
static size_t cut_into(char *e, const char *s, size_t len, size_t w, sqlite3_int64 n) {
  size_t m = vouch__cell_escape(e, s, len), keep;
  if (w <= (sqlite3_uint64)n) return m;
  keep = n < 1 ? 0 : (size_t)n - 1 < m ? (size_t)n - 1 : m;  /* s:sub(1, n - 1) */
  if (n >= 1 && m > 0 && (e[0] & 0xc0) != 0x80) {
    size_t at = 0;
    sqlite3_int64 k = n - 1;
    while (k > 0 && at < m) {
      do at++; while (at < m && (e[at] & 0xc0) == 0x80);
      k--;
    }
    if (k == 0) keep = at;
  }
  if (n < 1) return 0;
  memcpy(e + keep, "\xe2\x80\xa6", 3);  /* … */
  return keep + 3;
}

/* cell_cut(X, N): X as a table cell at most N characters wide (cut_into); NULL for NULL. */
static void cell_cut(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *s = (const char *)sqlite3_value_text(argv[0]);
  size_t len = (size_t)sqlite3_value_bytes(argv[0]), w;
  sqlite3_int64 n = sqlite3_value_int64(argv[1]);
  char *e;
  int plain;
  (void)argc;
  if (s == NULL) return;
  if (n < 0) n = 0;
  w = vouch__cell_width(s, len, &plain);
  if (w <= (sqlite3_uint64)n && plain) { sqlite3_result_value(ctx, argv[0]); return; }
  if ((e = sqlite3_malloc64(4 * (sqlite3_uint64)len + 4)) == NULL) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text64(ctx, e, cut_into(e, s, len, w, n), sqlite3_free, SQLITE_UTF8);
}

size_t vouch__cell_cut_width(const char *s, size_t len, size_t n) {
  int plain;
  size_t w = vouch__cell_width(s, len, &plain), m;
  char *e;
  if (w <= n && plain) return w;
  if ((e = malloc(4 * len + 4)) == NULL) return w < n ? w : n;
  m = cut_into(e, s, len, w, (sqlite3_int64)n);
  w = vouch__cell_width(e, m, NULL);
  free(e);
  return w;
}

/* }====================================================== */


int vouch__store_open(const char *path, int flags, vouch_host_t *h, vouch_auth_t *auth,
                      sqlite3 **out, char **err) {
  sqlite3 *db = NULL;
  int ro = flags & VOUCH_STORE_READONLY;
  int oflags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
               SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
               (flags & VOUCH_STORE_NOFOLLOW ? SQLITE_OPEN_NOFOLLOW : 0);
  int rc = sqlite3_open_v2(path, &db, oflags, NULL);
  *out = NULL;
  *err = NULL;
  if (rc != SQLITE_OK) {
    *err = fmt("%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return rc;
  }
  /* SQLite's memory counts against --max-memory too (a query can build a
     huge string or sort without Lua allocating anything). */
  if (h && h->max_memory) {
    sqlite3_int64 cur = sqlite3_hard_heap_limit64(-1);
    if (cur == 0 || cur > (sqlite3_int64)h->max_memory)
      sqlite3_hard_heap_limit64((sqlite3_int64)h->max_memory);
  }
  sqlite3_busy_timeout(db, VOUCH_BUSY_TIMEOUT);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_create_function(db, "json_argmin", 1,
                          SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                          json_argmin, NULL, NULL);
  sqlite3_create_function(db, "fixed", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                          NULL, fixed, NULL, NULL);
  sqlite3_create_function(db, "reason_codes", 1,
                          SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                          reason_codes, NULL, NULL);
  sqlite3_create_function(db, "printable", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                          NULL, printable, NULL, NULL);
  sqlite3_create_function(db, "vouch_hash", 1,
                          SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, sql_hash,
                          NULL, NULL);
  sqlite3_create_function(db, "cell_width", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                          NULL, cell_width, NULL, NULL);
  sqlite3_create_function(db, "cell_cut", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                          NULL, cell_cut, NULL, NULL);
  /* Extensions stay off for everyone; the sandbox also loses what the
     Debian build enables (the two-argument fts3_tokenizer). */
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
  if (flags & VOUCH_STORE_SANDBOX)
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, (int *)NULL);
  if (flags & (VOUCH_STORE_SANDBOX | VOUCH_STORE_HOST)) {
    /* The host's record is read back by the daemon and the reports whoever
       wrote the file: its schema may not run functions with side effects
       (views, triggers, defaults), nor may SQL corrupt it on purpose. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  }
  if (flags & VOUCH_STORE_HOST) {
    rc = check_version(db, path, err);
    if (rc == SQLITE_OK) rc = check_triggers(db, path, err);
    if (rc != SQLITE_OK) goto fail;
  }
  if (!ro) {
    /* WAL: readers and one writer at once, and a crash loses at most the
       transactions not yet committed. NORMAL is durable enough in WAL mode. */
    if (exec(db, "PRAGMA journal_mode = WAL", err) != SQLITE_OK) {
      /* another connection may hold the lock while switching: not fatal */
      free(*err);
      *err = NULL;
    }
    rc = exec(db, "PRAGMA synchronous = NORMAL", err);
    if (rc != SQLITE_OK) goto fail;
    /* A run writes three growing trees (scores, its index, inputs) in one
       transaction: with SQLite's default 2 MiB of cache their pages spill
       to the log and are read back, which costs a third of a large run.
       32 MiB, or a quarter of --max-memory, which counts it. */
    if (flags & VOUCH_STORE_HOST) {
      char sql[64];
      size_t kib = 32768;
      if (h && h->max_memory && h->max_memory / 4096 < kib) kib = h->max_memory / 4096;
      snprintf(sql, sizeof sql, "PRAGMA cache_size = -%zu", kib < 2000 ? (size_t)2000 : kib);
      if ((rc = exec(db, sql, err)) != SQLITE_OK) goto fail;
    }
  }
  rc = exec(db, "PRAGMA foreign_keys = ON", err);
  if (rc != SQLITE_OK) goto fail;
  if (flags & VOUCH_STORE_HOST) {
    if (!ro && (rc = migrate(db, path, err)) != SQLITE_OK) goto fail;
    if (!ro && vouch__store_abort_dead_runs(db, err) < 0) {
      char *m = *err;
      *err = fmt("%s: cannot mark dead runs: %s", path, m ? m : "?");
      free(m);
      rc = SQLITE_ERROR;
      goto fail;
    }
  }
  if (flags & VOUCH_STORE_SANDBOX) {
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    auth->internal = 0;
    auth->record = (flags & VOUCH_STORE_HOST) || has_host_schema(db);
    auth->deny[0] = '\0';
    sqlite3_set_authorizer(db, authorize, auth);
  }
  vouch__store_progress(db, h, 1);
  *out = db;
  return SQLITE_OK;
fail:
  if (*err == NULL) *err = fmt("%s: %s", path, sqlite3_errmsg(db));
  sqlite3_close(db);
  return rc == SQLITE_OK ? SQLITE_ERROR : rc;
}
