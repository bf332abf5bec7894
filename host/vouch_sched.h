/*
** vouch_sched.h: the scheduler's parts that other host files and tests use.
*/
#ifndef VOUCH_SCHED_H
#define VOUCH_SCHED_H

#include <jansson.h>
#include <sqlite3.h>

/* Population stability index of sorted `a` against sorted `e`, and its band
** ("stable" < 0.1 <= "moderate" < 0.25 <= "significant"). */
double vouch_psi(const double *e, int ne, const double *a, int na);
const char *vouch_psi_band(double psi);

/* Compare scorecard run `run` with the previous finished run of the same
** scorecard: a JSON report (caller owns it) when something moved, else NULL. */
json_t *vouch_sched_compare(sqlite3 *db, int64_t run, double threshold);

#endif
