/*
** record.h: the host's record as the scheduler and the monitor reach it.
** Schedules, their runs and triggers, the scoring runs a schedule's runs
** are compared with, and the retention of runs are read and written only
** through these calls: the
** tables and their SQL stay in record.c, so that another database can be put
** behind this interface.
**
** Values are plain C: text is UTF-8 (NULL where the record has none), times
** are UTC text as vouch_time_utc writes them. A call that fails returns
** VOUCH_RECORD_ERROR (or NULL) and vouch_record_error says why; a write that
** finds the database locked by another writer returns VOUCH_RECORD_BUSY.
** Call them from one thread.
*/
#ifndef VOUCH_RECORD_H
#define VOUCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "vouch.h"

enum { VOUCH_RECORD_OK = 0, VOUCH_RECORD_ERROR = -1, VOUCH_RECORD_BUSY = -2,
       VOUCH_RECORD_LOST = -3 };  /* a daemon's write after its lease expired (below) */

typedef struct vouch_record vouch_record_t;  /* an open record */

/*
** {======================================================
** The stored reasons
** A partner's principal reasons and raised flags are stored as a JSON
** array of tuples; these are the tuple's 0-based positions. A rule's
** dimension is not in the tuple: its scorecard names it once (rules). A reason whose
** outcome is one of vouch_flag_outcomes is a red flag and is stored whether
** or not it is a principal reason. Lua sees the same as vouch.REASON.
** =======================================================
*/

enum {
  VOUCH_REASON_CODE, VOUCH_REASON_OUTCOME, VOUCH_REASON_POINTS, VOUCH_REASON_RANK,
  VOUCH_REASON_EVIDENCE         /* a portfolio flag's, when it has one */
};

/* veto, penalty, cap, review; NULL-terminated. */
extern const char *const vouch_flag_outcomes[];

/* }====================================================== */


/* Open the host's record at `path` (migrated to the newest schema): a
** SQLite file, or a PostgreSQL server named by a connection URI
** (postgresql://...). NULL and a malloc'd message in *err. `h` (may be
** NULL) is the host whose limits long queries obey. */
vouch_record_t *vouch_record_open(const char *path, vouch_host_t *h, char **err);
void vouch_record_close(vouch_record_t *r);

/* Why the last call failed (owned by r, valid until the next call). */
const char *vouch_record_error(vouch_record_t *r);

/* Whether the record is on a server, where several daemons may share it. */
int vouch_record_shared(vouch_record_t *r);


/*
** {======================================================
** Writes that wait
** A scoring run holds the write lock for as long as it stores; an engine
** that must not stop for it turns deferring on. Then a write that finds the
** lock taken (after waiting `wait_ms`) is kept, and the writes kept are
** made, in order, before any later write: it returns VOUCH_RECORD_OK as if
** made. `report` (may be NULL) hears of it: event "busy" when the first
** write waits, "error" when a kept write fails once made (it is dropped).
** =======================================================
*/

typedef void (*vouch_record_report_cb)(void *ud, const char *event, const char *message);

void vouch_record_defer(vouch_record_t *r, int wait_ms, vouch_record_report_cb report, void *ud);

/* Make the kept writes: VOUCH_RECORD_OK when none is left, or BUSY. */
int vouch_record_flush(vouch_record_t *r);

/* Keep making them, waiting for the lock, for at most `seconds`; then drop
** what is left. Returns how many were dropped. */
int vouch_record_flush_wait(vouch_record_t *r, int seconds);

/* }====================================================== */


/*
** {======================================================
** Daemons and their leases
** On a server any number of daemons, on any number of machines, share the
** schedules. Each joins with a lease that it renews (vouch_record_renew)
** well before it ends. A schedule is driven by one daemon at a time, the
** one that claimed it, until that daemon leaves or its lease expires; then
** another daemon's claim takes it over. Once joined, vouch_record_schedules
** and vouch_record_triggers give only what this daemon holds, and every
** write for a schedule checks, in the same statement, that this daemon
** still holds it: one that lost its lease (killed, paused, cut off) gets
** VOUCH_RECORD_LOST, however late it wakes. A due time runs once: starting
** it a second time, from any daemon, is LOST too.
** A SQLite file has a single daemon (the lock on DB.lock): there join,
** renew, leave and claim do nothing.
** =======================================================
*/

typedef struct vouch_daemon {
  int64_t id;
  char *host, *started_at, *seen_at;  /* owned (vouch_daemons_free) */
  int64_t pid, schedules;       /* its process on `host`; how many schedules it holds */
  int lease_ms;
  int alive;                    /* its lease has not expired */
} vouch_daemon_t;

void vouch_daemons_free(vouch_daemon_t *v, int n);

/* Join as a daemon of process `pid` on `host` with a lease of `lease_ms`
** (its times are the server's clock). */
int vouch_record_join(vouch_record_t *r, const char *host, int64_t pid, int lease_ms);
/* Renew the lease: OK, LOST when it had expired (rejoin; the schedules it
** held may be another's now), BUSY or ERROR when the server did not answer. */
int vouch_record_renew(vouch_record_t *r);
/* Leave: the schedules held are free for the others at once. */
int vouch_record_leave(vouch_record_t *r);
/*
** Claim every schedule no live daemon holds. For each taken from a daemon
** whose lease expired, the runs it left running are marked aborted, and
** `each` hears the schedule's name, the last due time whose run ended or was
** skipped (NULL: none) and the first due time among the runs just aborted
** (NULL: none). The due times after the one and from the other did not run;
** the schedule's missed policy decides what becomes of them.
*/
int vouch_record_claim(vouch_record_t *r, const char *at,
                       void (*each)(void *ud, const char *schedule, const char *last_for,
                                    const char *first_aborted),
                       void *ud);
/* The daemons that joined and have not left, oldest first (malloc'd array). */
int vouch_record_daemons(vouch_record_t *r, vouch_daemon_t **v, int *n);

/* }====================================================== */


/*
** {======================================================
** Schedules
** =======================================================
*/

/* A schedule as stored. Text fields are owned (vouch_schedule_free). */
typedef struct vouch_schedule {
  char *name, *expr, *tz;
  char *script;                 /* an absolute Lua file, or cmd:vet / cmd:report */
  char *args;                   /* JSON array of strings */
  char *missed;                 /* skip | once | each */
  char *overlap;                /* skip | queue | replace */
  char *alerts;                 /* JSON array of alert targets */
  char *dir;                    /* where it was added: its runs' working directory */
  char *grants;                 /* JSON: what its runs may do */
  char *created_at, *last_run, *next_run;
  int64_t missed_cap, jitter, paused;
  double threshold;             /* points a total may move before it is reported */
  int64_t keep;                 /* retention: its last `keep` runs (0: no such limit) */
  double keep_days;             /* and those of the last `keep_days` days (0: none) */
  char *holder;                 /* on a server, the daemon that drives it ("HOST pid N"), or NULL */
} vouch_schedule_t;

void vouch_schedule_free(vouch_schedule_t *s);
void vouch_schedules_free(vouch_schedule_t *v, int n);

/* The schedule `name` into *s: 1, 0 when there is none, or ERROR. */
int vouch_record_schedule_get(vouch_record_t *r, const char *name, vouch_schedule_t *s);

/* Every schedule (with `paused` 0, only those not paused), by name, into a
** malloc'd array (vouch_schedules_free): OK or ERROR. */
int vouch_record_schedules(vouch_record_t *r, int paused, vouch_schedule_t **v, int *n);

/* Store s (every field but last_run; `paused` only
** when new). A schedule of the same name is updated: it keeps its history,
** whether it is paused and, when expr and tz are the same, its next run. */
int vouch_record_schedule_put(vouch_record_t *r, const vouch_schedule_t *s);

/* Remove, pause or resume (with its next run) the schedule `name`: 1, 0 when
** there is none, or ERROR. */
int vouch_record_schedule_remove(vouch_record_t *r, const char *name);
int vouch_record_schedule_pause(vouch_record_t *r, const char *name);
int vouch_record_schedule_resume(vouch_record_t *r, const char *name, const char *next_run);

/* When it runs next (NULL: never) and when it last started. */
int vouch_record_schedule_next(vouch_record_t *r, const char *name, const char *next_run);
int vouch_record_schedule_started(vouch_record_t *r, const char *name, const char *at);

/* }====================================================== */


/*
** {======================================================
** A schedule's runs (its history) and early re-runs
** =======================================================
*/

/* A run of a schedule. Text fields are owned (vouch_sched_runs_free). */
typedef struct vouch_sched_run {
  int64_t id;
  char *schedule, *scheduled_for, *trigger;
  char *status;                 /* running ok failed limit crashed aborted replaced skipped */
  char *started_at, *ended_at;
  double duration;              /* seconds, < 0 while it runs */
  int64_t exit_code;            /* < 0 when it has none */
  char *error, *output;
  int64_t pid;                  /* 0 when none */
  int64_t run_id;               /* the scoring run it made last, 0 when none */
  char *alert;                  /* JSON array of the alerts it raised, or NULL */
  char *daemon;                 /* on a server, the daemon that ran it ("HOST pid N"), or NULL */
} vouch_sched_run_t;

void vouch_sched_runs_free(vouch_sched_run_t *v, int n);

/* The runs of every schedule, or of `name`, newest first, at most `limit`;
** with `alerts`, only those that raised one. OK or ERROR. */
int vouch_record_history(vouch_record_t *r, const char *name, int64_t limit, int alerts,
                         vouch_sched_run_t **v, int *n);

/* A run starts: its row, with its id in *id. Not kept when the lock is
** taken (BUSY): the caller tries again later. */
int vouch_record_run_start(vouch_record_t *r, const char *name, const char *scheduled_for,
                           const char *trigger, const char *at, int64_t *id);
int vouch_record_run_pid(vouch_record_t *r, int64_t id, int64_t pid);

/* A run that never started (`status` skipped, or failed when refused). */
int vouch_record_run_not_started(vouch_record_t *r, const char *name, const char *scheduled_for,
                                 const char *trigger, const char *status, const char *at,
                                 const char *error);

/* A run ended: run->status, ended_at, duration, exit_code, error, output,
** run_id and alert into the row run->id. */
int vouch_record_run_end(vouch_record_t *r, const vouch_sched_run_t *run);

/* The runs recorded as running whose process may have died: those with a
** pid (and, with `unstarted`, those without one yet): malloc'd arrays of
** ids and pids. Then each that did is marked aborted with `error`. */
int vouch_record_running(vouch_record_t *r, int unstarted, int64_t **ids, int64_t **pids,
                         int *n);
int vouch_record_run_abort(vouch_record_t *r, int64_t id, const char *at, const char *error);

/* An early re-run asked for by a script. */
typedef struct vouch_trigger {
  int64_t id;
  char *schedule, *partner, *reason;  /* owned; partner and reason may be NULL */
} vouch_trigger_t;

void vouch_triggers_free(vouch_trigger_t *v, int n);

/* Ask for one (a trigger of the same partner that still waits counts once). */
int vouch_record_trigger(vouch_record_t *r, const char *name, const char *partner,
                         const char *reason, const char *at);

/* Those not yet fired, oldest first (malloc'd array); then each as fired. */
int vouch_record_triggers(vouch_record_t *r, vouch_trigger_t **v, int *n);
int vouch_record_trigger_fired(vouch_record_t *r, int64_t id, const char *at);

/* }====================================================== */


/*
** {======================================================
** Scoring runs, as the monitor compares them
** =======================================================
*/

/* The newest scoring run's id (0 when none): runs after it are new. */
int64_t vouch_record_last_run(vouch_record_t *r);

/* The scoring runs that ended ok after run `after` and were made by process
** `pid` or started as schedule `name`, oldest first (malloc'd array). */
int vouch_record_runs_made(vouch_record_t *r, int64_t after, int64_t pid, const char *name,
                           int64_t **ids, int *n);

/*
** The run that scoring run `run`, made by schedule `name`, is compared with:
** the latest earlier finished run of the same scorecard made by the same
** schedule, preferring one over the same inputs. A schedule's runs are those
** its history links (the last of each execution), the others its
** executions' processes made (same pid, after the run the previous history
** row links), those started as "schedule:NAME", and those made earlier by
** this execution over the same inputs (id above `runs_before`, process
** `pid`: a run over other inputs there is a sibling, not a predecessor).
** Another schedule's runs are never taken: they score other data. 0 when
** there is none.
*/
int64_t vouch_record_previous_run(vouch_record_t *r, const char *name, int64_t run,
                                  int64_t runs_before, int64_t pid);

/* The scorecard's name of a run (malloc'd, NULL when none). */
char *vouch_record_run_scorecard(vouch_record_t *r, int64_t run);

/* The dimension names of a run's scorecard in its order: a malloc'd array
** of malloc'd strings (NULL where a name is not text; free each, then it),
** *n 0 when not recorded. */
char **vouch_record_run_dimensions(vouch_record_t *r, int64_t run, int *n);

/* The values of the total (`index` < 0) or of the dimension at `index` of a
** run's scores, none missing, in no order: a malloc'd array. */
double *vouch_record_run_values(vouch_record_t *r, int64_t run, int index, int *n);

/* A partner scored by both runs. */
typedef struct vouch_score_change {
  const char *partner_id, *name;
  const char *from, *to;        /* verdicts */
  double total_from, total_to;
  int has_from, has_to;         /* whether each total is known */
} vouch_score_change_t;

/* A red flag raised in one run. */
typedef struct vouch_flag {
  const char *partner_id, *code, *outcome, *dimension;
  double points;
} vouch_flag_t;

/* Each partner whose verdict changed from run `prev` to `run`, or whose
** total moved more than `threshold`, largest move first. Fields are valid
** during the call only. */
int vouch_record_changes(vouch_record_t *r, int64_t run, int64_t prev, double threshold,
                         void (*each)(void *ud, const vouch_score_change_t *c), void *ud);

/* Each flag raised in `run` whose partner's same rule raised none in `prev`,
** by partner and code. */
int vouch_record_new_flags(vouch_record_t *r, int64_t run, int64_t prev,
                           void (*each)(void *ud, const vouch_flag_t *f), void *ud);

/* }====================================================== */


/*
** {======================================================
** Retention
** A policy keeps the last `keep` runs and those started in the last
** `keep_days` days before `now` (a limit of 0 is no limit of that kind;
** both 0 keep everything). A schedule with a retention of its own applies
** it to its history and to the scoring runs its history links; every other
** finished scoring run follows the policy given. Pruning a run removes its
** scores, and the inputs and loads that no run uses any more, all in one
** transaction.
** =======================================================
*/

typedef struct vouch_prune {
  int64_t runs, scores, loads, inputs, history;  /* rows removed (or that would be) */
} vouch_prune_t;

/* Prune by the policy (keep, keep_days) and each schedule's own retention,
** or with `name` that schedule's alone; with `dry_run`, count what would go
** and change nothing. OK, BUSY or ERROR (then nothing changed). */
int vouch_record_prune(vouch_record_t *r, const char *name, int64_t keep, double keep_days,
                       const char *now, int dry_run, vouch_prune_t *out);

/* }====================================================== */

#endif
