/*
** record.c: the record layer (record.h) on SQLite. Every statement the
** scheduler, its Lua binding and the monitor make on the host's tables is
** here, behind named functions; the connection is opened and migrated by
** store.c like every other connection to the host's database. A record on
** a PostgreSQL server is record_pg.c's: each call hands it over there.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "record.h"
#include "record_pg.h"
#include "store.h"

const char *const vouch_flag_outcomes[] = {"veto", "penalty", "cap", "review", NULL};

typedef struct kept_write {     /* a write waiting for the lock */
  struct kept_write *next;
  char *sql;                    /* the statement with its values in it; sqlite3_malloc'd */
} kept_write;

struct vouch_record {
  vouch_pgrec_t *pg;            /* owned: the record is on a server; NULL for a file */
  sqlite3 *db;                  /* owned */
  char error[600];              /* why the last call failed */
  int defer;                    /* writes that find the lock taken are kept */
  vouch_record_report_cb report;  /* hears of kept writes; may be NULL */
  void *report_ud;
  kept_write *kept, **kept_tail;  /* in order */
};


/*
** {======================================================
** Statements
** =======================================================
*/

static int fail(vouch_record_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->error, sizeof r->error, fmt, ap);
  va_end(ap);
  return VOUCH_RECORD_ERROR;
}

static int fail_db(vouch_record_t *r) {
  return fail(r, "%s", sqlite3_errmsg(r->db));
}

/* Prepare, bind text/integer/real/NULL from a format ("s", "i", "d", "n"). */
static sqlite3_stmt *prep(vouch_record_t *r, const char *sql, const char *fmt, ...) {
  sqlite3_stmt *st;
  va_list ap;
  int i;
  if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
    fail_db(r);
    return NULL;
  }
  va_start(ap, fmt);
  for (i = 0; fmt && fmt[i]; i++) {
    switch (fmt[i]) {
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (s) sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(st, i + 1);
        break;
      }
      case 'i': sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
      case 'd': sqlite3_bind_double(st, i + 1, va_arg(ap, double)); break;
      default: sqlite3_bind_null(st, i + 1); break;
    }
  }
  va_end(ap);
  return st;
}

static int is_busy(int rc) {
  rc &= 0xff;
  return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

static const char *col_text(sqlite3_stmt *st, int i) {
  return (const char *)sqlite3_column_text(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i) {
  const char *s = col_text(st, i);
  return s ? strdup(s) : NULL;
}

/* After the last step of a query (rc): finalize it, OK or ERROR. */
static int finish(vouch_record_t *r, sqlite3_stmt *st, int rc) {
  if (rc == SQLITE_NOMEM) fail(r, "out of memory");
  else if (rc != SQLITE_DONE) fail_db(r);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? VOUCH_RECORD_OK : VOUCH_RECORD_ERROR;
}

/* Step a statement that returns no rows and finalize it: OK, BUSY or ERROR. */
static int done(vouch_record_t *r, sqlite3_stmt *st) {
  int rc;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail_db(r);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return VOUCH_RECORD_OK;
  return is_busy(rc) ? VOUCH_RECORD_BUSY : VOUCH_RECORD_ERROR;
}

/* As done, then the number of rows changed (0 or 1 for one name). */
static int changed(vouch_record_t *r, sqlite3_stmt *st) {
  int rc = done(r, st);
  return rc == VOUCH_RECORD_OK ? sqlite3_changes(r->db) > 0 : rc;
}

/* The first column of the one row of `st` as an integer, 0 when none. */
static int64_t one_int(sqlite3_stmt *st) {
  int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return v;
}

/* Grow *v (of *cap items of `size`) to hold n + 1: 0, or -1 out of memory. */
static int grow(void *v, int n, int *cap, size_t size) {
  void *nv;
  if (n < *cap) return 0;
  if ((nv = realloc(*(void **)v, size * (size_t)(*cap = *cap ? *cap * 2 : 16))) == NULL) return -1;
  *(void **)v = nv;
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Opening, errors, writes that wait
** =======================================================
*/

vouch_record_t *vouch_record_open(const char *path, vouch_host_t *h, char **err) {
  vouch_record_t *r = calloc(1, sizeof *r);
  *err = NULL;
  if (r == NULL) {
    *err = strdup("out of memory");
    return NULL;
  }
  r->kept_tail = &r->kept;
  if (vouch_pgrec_is_uri(path)) {
    if ((r->pg = vouch_pgrec_open(path, err)) == NULL) {
      free(r);
      return NULL;
    }
    return r;
  }
  if (vouch__store_open(path, VOUCH_STORE_HOST, h, NULL, &r->db, err) != SQLITE_OK) {
    free(r);
    return NULL;
  }
  r->kept_tail = &r->kept;
  return r;
}

static void drop_kept(vouch_record_t *r) {
  kept_write *w;
  while ((w = r->kept)) {
    r->kept = w->next;
    sqlite3_free(w->sql);
    free(w);
  }
  r->kept_tail = &r->kept;
}

void vouch_record_close(vouch_record_t *r) {
  if (r == NULL) return;
  drop_kept(r);
  vouch_pgrec_close(r->pg);
  sqlite3_close(r->db);
  free(r);
}

const char *vouch_record_error(vouch_record_t *r) {
  return r->pg ? vouch_pgrec_error(r->pg) : r->error;
}

int vouch_record_shared(vouch_record_t *r) {
  return r->pg != NULL;
}

void vouch_record_defer(vouch_record_t *r, int wait_ms, vouch_record_report_cb report, void *ud) {
  if (r->pg) {
    vouch_pgrec_defer(r->pg, wait_ms, report, ud);
    return;
  }
  r->defer = 1;
  r->report = report;
  r->report_ud = ud;
  sqlite3_busy_timeout(r->db, wait_ms < 0 ? VOUCH_BUSY_TIMEOUT : wait_ms);
}

static void tell(vouch_record_t *r, const char *event, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  if (r->report == NULL) return;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->report(r->report_ud, event, msg);
}

/* A write that fails otherwise than busy is told and dropped. */
int vouch_record_flush(vouch_record_t *r) {
  if (r->pg) return vouch_pgrec_flush(r->pg);
  while (r->kept) {
    kept_write *w = r->kept;
    char *err = NULL;
    int rc = sqlite3_exec(r->db, w->sql, NULL, NULL, &err);
    if (is_busy(rc)) { sqlite3_free(err); return VOUCH_RECORD_BUSY; }
    if (rc != SQLITE_OK) tell(r, "error", "write failed: %s", err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    if ((r->kept = w->next) == NULL) r->kept_tail = &r->kept;
    sqlite3_free(w->sql);
    free(w);
  }
  return VOUCH_RECORD_OK;
}

int vouch_record_flush_wait(vouch_record_t *r, int seconds) {
  uint64_t until = uv_hrtime() + (uint64_t)seconds * 1000000000;
  int n = 0;
  kept_write *w;
  if (r->pg) return vouch_pgrec_flush_wait(r->pg, seconds);
  if (r->kept == NULL) return 0;
  sqlite3_busy_timeout(r->db, VOUCH_BUSY_TIMEOUT);
  while (vouch_record_flush(r) != VOUCH_RECORD_OK && uv_hrtime() < until) {}
  for (w = r->kept; w; w = w->next) n++;
  drop_kept(r);
  return n;
}

/*
** Make a write now or, deferring, keep it when the lock is taken: OK (made
** or kept) or ERROR. Without deferring, as done().
*/
static int put(vouch_record_t *r, sqlite3_stmt *st) {
  kept_write *w;
  int rc;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  if (!r->defer) return done(r, st);
  if (vouch_record_flush(r) == VOUCH_RECORD_OK) {
    rc = sqlite3_step(st);
    if (!is_busy(rc)) {
      if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail_db(r);
      sqlite3_finalize(st);
      return rc == SQLITE_DONE || rc == SQLITE_ROW ? VOUCH_RECORD_OK : VOUCH_RECORD_ERROR;
    }
    sqlite3_reset(st);
  }
  w = malloc(sizeof *w);
  if (w == NULL || (w->sql = sqlite3_expanded_sql(st)) == NULL) {
    free(w);
    sqlite3_finalize(st);
    tell(r, "error", "out of memory: a write was lost");
    return fail(r, "out of memory");
  }
  sqlite3_finalize(st);
  if (r->kept == NULL) tell(r, "busy", "the database is locked: writes wait");
  w->next = NULL;
  *r->kept_tail = w;
  r->kept_tail = &w->next;
  return VOUCH_RECORD_OK;
}

/* }====================================================== */


/*
** {======================================================
** Daemons and their leases: a file's single daemon needs none
** =======================================================
*/

int vouch_record_join(vouch_record_t *r, const char *host, int64_t pid, int lease_ms) {
  return r->pg ? vouch_pgrec_daemon_join(r->pg, host, pid, lease_ms) : VOUCH_RECORD_OK;
}

int vouch_record_renew(vouch_record_t *r) {
  return r->pg ? vouch_pgrec_daemon_renew(r->pg) : VOUCH_RECORD_OK;
}

int vouch_record_leave(vouch_record_t *r) {
  return r->pg ? vouch_pgrec_daemon_leave(r->pg) : VOUCH_RECORD_OK;
}

int vouch_record_claim(vouch_record_t *r, const char *at,
                       void (*each)(void *ud, const char *schedule, const char *last_for,
                                    const char *first_aborted),
                       void *ud) {
  return r->pg ? vouch_pgrec_claim(r->pg, at, each, ud) : VOUCH_RECORD_OK;
}

int vouch_record_daemons(vouch_record_t *r, vouch_daemon_t **v, int *n) {
  *v = NULL;
  *n = 0;
  return r->pg ? vouch_pgrec_daemons(r->pg, v, n) : VOUCH_RECORD_OK;
}

/* }====================================================== */


/*
** {======================================================
** Schedules
** =======================================================
*/

void vouch_schedule_free(vouch_schedule_t *s) {
  free(s->name); free(s->expr); free(s->tz); free(s->script); free(s->args);
  free(s->missed); free(s->overlap); free(s->alerts); free(s->dir); free(s->grants);
  free(s->created_at); free(s->last_run); free(s->next_run); free(s->holder);
  memset(s, 0, sizeof *s);
}

void vouch_schedules_free(vouch_schedule_t *v, int n) {
  int i;
  for (i = 0; i < n; i++) vouch_schedule_free(&v[i]);
  free(v);
}

#define SCHEDULE_COLUMNS "name, expr, tz, script, args, missed, missed_cap, overlap, " \
                         "jitter, paused, alerts, threshold, dir, created_at, last_run, " \
                         "next_run, grants, keep, keep_days"

static void schedule_read(sqlite3_stmt *st, vouch_schedule_t *s) {
  s->name = col_dup(st, 0); s->expr = col_dup(st, 1); s->tz = col_dup(st, 2);
  s->script = col_dup(st, 3); s->args = col_dup(st, 4); s->missed = col_dup(st, 5);
  s->missed_cap = sqlite3_column_int64(st, 6); s->overlap = col_dup(st, 7);
  s->jitter = sqlite3_column_int64(st, 8); s->paused = sqlite3_column_int64(st, 9);
  s->alerts = col_dup(st, 10); s->threshold = sqlite3_column_double(st, 11);
  s->dir = col_dup(st, 12); s->created_at = col_dup(st, 13); s->last_run = col_dup(st, 14);
  s->next_run = col_dup(st, 15); s->grants = col_dup(st, 16);
  s->keep = sqlite3_column_int64(st, 17); s->keep_days = sqlite3_column_double(st, 18);
  s->holder = NULL;  /* a file's single daemon holds every schedule */
}

int vouch_record_schedule_get(vouch_record_t *r, const char *name, vouch_schedule_t *s) {
  if (r->pg) return vouch_pgrec_schedule_get(r->pg, name, s);
  sqlite3_stmt *st = prep(r, "SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE name=?", "s", name);
  int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
  memset(s, 0, sizeof *s);
  if (rc == SQLITE_ROW) schedule_read(st, s);
  else if (rc != SQLITE_DONE && st) fail_db(r);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : VOUCH_RECORD_ERROR;
}

int vouch_record_schedules(vouch_record_t *r, int paused, vouch_schedule_t **v, int *n) {
  if (r->pg) return vouch_pgrec_schedules(r->pg, paused, v, n);
  sqlite3_stmt *st = prep(r, "SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE ?1 OR paused=0"
                          " ORDER BY name", "i", (int64_t)paused);
  int cap = 0, rc;
  *v = NULL;
  *n = 0;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (grow(v, *n, &cap, sizeof **v) != 0) { rc = SQLITE_NOMEM; break; }
    schedule_read(st, &(*v)[(*n)++]);
  }
  return finish(r, st, rc);
}

int vouch_record_schedule_put(vouch_record_t *r, const vouch_schedule_t *s) {
  if (r->pg) return vouch_pgrec_schedule_put(r->pg, s);
  return done(r, prep(r,
    "INSERT INTO schedules(name, expr, tz, script, args, missed, missed_cap, overlap, jitter,"
    " paused, alerts, threshold, created_at, next_run, dir, grants, keep, keep_days)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
    " expr=excluded.expr, tz=excluded.tz, script=excluded.script, args=excluded.args,"
    " dir=excluded.dir, grants=excluded.grants, keep=excluded.keep,"
    " keep_days=excluded.keep_days,"
    " missed=excluded.missed, missed_cap=excluded.missed_cap, overlap=excluded.overlap,"
    " jitter=excluded.jitter, alerts=excluded.alerts, threshold=excluded.threshold,"
    " next_run=CASE WHEN schedules.expr=excluded.expr AND schedules.tz=excluded.tz"
    " THEN schedules.next_run ELSE excluded.next_run END",
    "ssssssisiisdssssid", s->name, s->expr, s->tz, s->script, s->args, s->missed,
    s->missed_cap, s->overlap, s->jitter, s->paused, s->alerts, s->threshold, s->created_at,
    s->next_run, s->dir, s->grants, s->keep, s->keep_days));
}

int vouch_record_schedule_remove(vouch_record_t *r, const char *name) {
  if (r->pg) return vouch_pgrec_schedule_remove(r->pg, name);
  return changed(r, prep(r, "DELETE FROM schedules WHERE name=?", "s", name));
}

int vouch_record_schedule_pause(vouch_record_t *r, const char *name) {
  if (r->pg) return vouch_pgrec_schedule_pause(r->pg, name);
  return changed(r, prep(r, "UPDATE schedules SET paused=1 WHERE name=?", "s", name));
}

int vouch_record_schedule_resume(vouch_record_t *r, const char *name, const char *next_run) {
  if (r->pg) return vouch_pgrec_schedule_resume(r->pg, name, next_run);
  return changed(r, prep(r, "UPDATE schedules SET paused=0, next_run=? WHERE name=?", "ss",
                         next_run, name));
}

int vouch_record_schedule_next(vouch_record_t *r, const char *name, const char *next_run) {
  if (r->pg) return vouch_pgrec_schedule_next(r->pg, name, next_run);
  return put(r, prep(r, "UPDATE schedules SET next_run=? WHERE name=?", "ss", next_run, name));
}

int vouch_record_schedule_started(vouch_record_t *r, const char *name, const char *at) {
  if (r->pg) return vouch_pgrec_schedule_started(r->pg, name, at);
  return put(r, prep(r, "UPDATE schedules SET last_run=? WHERE name=?", "ss", at, name));
}

/* }====================================================== */


/*
** {======================================================
** A schedule's runs and early re-runs
** =======================================================
*/

void vouch_sched_runs_free(vouch_sched_run_t *v, int n) {
  int i;
  for (i = 0; i < n; i++) {
    vouch_sched_run_t *s = &v[i];
    free(s->schedule); free(s->scheduled_for); free(s->trigger); free(s->status);
    free(s->started_at); free(s->ended_at); free(s->error); free(s->output); free(s->alert);
    free(s->daemon);
  }
  free(v);
}

static void sched_run_read(sqlite3_stmt *st, vouch_sched_run_t *s) {
  s->id = sqlite3_column_int64(st, 0);
  s->schedule = col_dup(st, 1); s->scheduled_for = col_dup(st, 2); s->trigger = col_dup(st, 3);
  s->status = col_dup(st, 4); s->started_at = col_dup(st, 5); s->ended_at = col_dup(st, 6);
  s->duration = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 7);
  s->exit_code = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 8);
  s->error = col_dup(st, 9); s->output = col_dup(st, 10);
  s->pid = sqlite3_column_int64(st, 11); s->run_id = sqlite3_column_int64(st, 12);
  s->alert = col_dup(st, 13);
}

int vouch_record_history(vouch_record_t *r, const char *name, int64_t limit, int alerts,
                         vouch_sched_run_t **v, int *n) {
  if (r->pg) return vouch_pgrec_history(r->pg, name, limit, alerts, v, n);
  sqlite3_stmt *st = prep(r, "SELECT id, schedule, scheduled_for, trigger, status, started_at,"
                          " ended_at, duration, exit_code, error, output, pid, run_id, alert"
                          " FROM schedule_runs WHERE (?1 IS NULL OR schedule=?1)"
                          " AND (NOT ?3 OR alert IS NOT NULL) ORDER BY id DESC LIMIT ?2",
                          "sii", name, limit, (int64_t)alerts);
  int cap = 0, rc;
  *v = NULL;
  *n = 0;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (grow(v, *n, &cap, sizeof **v) != 0) { rc = SQLITE_NOMEM; break; }
    memset(&(*v)[*n], 0, sizeof **v);
    sched_run_read(st, &(*v)[(*n)++]);
  }
  return finish(r, st, rc);
}

int vouch_record_run_start(vouch_record_t *r, const char *name, const char *scheduled_for,
                           const char *trigger, const char *at, int64_t *id) {
  if (r->pg) return vouch_pgrec_run_start(r->pg, name, scheduled_for, trigger, at, id);
  int rc;
  if (vouch_record_flush(r) != VOUCH_RECORD_OK) return VOUCH_RECORD_BUSY;
  rc = done(r, prep(r, "INSERT INTO schedule_runs(schedule, scheduled_for, trigger, status,"
                    " started_at) VALUES (?,?,?,'running',?)", "ssss", name, scheduled_for,
                    trigger, at));
  if (rc == VOUCH_RECORD_OK) *id = sqlite3_last_insert_rowid(r->db);
  return rc;
}

int vouch_record_run_pid(vouch_record_t *r, int64_t id, int64_t pid) {
  if (r->pg) return vouch_pgrec_run_pid(r->pg, id, pid);
  return put(r, prep(r, "UPDATE schedule_runs SET pid=? WHERE id=?", "ii", pid, id));
}

int vouch_record_run_not_started(vouch_record_t *r, const char *name, const char *scheduled_for,
                                 const char *trigger, const char *status, const char *at,
                                 const char *error) {
  if (r->pg)
    return vouch_pgrec_run_not_started(r->pg, name, scheduled_for, trigger, status, at, error);
  return put(r, prep(r, "INSERT INTO schedule_runs(schedule, scheduled_for, trigger, status,"
                     " started_at, ended_at, duration, error) VALUES (?,?,?,?,?,?,0,?)",
                     "sssssss", name, scheduled_for, trigger, status, at, at, error));
}

int vouch_record_run_end(vouch_record_t *r, const vouch_sched_run_t *s) {
  if (r->pg) return vouch_pgrec_run_end(r->pg, s);
  return put(r, prep(r, "UPDATE schedule_runs SET status=?, ended_at=?, duration=?,"
                     " exit_code=?, error=?, output=?, run_id=nullif(?, 0), alert=? WHERE id=?",
                     "ssdissisi", s->status, s->ended_at, s->duration, s->exit_code, s->error,
                     s->output, s->run_id, s->alert, s->id));
}

int vouch_record_running(vouch_record_t *r, int unstarted, int64_t **ids, int64_t **pids,
                         int *n) {
  if (r->pg) return vouch_pgrec_running(r->pg, unstarted, ids, pids, n);
  sqlite3_stmt *st = prep(r, "SELECT id, pid FROM schedule_runs WHERE status='running'"
                          " AND (?1 OR pid IS NOT NULL)", "i", (int64_t)unstarted);
  int cap = 0, cap2 = 0, rc;
  *ids = *pids = NULL;
  *n = 0;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (grow(ids, *n, &cap, sizeof **ids) != 0 || grow(pids, *n, &cap2, sizeof **pids) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
    (*ids)[*n] = sqlite3_column_int64(st, 0);
    (*pids)[(*n)++] = sqlite3_column_int64(st, 1);
  }
  return finish(r, st, rc);
}

int vouch_record_run_abort(vouch_record_t *r, int64_t id, const char *at, const char *error) {
  if (r->pg) return vouch_pgrec_run_abort(r->pg, id, at, error);
  return put(r, prep(r, "UPDATE schedule_runs SET status='aborted', ended_at=?, error=?"
                     " WHERE id=? AND status='running'", "ssi", at, error, id));
}

void vouch_triggers_free(vouch_trigger_t *v, int n) {
  int i;
  for (i = 0; i < n; i++) {
    free(v[i].schedule); free(v[i].partner); free(v[i].reason);
  }
  free(v);
}

int vouch_record_trigger(vouch_record_t *r, const char *name, const char *partner,
                         const char *reason, const char *at) {
  if (r->pg) return vouch_pgrec_trigger(r->pg, name, partner, reason, at);
  return done(r, prep(r, "INSERT INTO schedule_triggers(schedule, partner_id, reason, created_at)"
                      " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM schedule_triggers"
                      " WHERE schedule=?1 AND partner_id IS ?2 AND fired_at IS NULL)", "ssss",
                      name, partner, reason, at));
}

int vouch_record_triggers(vouch_record_t *r, vouch_trigger_t **v, int *n) {
  if (r->pg) return vouch_pgrec_triggers(r->pg, v, n);
  sqlite3_stmt *st = prep(r, "SELECT id, schedule, partner_id, reason FROM schedule_triggers"
                          " WHERE fired_at IS NULL ORDER BY id", NULL);
  int cap = 0, rc;
  *v = NULL;
  *n = 0;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    vouch_trigger_t *t;
    if (grow(v, *n, &cap, sizeof **v) != 0) { rc = SQLITE_NOMEM; break; }
    t = &(*v)[(*n)++];
    t->id = sqlite3_column_int64(st, 0);
    t->schedule = col_dup(st, 1);
    t->partner = col_dup(st, 2);
    t->reason = col_dup(st, 3);
  }
  return finish(r, st, rc);
}

int vouch_record_trigger_fired(vouch_record_t *r, int64_t id, const char *at) {
  if (r->pg) return vouch_pgrec_trigger_fired(r->pg, id, at);
  return put(r, prep(r, "UPDATE schedule_triggers SET fired_at=? WHERE id=?", "si", at, id));
}

/* }====================================================== */


/*
** {======================================================
** Scoring runs, as the monitor compares them
** =======================================================
*/

int64_t vouch_record_last_run(vouch_record_t *r) {
  if (r->pg) return vouch_pgrec_last_run(r->pg);
  return one_int(prep(r, "SELECT coalesce(max(id),0) FROM runs", NULL));
}

int vouch_record_runs_made(vouch_record_t *r, int64_t after, int64_t pid, const char *name,
                           int64_t **ids, int *n) {
  if (r->pg) return vouch_pgrec_runs_made(r->pg, after, pid, name, ids, n);
  sqlite3_stmt *st = prep(r, "SELECT id FROM runs WHERE id>? AND status='ok' AND (pid=? OR"
                          " started_by='schedule:'||?) ORDER BY id", "iis", after, pid, name);
  int cap = 0, rc;
  *ids = NULL;
  *n = 0;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (grow(ids, *n, &cap, sizeof **ids) != 0) { rc = SQLITE_NOMEM; break; }
    (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
  }
  return finish(r, st, rc);
}

int64_t vouch_record_previous_run(vouch_record_t *r, const char *name, int64_t run,
                                  int64_t runs_before, int64_t pid) {
  if (r->pg) return vouch_pgrec_previous_run(r->pg, name, run, runs_before, pid);
  /* h: the schedule's earlier executions, each with the range of run ids
     it may have made (after the run the history row before it links);
     c: the runs they made, those started as the schedule's, and this
     execution's own. Each part is a range or an index look-up. */
  return one_int(prep(r, "WITH h AS (SELECT s.pid, s.run_id AS hi, coalesce((SELECT q.run_id"
               "   FROM schedule_runs q WHERE q.schedule=?2 AND q.id<s.id AND q.run_id IS NOT NULL"
               "   ORDER BY q.id DESC LIMIT 1), 0) AS lo FROM schedule_runs s"
               "  WHERE s.schedule=?2 AND s.status='ok' AND s.run_id IS NOT NULL AND s.run_id<?1),"
               " c(id) AS (SELECT p.id FROM h JOIN runs p ON p.id>h.lo AND p.id<=h.hi"
               "   AND (p.pid=h.pid OR p.id=h.hi)"
               "  UNION SELECT id FROM runs WHERE started_by='schedule:'||?2 AND id<?1"
               "  UNION SELECT id FROM runs WHERE id>?3 AND id<?1 AND pid=?4)"
               " SELECT p.id FROM runs r JOIN c JOIN runs p ON p.id=c.id"
               " WHERE r.id=?1 AND p.scorecard=r.scorecard AND p.status='ok' AND p.id<r.id"
               "  AND (p.id<=?3 OR p.pid IS NOT ?4 OR p.inputs IS r.inputs)"
               " ORDER BY p.inputs IS r.inputs DESC, p.id DESC LIMIT 1",
               "isii", run, name, runs_before, pid));
}

char *vouch_record_run_scorecard(vouch_record_t *r, int64_t run) {
  if (r->pg) return vouch_pgrec_run_scorecard(r->pg, run);
  sqlite3_stmt *st = prep(r, "SELECT scorecard FROM runs WHERE id=?", "i", run);
  char *s = st && sqlite3_step(st) == SQLITE_ROW ? col_dup(st, 0) : NULL;
  sqlite3_finalize(st);
  return s;
}

char **vouch_record_run_dimensions(vouch_record_t *r, int64_t run, int *n) {
  if (r->pg) return vouch_pgrec_run_dimensions(r->pg, run, n);
  sqlite3_stmt *st = prep(r, "SELECT CASE WHEN j.type='text' THEN j.value END FROM runs r"
                          " JOIN scorecards c ON c.hash=r.scorecard_hash, json_each(CASE WHEN"
                          " NOT json_valid(c.dimensions) THEN '[]' WHEN json_type(c.dimensions)"
                          "='array' THEN c.dimensions ELSE '[]' END) j"
                          " WHERE r.id=? ORDER BY j.key", "i", run);
  char **v = NULL;
  int cap = 0;
  *n = 0;
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    if (grow(&v, *n, &cap, sizeof *v) != 0) break;
    v[(*n)++] = col_dup(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

double *vouch_record_run_values(vouch_record_t *r, int64_t run, int index, int *n) {
  if (r->pg) return vouch_pgrec_run_values(r->pg, run, index, n);
  char path[32];
  sqlite3_stmt *st;
  double *v = NULL;
  int cap = 0;
  *n = 0;
  if (index < 0) {
    st = prep(r, "SELECT total FROM scores WHERE run_id=? AND total IS NOT NULL", "i", run);
  } else {
    snprintf(path, sizeof path, "$[%d]", index);
    st = prep(r, "SELECT v FROM (SELECT json_extract(dims, ?) AS v FROM scores"
              " WHERE run_id=?) WHERE v IS NOT NULL", "si", path, run);
  }
  while (st && sqlite3_step(st) == SQLITE_ROW) {
    if (grow(&v, *n, &cap, sizeof *v) != 0) break;
    v[(*n)++] = sqlite3_column_double(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

int vouch_record_changes(vouch_record_t *r, int64_t run, int64_t prev, double threshold,
                         void (*each)(void *ud, const vouch_score_change_t *c), void *ud) {
  if (r->pg) return vouch_pgrec_changes(r->pg, run, prev, threshold, each, ud);
  sqlite3_stmt *st = prep(r, "SELECT n.partner_id, n.name, o.verdict, n.verdict, o.total, n.total"
               " FROM scores n JOIN scores o ON o.run_id=? AND o.partner_id=n.partner_id"
               " WHERE n.run_id=? AND (o.verdict<>n.verdict OR abs(n.total-o.total)>?)"
               " ORDER BY abs(coalesce(n.total,0)-coalesce(o.total,0)) DESC, n.partner_id",
               "iid", prev, run, threshold);
  int rc;
  if (st == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    vouch_score_change_t c;
    c.partner_id = col_text(st, 0);
    c.name = col_text(st, 1);
    c.from = col_text(st, 2);
    c.to = col_text(st, 3);
    c.total_from = sqlite3_column_double(st, 4);
    c.total_to = sqlite3_column_double(st, 5);
    c.has_from = sqlite3_column_type(st, 4) != SQLITE_NULL;
    c.has_to = sqlite3_column_type(st, 5) != SQLITE_NULL;
    each(ud, &c);
  }
  return finish(r, st, rc);
}

/* The flag outcomes as an SQL list, "('veto',...)", into buf. */
static const char *flag_sql(char *buf, size_t n) {
  size_t len = 0;
  int i;
  for (i = 0; vouch_flag_outcomes[i] && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, "%s'%s'", i ? "," : "(", vouch_flag_outcomes[i]);
  if (len < n) snprintf(buf + len, n - len, ")");
  return buf;
}

int vouch_record_new_flags(vouch_record_t *r, int64_t run, int64_t prev,
                           void (*each)(void *ud, const vouch_flag_t *f), void *ud) {
  if (r->pg) return vouch_pgrec_new_flags(r->pg, run, prev, each, ud);
  char sql[1200], flags[80];
  sqlite3_stmt *st;
  int rc;
  /* A flag is new when the partner's same rule raised none in `prev`. The
     tuple's positions are the record's (VOUCH_REASON_*); a rule's dimension
     is its scorecard's (rules: {code: dimension}). */
  flag_sql(flags, sizeof flags);
  snprintf(sql, sizeof sql,
           "WITH f AS (SELECT s.run_id, s.partner_id, json_extract(j.value, '$[%d]') AS code,"
           "   json_extract(j.value, '$[%d]') AS outcome, json_extract(j.value, '$[%d]') AS points"
           "  FROM scores s, json_each(s.reasons) j WHERE s.run_id IN (?1, ?2))"
           " SELECT r.partner_id, r.code, r.outcome, r.points,"
           "  (SELECT json_extract(c.rules, '$.\"' || r.code || '\"') FROM runs x JOIN scorecards c"
           "   ON c.hash=x.scorecard_hash WHERE x.id=?1) FROM f r"
           " WHERE r.run_id=?1 AND r.outcome IN %s AND NOT EXISTS"
           " (SELECT 1 FROM f p WHERE p.run_id=?2 AND p.partner_id=r.partner_id"
           "  AND p.code=r.code AND p.outcome IN %s)"
           " GROUP BY r.partner_id, r.code, r.outcome ORDER BY r.partner_id, r.code",
           VOUCH_REASON_CODE, VOUCH_REASON_OUTCOME, VOUCH_REASON_POINTS, flags, flags);
  if ((st = prep(r, sql, "ii", run, prev)) == NULL) return VOUCH_RECORD_ERROR;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    vouch_flag_t f;
    f.partner_id = col_text(st, 0);
    f.code = col_text(st, 1);
    f.outcome = col_text(st, 2);
    f.points = sqlite3_column_double(st, 3);
    f.dimension = col_text(st, 4);
    each(ud, &f);
  }
  return finish(r, st, rc);
}

/* }====================================================== */


/*
** {======================================================
** Retention
** The rows to remove are gathered in temporary tables (history rows, runs,
** loads), counted, then deleted; a dry run stops after counting.
** =======================================================
*/

/* ?1 name (NULL: all), ?2 now, ?3 keep, ?4 keep_days. A row is kept by a
   policy when it is among the last `keep` or started after the cutoff. */
#define KEPT(k, keep, days, at) \
  "((" keep ">0 AND " k "<=" keep ") OR (" days ">0 AND " at ">=" \
  " strftime('%Y-%m-%dT%H:%M:%SZ', ?2, printf('-%f days', " days "))))"
#define OWNED "SELECT q.run_id FROM schedule_runs q JOIN schedules s ON s.name=q.schedule" \
              " WHERE (s.keep>0 OR s.keep_days>0) AND q.run_id IS NOT NULL"

static const char *const prune_sql[] = {
  "CREATE TEMP TABLE IF NOT EXISTS prune_h(id INTEGER PRIMARY KEY)",
  "CREATE TEMP TABLE IF NOT EXISTS prune_r(id INTEGER PRIMARY KEY)",
  "CREATE TEMP TABLE IF NOT EXISTS prune_l(id INTEGER PRIMARY KEY)",
  "DELETE FROM prune_h", "DELETE FROM prune_r", "DELETE FROM prune_l",
  /* a schedule's own retention: its history, and the runs only that links */
  "INSERT INTO prune_h SELECT id FROM (SELECT q.id, q.started_at, s.keep, s.keep_days,"
  " row_number() OVER (PARTITION BY q.schedule ORDER BY q.id DESC) AS k"
  " FROM schedule_runs q JOIN schedules s ON s.name=q.schedule"
  " WHERE (s.keep>0 OR s.keep_days>0) AND (?1 IS NULL OR s.name=?1) AND q.status<>'running')"
  " WHERE NOT " KEPT("k", "keep", "keep_days", "started_at"),
  "INSERT OR IGNORE INTO prune_r SELECT q.run_id FROM schedule_runs q JOIN prune_h h ON h.id=q.id"
  " JOIN runs p ON p.id=q.run_id WHERE p.status<>'running' AND q.run_id NOT IN"
  " (SELECT run_id FROM schedule_runs WHERE run_id IS NOT NULL AND id NOT IN prune_h)",
  /* every other finished run: the policy given */
  "INSERT OR IGNORE INTO prune_r SELECT id FROM (SELECT id, started_at,"
  " row_number() OVER (ORDER BY id DESC) AS k FROM runs"
  " WHERE status<>'running' AND id NOT IN (" OWNED "))"
  " WHERE ?1 IS NULL AND (?3>0 OR ?4>0) AND NOT " KEPT("k", "?3", "?4", "started_at"),
  /* the loads only pruned runs read */
  "INSERT INTO prune_l SELECT DISTINCT load_id FROM run_loads WHERE run_id IN prune_r"
  " AND load_id NOT IN (SELECT load_id FROM run_loads WHERE run_id NOT IN prune_r)",
};

static const char *const prune_delete[] = {
  "DELETE FROM schedule_runs WHERE id IN prune_h",
  "UPDATE schedule_runs SET run_id=NULL WHERE run_id IN prune_r",
  "DELETE FROM runs WHERE id IN prune_r",   /* scores and run_loads go with them */
  "DELETE FROM inputs WHERE load_id IN prune_l",
  "DELETE FROM loads WHERE id IN prune_l",
};

#define NELEM(a) (sizeof (a) / sizeof (a)[0])

int vouch_record_prune(vouch_record_t *r, const char *name, int64_t keep, double keep_days,
                       const char *now, int dry_run, vouch_prune_t *out) {
  if (r->pg) return vouch_pgrec_prune(r->pg, name, keep, keep_days, now, dry_run, out);
  size_t i;
  int rc;
  memset(out, 0, sizeof *out);
  if (vouch_record_flush(r) != VOUCH_RECORD_OK) return VOUCH_RECORD_BUSY;
  if ((rc = done(r, prep(r, "BEGIN IMMEDIATE", NULL))) != VOUCH_RECORD_OK) return rc;
  for (i = 0; i < NELEM(prune_sql); i++)
    if ((rc = done(r, prep(r, prune_sql[i], "ssid", name, now, keep, keep_days))) != VOUCH_RECORD_OK)
      goto rollback;
  out->history = one_int(prep(r, "SELECT count(*) FROM prune_h", NULL));
  out->runs = one_int(prep(r, "SELECT count(*) FROM prune_r", NULL));
  out->scores = one_int(prep(r, "SELECT count(*) FROM scores WHERE run_id IN prune_r", NULL));
  out->loads = one_int(prep(r, "SELECT count(*) FROM prune_l", NULL));
  out->inputs = one_int(prep(r, "SELECT count(*) FROM inputs WHERE load_id IN prune_l", NULL));
  for (i = 0; !dry_run && i < NELEM(prune_delete); i++)
    if ((rc = done(r, prep(r, prune_delete[i], NULL))) != VOUCH_RECORD_OK) goto rollback;
  if ((rc = done(r, prep(r, dry_run ? "ROLLBACK" : "COMMIT", NULL))) == VOUCH_RECORD_OK)
    return VOUCH_RECORD_OK;
rollback:
  sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
  memset(out, 0, sizeof *out);
  return rc;
}

/* }====================================================== */
