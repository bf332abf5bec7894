/*
** compare.c: the comparison of a schedule's scoring run with the one before
** it: verdicts that changed, totals that moved, red flags that came, and the
** drift (population stability index) of the total and of each dimension the
** two runs' scorecards share. The daemon sends what it finds as an alert.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record.h"
#include "vouch_sched.h"


static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/*
** Population stability index of `a` (new) against `e` (expected, the
** previous run), each sorted here in place: ten bins cut at the deciles of `e` (fewer when
** values repeat), empty bins counted as 0.0001 so the logarithm stays finite.
*/
double vouch_psi(double *e, int ne, double *a, int na) {
  double edges[9], psi = 0;
  int nedges = 0, k, b;
  if (ne == 0 || na == 0) return 0;
  qsort(e, (size_t)ne, sizeof *e, cmp_double);
  qsort(a, (size_t)na, sizeof *a, cmp_double);
  for (k = 1; k <= 9; k++) {
    double q = e[(k * ne) / 10 < ne ? (k * ne) / 10 : ne - 1];
    if (nedges == 0 || q > edges[nedges - 1]) edges[nedges++] = q;
  }
  for (b = 0; b <= nedges; b++) {
    int ce = 0, ca = 0, i;
    double lo = b == 0 ? -INFINITY : edges[b - 1], hi = b == nedges ? INFINITY : edges[b];
    double pe, pa;
    for (i = 0; i < ne; i++) ce += e[i] >= lo && e[i] < hi;
    for (i = 0; i < na; i++) ca += a[i] >= lo && a[i] < hi;
    pe = (double)ce / ne; pa = (double)ca / na;
    if (pe < 1e-4) pe = 1e-4;
    if (pa < 1e-4) pa = 1e-4;
    psi += (pa - pe) * log(pa / pe);
  }
  return psi;
}

const char *vouch_psi_band(double psi) {
  return psi < 0.1 ? "stable" : psi < 0.25 ? "moderate" : "significant";
}


/* PSI of one column between two runs, added to `drift`; 1 when it moved. */
static int drift_of(vouch_record_t *r, json_t *drift, const char *name, int ia, int64_t a,
                    int ib, int64_t b) {
  int ne, na, moved = 0;
  double *ev = vouch_record_run_values(r, a, ia, &ne);
  double *av = vouch_record_run_values(r, b, ib, &na);
  if (ne > 0 && na > 0) {
    double p = vouch_psi(ev, ne, av, na);
    json_array_append_new(drift, json_pack("{s:s, s:f, s:s}", "dimension", name,
                                           "psi", round(p * 10000) / 10000,
                                           "band", vouch_psi_band(p)));
    moved = p >= 0.1;
  }
  free(ev);
  free(av);
  return moved;
}

static void free_names(char **v, int n) {
  int i;
  for (i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* The position of `name` in a list of names, or -1. */
static int name_index(char **v, int n, const char *name) {
  int i;
  for (i = 0; i < n; i++)
    if (v[i] && strcmp(v[i], name) == 0) return i;
  return -1;
}

typedef struct changes {
  json_t *changes, *moves;
  double threshold;
} changes;

static void add_change(void *ud, const vouch_score_change_t *c) {
  changes *ch = ud;
  json_t *o = json_pack("{s:s?, s:s?, s:s?, s:s?}", "partner_id", c->partner_id,
                        "name", c->name, "from", c->from, "to", c->to);
  json_object_set_new(o, "total_from", c->has_from ? json_real(c->total_from) : json_null());
  json_object_set_new(o, "total_to", c->has_to ? json_real(c->total_to) : json_null());
  if (strcmp(c->from ? c->from : "", c->to ? c->to : ""))
    json_array_append(ch->changes, o);
  if (fabs(c->total_to - c->total_from) > ch->threshold) json_array_append(ch->moves, o);
  json_decref(o);
}

static void add_flag(void *ud, const vouch_flag_t *f) {
  json_array_append_new(ud, json_pack("{s:s?, s:s?, s:s?, s:f, s:s?}",
    "partner_id", f->partner_id, "code", f->code, "outcome", f->outcome,
    "points", f->points, "dimension", f->dimension));
}


/*
** Compare scoring run `run` with run `prev`: verdicts that changed, totals
** that moved more than `threshold`, flags raised that were not, and the
** drift of the total and of each dimension the two runs' scorecards share
** (by name, whatever their order). Returns a JSON report (owned by the
** caller) when something moved, NULL when nothing did.
*/
json_t *vouch_sched_compare(vouch_record_t *r, int64_t run, int64_t prev, double threshold) {
  char *scorecard, **dims_now, **dims_prev;
  json_t *rep, *flags, *drift;
  changes ch;
  int worth = 0, nnow, nprev, i;
  if (prev <= 0) return NULL;
  scorecard = vouch_record_run_scorecard(r, run);
  rep = json_object();
  json_object_set_new(rep, "scorecard", json_string(scorecard ? scorecard : ""));
  json_object_set_new(rep, "run_id", json_integer(run));
  json_object_set_new(rep, "previous_run_id", json_integer(prev));
  free(scorecard);

  ch.changes = json_array();
  ch.moves = json_array();
  ch.threshold = threshold;
  vouch_record_changes(r, run, prev, threshold, add_change, &ch);
  json_object_set_new(rep, "verdict_changes", ch.changes);
  json_object_set_new(rep, "moves", ch.moves);
  json_object_set_new(rep, "threshold", json_real(threshold));

  flags = json_array();
  vouch_record_new_flags(r, run, prev, add_flag, flags);
  json_object_set_new(rep, "new_flags", flags);

  /* Drift of the total, then of each dimension of this run's scorecard
     that the previous run's scorecard has too. */
  drift = json_array();
  worth |= drift_of(r, drift, "total", -1, prev, -1, run);
  dims_now = vouch_record_run_dimensions(r, run, &nnow);
  dims_prev = vouch_record_run_dimensions(r, prev, &nprev);
  for (i = 0; i < nnow; i++) {
    int k = dims_now[i] ? name_index(dims_prev, nprev, dims_now[i]) : -1;
    if (k >= 0) worth |= drift_of(r, drift, dims_now[i], k, prev, i, run);
  }
  free_names(dims_now, nnow);
  free_names(dims_prev, nprev);
  json_object_set_new(rep, "drift", drift);
  if (json_array_size(ch.changes) || json_array_size(ch.moves) || json_array_size(flags))
    worth = 1;
  if (!worth) {
    json_decref(rep);
    return NULL;
  }
  return rep;
}
