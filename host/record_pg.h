/*
** record_pg.h: the record layer on a PostgreSQL server (record_pg.c).
** record.c calls these when the record was opened with a connection URI;
** each does what the record.h call of the same name does.
*/
#ifndef VOUCH_RECORD_PG_H
#define VOUCH_RECORD_PG_H

#include "record.h"

typedef struct vouch_pgrec vouch_pgrec_t;

/* Whether `s` names a server (postgresql:// or postgres://) rather than a file. */
int vouch_pgrec_is_uri(const char *s);

/* `db` as logs and messages show it: a URI without its password
** (user:PASSWORD@ or password=...), a file's path as it is. */
void vouch_pgrec_shown(const char *db, char *out, size_t n);

vouch_pgrec_t *vouch_pgrec_open(const char *uri, char **err);
void vouch_pgrec_close(vouch_pgrec_t *r);
const char *vouch_pgrec_error(vouch_pgrec_t *r);

int vouch_pgrec_rejoin(vouch_pgrec_t *r, int ms);
void vouch_pgrec_defer(vouch_pgrec_t *r, int wait_ms, vouch_record_report_cb report, void *ud);
int vouch_pgrec_flush(vouch_pgrec_t *r);
int vouch_pgrec_flush_wait(vouch_pgrec_t *r, int seconds);

int vouch_pgrec_daemon_join(vouch_pgrec_t *r, const char *host, int64_t pid, int lease_ms);
int vouch_pgrec_daemon_renew(vouch_pgrec_t *r);
int vouch_pgrec_daemon_leave(vouch_pgrec_t *r);
int vouch_pgrec_claim(vouch_pgrec_t *r, const char *at,
                      void (*each)(void *ud, const char *schedule, const char *last_for,
                                   const char *first_aborted),
                      void *ud);
int vouch_pgrec_daemons(vouch_pgrec_t *r, vouch_daemon_t **v, int *n);

int vouch_pgrec_schedule_get(vouch_pgrec_t *r, const char *name, vouch_schedule_t *s);
int vouch_pgrec_schedules(vouch_pgrec_t *r, int paused, vouch_schedule_t **v, int *n);
int vouch_pgrec_schedule_put(vouch_pgrec_t *r, const vouch_schedule_t *s);
int vouch_pgrec_schedule_remove(vouch_pgrec_t *r, const char *name);
int vouch_pgrec_schedule_pause(vouch_pgrec_t *r, const char *name);
int vouch_pgrec_schedule_resume(vouch_pgrec_t *r, const char *name, const char *next_run);
int vouch_pgrec_schedule_next(vouch_pgrec_t *r, const char *name, const char *next_run);
int vouch_pgrec_schedule_started(vouch_pgrec_t *r, const char *name, const char *at);

int vouch_pgrec_history(vouch_pgrec_t *r, const char *name, int64_t limit, int alerts,
                        vouch_sched_run_t **v, int *n);
int vouch_pgrec_run_start(vouch_pgrec_t *r, const char *name, const char *scheduled_for,
                          const char *trigger, const char *at, int64_t *id);
int vouch_pgrec_run_pid(vouch_pgrec_t *r, int64_t id, int64_t pid);
int vouch_pgrec_run_not_started(vouch_pgrec_t *r, const char *name, const char *scheduled_for,
                                const char *trigger, const char *status, const char *at,
                                const char *error);
int vouch_pgrec_run_end(vouch_pgrec_t *r, const vouch_sched_run_t *run);
int vouch_pgrec_running(vouch_pgrec_t *r, int unstarted, int64_t **ids, int64_t **pids, int *n);
int vouch_pgrec_run_abort(vouch_pgrec_t *r, int64_t id, const char *at, const char *error);
int vouch_pgrec_trigger(vouch_pgrec_t *r, const char *name, const char *partner,
                        const char *reason, const char *at);
int vouch_pgrec_triggers(vouch_pgrec_t *r, vouch_trigger_t **v, int *n);
int vouch_pgrec_trigger_fired(vouch_pgrec_t *r, int64_t id, const char *at);

int64_t vouch_pgrec_last_run(vouch_pgrec_t *r);
int vouch_pgrec_runs_made(vouch_pgrec_t *r, int64_t after, int64_t pid, const char *name,
                          int64_t **ids, int *n);
int64_t vouch_pgrec_previous_run(vouch_pgrec_t *r, const char *name, int64_t run,
                                 int64_t runs_before, int64_t pid);
char *vouch_pgrec_run_scorecard(vouch_pgrec_t *r, int64_t run);
char **vouch_pgrec_run_dimensions(vouch_pgrec_t *r, int64_t run, int *n);
double *vouch_pgrec_run_values(vouch_pgrec_t *r, int64_t run, int index, int *n);
int vouch_pgrec_changes(vouch_pgrec_t *r, int64_t run, int64_t prev, double threshold,
                        void (*each)(void *ud, const vouch_score_change_t *c), void *ud);
int vouch_pgrec_new_flags(vouch_pgrec_t *r, int64_t run, int64_t prev,
                          void (*each)(void *ud, const vouch_flag_t *f), void *ud);

int vouch_pgrec_prune(vouch_pgrec_t *r, const char *name, int64_t keep, double keep_days,
                      const char *now, int dry_run, vouch_prune_t *out);

/* Scoring runs through a SQLite file (db.c). */
struct sqlite3;
typedef struct vouch_shard_ask {
  const char *key;              /* the run's key: the processes scoring it agree on it */
  const char *batch;            /* non-NULL: a batch scored once (its key includes it) */
  int64_t run;                  /* > 0: the run joined before, not a new one */
  int of;                       /* shards */
  int want;                     /* the shard asked for, 0-based */
  const char *holder;           /* "HOST pid N" */
  int lease_ms;
  const char *card, *hash, *inputs, *at, *by;  /* as run_begin's, for a new run */
  int64_t pid;
} vouch_shard_ask_t;

int vouch_pgrec_copy_runs(vouch_pgrec_t *r, struct sqlite3 *db, int scores);
int vouch_pgrec_run_new(vouch_pgrec_t *r, const char *card, const char *hash, const char *inputs,
                        const char *at, const char *by, int64_t pid, int lease_ms, int64_t *id);
/* Keep the lease on run `run` (begun by vouch_pgrec_run_new): LOST when
   it was marked aborted, its lease having run out. */
int vouch_pgrec_run_renew(vouch_pgrec_t *r, int64_t run, int lease_ms);
/* Add partner `id` or update it (its first_seen kept, last_seen `now`);
   `first` (32 bytes) gets its first_seen on the server. */
int vouch_pgrec_put_partner(vouch_pgrec_t *r, const char *id, const char *name, const char *kind,
                            const char *attrs, const char *now, char *first);
int vouch_pgrec_shard_claim(vouch_pgrec_t *r, const vouch_shard_ask_t *a, int64_t *run,
                            int *shard, int64_t *claims, const char **state);
int vouch_pgrec_shard_renew(vouch_pgrec_t *r, int64_t run, int shard, const char *holder,
                            int64_t claims, int lease_ms);
int vouch_pgrec_push(vouch_pgrec_t *r, struct sqlite3 *db, int64_t run, int shard,
                     const char *holder, int64_t claims, const char **state);

#endif
