/*
** fuzz_sched.c: schedule rows and alert URLs as a database anything may
** write would hold them. The input is up to seven lines: script, args
** (JSON), dir, alerts (JSON), the row's grants (JSON), the runner's grants
** (JSON) and a URL. Paths under /tmp/vouch-fuzz-sched exist (r/ with
** job.lua and data.csv, w/), so rows can be accepted. Whatever the text,
** nothing may crash, and:
**   - an accepted row's command line holds, before its command, exactly the
**     host options of its plan's grants, and nothing after a command that
**     vouch would take for a host option;
**   - those grants lie within the runner's;
**   - an accepted URL has no user name and a host the grants allow.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "vouch_sched.h"

#define ROOT "/tmp/vouch-fuzz-sched"

static const char *line(const char **p, const char *end, char *buf, size_t n) {
  size_t k = 0;
  while (*p < end && **p != '\n') {
    if (k + 1 < n && **p != '\0') buf[k++] = **p;
    (*p)++;
  }
  if (*p < end) (*p)++;
  buf[k] = '\0';
  return buf;
}

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_sched: %s: %s\n", what, detail ? detail : "");
  abort();
}

static int under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  if (strcmp(dir, "/") == 0) return path[0] == '/';
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int within(char **v, int n, const char *path) {
  int i;
  for (i = 0; i < n; i++)
    if (under(path, v[i])) return 1;
  return 0;
}

static int reaches(const vouch_sched_grants_t *g, const char *host) {
  int i;
  if (g->trusted) return 1;
  for (i = 0; i < g->nnet; i++)
    if (strcmp(g->net[i], "*") == 0 || strcasecmp(g->net[i], host) == 0) return 1;
  return 0;
}

/* The option text the plan's grants call for, compared with argv. */
static void check_host_part(const vouch_sched_plan_t *p, const char *db) {
  char want[8][8192];
  int n = 0, i, k;
  const vouch_sched_grants_t *g = &p->grants;
  snprintf(want[n++], sizeof want[0], "--db=%s", db);
  snprintf(want[n++], sizeof want[0], "--max-memory=%zu", g->max_memory);
  snprintf(want[n++], sizeof want[0], "--timeout=%g", g->timeout);
  for (k = 0; k < 3; k++) {
    char **v = k == 0 ? g->read : k == 1 ? g->write : g->net;
    int nv = k == 0 ? g->nread : k == 1 ? g->nwrite : g->nnet;
    size_t len;
    if (nv == 0) continue;
    len = (size_t)snprintf(want[n], sizeof want[0], "--allow-%s=",
                           k == 0 ? "read" : k == 1 ? "write" : "net");
    for (i = 0; i < nv; i++) {
      if (strchr(v[i], ',')) fail("a grant item holds a comma", v[i]);
      len += (size_t)snprintf(want[n] + len, sizeof want[0] - len, "%s%s", i ? "," : "", v[i]);
    }
    n++;
  }
  if (g->trusted) snprintf(want[n++], sizeof want[0], "--trusted");
  if (p->nhost != n) fail("host option count", p->argv[1]);
  for (i = 0; i < n; i++)
    if (strcmp(p->argv[i + 1], want[i]) != 0) fail("host option differs", p->argv[i + 1]);
  /* As main() reads it: options while they start with a dash. */
  for (i = 1; i < p->argc && p->argv[i][0] == '-'; i++)
    if (!vouch_sched_host_option(p->argv[i])) fail("not a host option", p->argv[i]);
  if (i != p->nhost + 1) fail("the command starts with a dash", p->argv[i]);
  if (strcmp(p->argv[i], "run") == 0) {
    if (i + 1 >= p->argc || p->argv[i + 1][0] != '/') fail("run without an absolute script", NULL);
  } else if (strcmp(p->argv[i], "vet") == 0 || strcmp(p->argv[i], "report") == 0) {
    for (i++; i < p->argc; i++)
      if (vouch_sched_host_option(p->argv[i])) fail("a command argument is a host option", p->argv[i]);
  } else {
    fail("a command not allowed", p->argv[i]);
  }
  if (p->argv[p->argc] != NULL) fail("argv not terminated", NULL);
}

static void check_within(const vouch_sched_grants_t *g, const vouch_sched_grants_t *r) {
  int i;
  if (g->trusted && !r->trusted) fail("trusted beyond the runner", NULL);
  if (r->trusted) return;
  for (i = 0; i < g->nread; i++)
    if (!within(r->read, r->nread, g->read[i]) && !within(r->write, r->nwrite, g->read[i]))
      fail("read beyond the runner", g->read[i]);
  for (i = 0; i < g->nwrite; i++)
    if (!within(r->write, r->nwrite, g->write[i])) fail("write beyond the runner", g->write[i]);
  for (i = 0; i < g->nnet; i++)
    if (!reaches(r, g->net[i])) fail("net beyond the runner", g->net[i]);
  if (r->max_memory && (g->max_memory == 0 || g->max_memory > r->max_memory))
    fail("memory beyond the runner", NULL);
  if (r->timeout > 0 && (g->timeout <= 0 || g->timeout > r->timeout))
    fail("timeout beyond the runner", NULL);
}

static void check_url(const char *url, const vouch_sched_grants_t *g) {
  char *clean = NULL, why[600], *host = NULL, *user = NULL;
  CURLU *u;
  size_t hl;
  if (!vouch_sched_check_url(url, g, &clean, why, sizeof why)) return;
  if ((u = curl_url()) == NULL) { free(clean); return; }
  if (curl_url_set(u, CURLUPART_URL, clean, 0) != CURLUE_OK) fail("accepted URL does not parse", clean);
  if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) fail("accepted URL has a user", clean);
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) fail("accepted URL has no host", clean);
  hl = strlen(host);
  if (hl > 2 && host[0] == '[') { memmove(host, host + 1, hl - 2); host[hl - 2] = '\0'; }
  if (!reaches(g, host)) fail("accepted URL's host is not allowed", clean);
  curl_free(host);
  curl_url_cleanup(u);
  free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready;
  static char f[7][4096];
  const char *p = (const char *)data, *end = p + size;
  vouch_sched_grants_t runner;
  vouch_sched_row_t row;
  vouch_sched_plan_t plan;
  char why[600];
  int k;
  if (!ready) {
    FILE *fp;
    mkdir(ROOT, 0755); mkdir(ROOT "/r", 0755); mkdir(ROOT "/w", 0755);
    if ((fp = fopen(ROOT "/r/job.lua", "w")) != NULL) { fputs("print(1)\n", fp); fclose(fp); }
    if ((fp = fopen(ROOT "/r/data.csv", "w")) != NULL) { fputs("id\nP1\n", fp); fclose(fp); }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ready = 1;
  }
  for (k = 0; k < 7; k++) line(&p, end, f[k], sizeof f[k]);
  if (vouch_sched_grants_parse(f[5], &runner, why, sizeof why) != 0) {
    /* a runner with a little of everything */
    vouch_sched_grants_parse("{\"read\":[\"" ROOT "/r\"],\"write\":[\"" ROOT "/w\"],"
                             "\"net\":[\"hooks.example.com\"],\"memory\":1000000,\"timeout\":5}",
                             &runner, why, sizeof why);
  }
  row.script = f[0][0] ? f[0] : NULL;
  row.args = f[1];
  row.dir = f[2][0] ? f[2] : NULL;
  row.alerts = f[3];
  row.grants = f[4][0] ? f[4] : NULL;
  if (vouch_sched_check_row(&row, &runner, "vouch", "/db", &plan, why, sizeof why)) {
    check_host_part(&plan, "/db");
    check_within(&plan.grants, &runner);
    vouch_sched_plan_free(&plan);
  }
  check_url(f[6], &runner);
  vouch_sched_grants_free(&runner);
  return 0;
}
