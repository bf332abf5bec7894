/*
** vouch_sched.h: the scheduler's parts that other host files and tests use.
*/
#ifndef VOUCH_SCHED_H
#define VOUCH_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "record.h"

/* Population stability index of `a` against `e` (each sorted in place), and
** its band ("stable" < 0.1 <= "moderate" < 0.25 <= "significant"): compare.c. */
double vouch_psi(double *e, int ne, double *a, int na);
const char *vouch_psi_band(double psi);

/* Compare scorecard run `run` with run `prev` (the previous finished run of
** the same schedule and scorecard): a JSON report (caller owns it) when
** something moved, else NULL (compare.c). */
json_t *vouch_sched_compare(vouch_record_t *r, int64_t run, int64_t prev, double threshold);

/* The pid of the daemon running on the database `db_path`, 0 when none. */
long vouch_sched_daemon_pid(const char *db_path);


/*
** {======================================================
** The boundary: what a schedule's run may do
**
** A schedule row is read back from a database file that anything may have
** written, so every field is untrusted input. A row is run only as the plan
** vouch_sched_check_row makes of it: the grants it recorded when it was
** added (the `grants` column), never wider than those of the process that
** runs it, and a command line on which nothing from the row can be taken
** for a host option.
** =======================================================
*/

/* What a run may do. Paths are absolute and resolved. */
typedef struct vouch_sched_grants {
  char **read, **write, **net;  /* owned lists; net holds host names or "*" */
  char **env;                   /* owned: variable names (never their values) */
  int nread, nwrite, nnet, nenv;
  size_t max_memory;            /* bytes, 0 = none */
  double timeout;               /* seconds, 0 = none */
  int trusted;                  /* --trusted: no capability is checked */
} vouch_sched_grants_t;

/* A schedule row as read back; any field may be NULL. */
typedef struct vouch_sched_row {
  const char *script;           /* an absolute Lua file, or cmd:vet / cmd:report */
  const char *args;             /* JSON array of strings */
  const char *dir;              /* the runs' working directory */
  const char *alerts;           /* JSON array of alert targets */
  const char *grants;           /* JSON object (vouch_sched_grants_json) */
} vouch_sched_row_t;

/* An accepted row: how to start its run. */
typedef struct vouch_sched_plan {
  char **argv;                  /* exe, host options, command, arguments, NULL; owned */
  int argc;
  int nhost;                    /* argv[1..nhost] are the host options */
  char *dir;                    /* the child's working directory; owned */
  vouch_sched_grants_t grants;  /* what the run gets: the row's, within the runner's */
} vouch_sched_plan_t;

/* Parse grants JSON into *g (caller frees with vouch_sched_grants_free);
** 0, or -1 with the reason in why. NULL text is refused. */
int vouch_sched_grants_parse(const char *text, vouch_sched_grants_t *g, char *why, size_t n);
/* The grants as JSON text (malloc'd), as the grants column keeps them. */
char *vouch_sched_grants_json(const vouch_sched_grants_t *g);
/* Add a copy of `item` to a list of g (0 or -1); `which` is 'r', 'w' or 'n'. */
int vouch_sched_grants_add(vouch_sched_grants_t *g, int which, const char *item);
void vouch_sched_grants_free(vouch_sched_grants_t *g);

/* Whether vouch's command line takes `arg` as a host option (--trusted,
** --db, --allow-*, --max-memory, --timeout, with or without =VALUE). */
int vouch_sched_host_option(const char *arg);

/*
** An http(s) alert URL, parsed with libcurl's URL parser: no user name or
** password, and a host that g allows. 1 and *clean (the URL as libcurl
** rebuilt it, malloc'd, when clean is not NULL), or 0 with the reason.
*/
int vouch_sched_check_url(const char *url, const vouch_sched_grants_t *g, char **clean,
                          char *why, size_t n);

/* An alert target (stderr, file:ABSOLUTE-PATH under g's write grant, or an
** http(s) URL as above). 1 and *clean (malloc'd, may be NULL), or 0 and why. */
int vouch_sched_check_alert(const char *target, const vouch_sched_grants_t *g, char **clean,
                            char *why, size_t n);

/*
** Check a row against the grants of the process that would run it
** (`runner`) and plan the run: `exe` and `db` start the child's command
** line. 1 with *plan filled (free it with vouch_sched_plan_free), or 0 with
** the reason in why and nothing to free.
*/
int vouch_sched_check_row(const vouch_sched_row_t *row, const vouch_sched_grants_t *runner,
                          const char *exe, const char *db, vouch_sched_plan_t *plan,
                          char *why, size_t n);
void vouch_sched_plan_free(vouch_sched_plan_t *p);

/* }====================================================== */

#endif
