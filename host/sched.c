/*
** sched.c: the scheduler's engine: the daemon that runs due schedules, and
** the check a schedule's row passes before it runs.
**
** Schedules are added from Lua (sched_lua.c) and kept in the record
** (record.h); a scoring run a schedule made is compared with the one before
** (compare.c) and what moved is sent as an alert. The daemon (`vouch
** daemon`), `vouch schedule tick` and `vouch schedule run` share one
** engine on a private libuv loop: each run is a child process of vouch
** itself (`vouch run SCRIPT ARGS`, with the limits of `vouch run`), so a
** crash, a timeout or a memory blow-up in one run is recorded and the daemon
** goes on.
**
** A schedule row comes back from a file anything may have written, so it
** is checked before each run ("The boundary" below): a run gets the grants
** recorded when its schedule was added, within this process's own, and a
** row that fails is recorded as refused instead of run.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "vouch.h"
#include "cron.h"
#include "vouch_sched.h"
#include "record_pg.h"

extern char **environ;

#define OUTPUT_KEEP 4000        /* bytes of a run's output kept in history */
#define LATE_LIMIT 60           /* seconds after which a due fire counts as missed */
#define QUEUE_CAP 10            /* queued runs per schedule (overlap=queue) */
#define DUE_SCAN_MAX 100000     /* fire times looked at when catching up */
/* Alerts as JSON: ten significant digits say a PSI of 2.1093 as 2.1093. */
#define ALERT_JSON (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

/*
** {======================================================
** The boundary: checking a row read back before it runs
** =======================================================
*/

#define ARGS_MAX 256            /* arguments a schedule may pass */

/* The commands a schedule may run: each reads data and writes the record. */
static const char *const sched_commands[] = {"vet", "report", NULL};

static void why_(char *why, size_t n, const char *fmt, ...) {
  va_list ap;
  if (why == NULL || n == 0) return;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
}

static void list_free_(char ***v, int *n) {
  int i;
  for (i = 0; i < *n; i++) free((*v)[i]);
  free(*v);
  *v = NULL;
  *n = 0;
}

void vouch_sched_grants_free(vouch_sched_grants_t *g) {
  list_free_(&g->read, &g->nread);
  list_free_(&g->write, &g->nwrite);
  list_free_(&g->net, &g->nnet);
  list_free_(&g->env, &g->nenv);
  memset(g, 0, sizeof *g);
}

static int path_under(const char *path, const char *dir) {
  size_t n = strlen(dir);
  if (strcmp(dir, "/") == 0) return path[0] == '/';
  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int vouch_sched_grants_add(vouch_sched_grants_t *g, int which, const char *item) {
  char ***v = which == 'r' ? &g->read : which == 'w' ? &g->write :
               which == 'e' ? &g->env : &g->net;
  int *n = which == 'r' ? &g->nread : which == 'w' ? &g->nwrite :
           which == 'e' ? &g->nenv : &g->nnet;
  int paths = which == 'r' || which == 'w', i, k;
  char **nv, *copy;
  /* A path under one granted already adds nothing (the words of a command
     line under the working directory); one above others takes their place. */
  for (i = 0; i < *n; i++)
    if (paths ? path_under(item, (*v)[i]) : strcmp((*v)[i], item) == 0) return 0;
  if ((copy = strdup(item)) == NULL) return -1;
  for (i = k = 0; paths && i < *n; i++) {
    if (path_under((*v)[i], item)) free((*v)[i]);
    else (*v)[k++] = (*v)[i];
  }
  if (paths) *n = k;
  if ((nv = realloc(*v, sizeof *nv * (size_t)(*n + 1))) == NULL) { free(copy); return -1; }
  *v = nv;
  nv[(*n)++] = copy;
  return 0;
}

/*
** Resolve `path` (relative to `base` when not absolute) as the sandbox
** does: the longest existing prefix through realpath, so `..` and symlinks
** cannot lead elsewhere, and a last part that does not exist yet appended
** as written. Returns a malloc'd path, or NULL.
*/
static char *resolve_at(const char *base, const char *path) {
  char full[PATH_MAX], buf[PATH_MAX], *cut, *out;
  const char *rest;
  if (path == NULL || *path == '\0') return NULL;
  if (path[0] == '/') {
    if (strlen(path) >= sizeof full) return NULL;
    strcpy(full, path);
  } else {
    if (base == NULL || snprintf(full, sizeof full, "%s/%s", base, path) >= (int)sizeof full)
      return NULL;
  }
  if (realpath(full, buf) != NULL) return strdup(buf);
  if (errno != ENOENT) return NULL;
  cut = strrchr(full, '/');
  rest = cut + 1;
  if (strcmp(rest, "..") == 0 || strcmp(rest, ".") == 0 || *rest == '\0') return NULL;
  *cut = '\0';
  if (realpath(cut == full ? "/" : full, buf) == NULL) return NULL;
  out = malloc(strlen(buf) + strlen(rest) + 2);
  if (out) sprintf(out, "%s%s%s", buf, strcmp(buf, "/") ? "/" : "", rest);
  return out;
}

static int in_list(char **v, int n, const char *path) {
  int i;
  for (i = 0; i < n; i++)
    if (path_under(path, v[i])) return 1;
  return 0;
}

/* Reading is allowed under the read and the write grants, as in the sandbox. */
static int may_read(const vouch_sched_grants_t *g, const char *path) {
  return g->trusted || in_list(g->read, g->nread, path) || in_list(g->write, g->nwrite, path);
}

static int may_write(const vouch_sched_grants_t *g, const char *path) {
  return g->trusted || in_list(g->write, g->nwrite, path);
}

static int may_reach(const vouch_sched_grants_t *g, const char *host) {
  int i;
  if (g->trusted) return 1;
  for (i = 0; i < g->nnet; i++)
    if (strcmp(g->net[i], "*") == 0 || strcasecmp(g->net[i], host) == 0) return 1;
  return 0;
}

static int may_read_env(const vouch_sched_grants_t *g, const char *name) {
  int i;
  if (g->trusted) return 1;
  for (i = 0; i < g->nenv; i++)
    if (strcmp(g->env[i], name) == 0) return 1;
  return 0;
}

/*
** A malloc'd copy of `s` with the values of the variables the grants name
** (as this process sees them) shown as "***": a run's output, error and
** alert are stored and sent without the secrets it was given. NULL when
** out of memory.
*/
static char *redact_env(const vouch_sched_grants_t *g, const char *s) {
  vouch_list_t vals = {0};
  char *out;
  int i;
  if (s == NULL) return NULL;
  vals.v = calloc((size_t)g->nenv + 1, sizeof *vals.v);
  if (vals.v == NULL) return NULL;
  for (i = 0; i < g->nenv; i++) {
    const char *v = getenv(g->env[i]);
    if (v && strlen(v) >= VOUCH_SECRET_MIN) vals.v[vals.n++] = (char *)v;
  }
  out = vouch_redact_list(&vals, s);
  free(vals.v);
  return out;
}

/* A grant item goes on a comma-separated command line: no comma, no control. */
static int item_ok(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++)
    if (*s == ',' || (unsigned char)*s < 0x20) return 0;
  return 1;
}

int vouch_sched_grants_parse(const char *text, vouch_sched_grants_t *g, char *why, size_t n) {
  static const char *const keys[] = {"read", "write", "net", "env"};
  json_t *o, *v;
  int k;
  memset(g, 0, sizeof *g);
  if (text == NULL) { why_(why, n, "no grants recorded (add the schedule again)"); return -1; }
  o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (!json_is_object(o)) {
    why_(why, n, "grants: not a JSON object");
    json_decref(o);
    return -1;
  }
  for (k = 0; k < 4; k++) {
    size_t i;
    json_t *arr = json_object_get(o, keys[k]);
    if (arr == NULL) continue;
    if (!json_is_array(arr)) { why_(why, n, "grants: '%s' is not a list", keys[k]); goto bad; }
    json_array_foreach(arr, i, v) {
      const char *s = json_string_value(v);
      if (s == NULL || !item_ok(s) || (k < 2 && s[0] != '/') ||
          (k == 3 && !vouch_env_name_ok(s))) {
        why_(why, n, "grants: bad '%s' item %zu", keys[k], i + 1);
        goto bad;
      }
      if (vouch_sched_grants_add(g, "rwne"[k], s) != 0) { why_(why, n, "out of memory"); goto bad; }
    }
  }
  if ((v = json_object_get(o, "memory")) != NULL) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
      why_(why, n, "grants: 'memory' is not a size in bytes");
      goto bad;
    }
    g->max_memory = (size_t)json_integer_value(v);
  }
  if ((v = json_object_get(o, "timeout")) != NULL) {
    if (!json_is_number(v) || !(json_number_value(v) >= 0) || json_number_value(v) > 1e9) {
      why_(why, n, "grants: 'timeout' is not a number of seconds");
      goto bad;
    }
    g->timeout = json_number_value(v);
  }
  if ((v = json_object_get(o, "trusted")) != NULL) {
    if (!json_is_boolean(v)) { why_(why, n, "grants: 'trusted' is not true or false"); goto bad; }
    g->trusted = json_is_true(v);
  }
  json_decref(o);
  return 0;
bad:
  json_decref(o);
  vouch_sched_grants_free(g);
  return -1;
}

char *vouch_sched_grants_json(const vouch_sched_grants_t *g) {
  json_t *o = json_object(), *a[4];
  char *s;
  int k, i;
  for (k = 0; k < 4; k++) {
    char **v = k == 0 ? g->read : k == 1 ? g->write : k == 2 ? g->net : g->env;
    int nv = k == 0 ? g->nread : k == 1 ? g->nwrite : k == 2 ? g->nnet : g->nenv;
    a[k] = json_array();
    for (i = 0; i < nv; i++) json_array_append_new(a[k], json_string(v[i]));
  }
  json_object_set_new(o, "read", a[0]);
  json_object_set_new(o, "write", a[1]);
  json_object_set_new(o, "net", a[2]);
  json_object_set_new(o, "env", a[3]);
  json_object_set_new(o, "memory", json_integer((json_int_t)g->max_memory));
  json_object_set_new(o, "timeout", json_real(g->timeout));
  json_object_set_new(o, "trusted", json_boolean(g->trusted));
  s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

int vouch_sched_host_option(const char *a) {
  static const char *const with_value[] = {
    "--db", "--max-memory", "--timeout", "--allow-read", "--allow-write", "--allow-net",
    "--allow-env", NULL
  };
  int k;
  if (strcmp(a, "--trusted") == 0) return 1;
  for (k = 0; with_value[k]; k++) {
    size_t l = strlen(with_value[k]);
    if (strncmp(a, with_value[k], l) == 0 && (a[l] == '=' || a[l] == '\0')) return 1;
  }
  return 0;
}

int vouch_sched_check_url(const char *url, const vouch_sched_grants_t *g, char **clean,
                          char *why, size_t n) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *part = NULL, *full = NULL;
  int ok = 0;
  size_t hl;
  if (clean) *clean = NULL;
  if (u == NULL) { why_(why, n, "out of memory"); return 0; }
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    why_(why, n, "%s: not a URL", url);
    goto done;
  }
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
    why_(why, n, "%s: only http and https alert URLs are sent", url);
    goto done;
  }
  /* A user name hides the host from a reader ("allowed.example:x@evil"). */
  if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
      curl_url_get(u, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
      curl_url_get(u, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK) {
    why_(why, n, "%s: a user name or password in an alert URL is refused", url);
    goto done;
  }
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || *host == '\0') {
    why_(why, n, "%s: no host", url);
    goto done;
  }
  hl = strlen(host);
  if (host[0] == '[' && host[hl - 1] == ']') {  /* an IPv6 address is granted bare */
    memmove(host, host + 1, hl - 2);
    host[hl - 2] = '\0';
  }
  if (!may_reach(g, host)) {
    why_(why, n, "%s: network access denied (allow it with --allow-net=%s)", url, host);
    goto done;
  }
  if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
    why_(why, n, "%s: not a URL", url);
    goto done;
  }
  ok = 1;
  if (clean) { *clean = strdup(full); ok = *clean != NULL; }
done:
  curl_free(scheme); curl_free(host); curl_free(part); curl_free(full);
  curl_url_cleanup(u);
  return ok;
}

int vouch_sched_check_alert(const char *t, const vouch_sched_grants_t *g, char **clean,
                            char *why, size_t n) {
  if (clean) *clean = NULL;
  if (strcmp(t, "stderr") == 0) {
    if (clean) *clean = strdup(t);
    return 1;
  }
  if (strncmp(t, "file:", 5) == 0 && t[5]) {
    char *r = t[5] == '/' ? resolve_at(NULL, t + 5) : NULL;
    if (r == NULL || !may_write(g, r)) {
      why_(why, n, "%s: write access denied (allow it with --allow-write=PATH)", t + 5);
      free(r);
      return 0;
    }
    if (clean) {
      if ((*clean = malloc(strlen(r) + 6)) != NULL) sprintf(*clean, "file:%s", r);
    }
    free(r);
    return 1;
  }
  if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0)
    return vouch_sched_check_url(t, g, clean, why, n);
  why_(why, n, "bad alert target '%s' (use stderr, file:PATH or an http(s) URL)", t);
  return 0;
}

void vouch_sched_plan_free(vouch_sched_plan_t *p) {
  int i;
  if (p->argv)
    for (i = 1; i < p->argc; i++) free(p->argv[i]);
  free(p->argv);
  free(p->dir);
  vouch_sched_grants_free(&p->grants);
  memset(p, 0, sizeof *p);
}

/* The smaller of two limits where 0 means none. */
static double limit_min(double a, double b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return a < b ? a : b;
}

/* The row's grants, each within the runner's, into p->grants; 0 or -1. */
static int grants_within(const vouch_sched_grants_t *row, const vouch_sched_grants_t *runner,
                         vouch_sched_grants_t *out, char *why, size_t n) {
  int i;
  if (row->trusted && !runner->trusted) {
    why_(why, n, "it was added with --trusted and this runs without");
    return -1;
  }
  out->trusted = row->trusted;
  /* A path that cannot be resolved (its parent does not exist) names
     nothing to grant: it is left out, which only narrows the run. */
  for (i = 0; i < row->nread; i++) {
    char *r = resolve_at(NULL, row->read[i]);
    if (r == NULL) continue;
    if (!may_read(runner, r) || vouch_sched_grants_add(out, 'r', r) != 0) {
      why_(why, n, "%s: read access denied (allow it with --allow-read=PATH)", row->read[i]);
      free(r);
      return -1;
    }
    free(r);
  }
  for (i = 0; i < row->nwrite; i++) {
    char *r = resolve_at(NULL, row->write[i]);
    if (r == NULL) continue;
    if (!may_write(runner, r) || vouch_sched_grants_add(out, 'w', r) != 0) {
      why_(why, n, "%s: write access denied (allow it with --allow-write=PATH)", row->write[i]);
      free(r);
      return -1;
    }
    free(r);
  }
  for (i = 0; i < row->nnet; i++) {
    if (!may_reach(runner, row->net[i]) || vouch_sched_grants_add(out, 'n', row->net[i]) != 0) {
      why_(why, n, "%s: network access denied (allow it with --allow-net=%s)", row->net[i],
           row->net[i]);
      return -1;
    }
  }
  for (i = 0; i < row->nenv; i++) {
    if (!may_read_env(runner, row->env[i]) || vouch_sched_grants_add(out, 'e', row->env[i]) != 0) {
      why_(why, n, "environment access to %s denied (allow it with --allow-env=%s)",
           row->env[i], row->env[i]);
      return -1;
    }
  }
  out->max_memory = (size_t)limit_min((double)row->max_memory, (double)runner->max_memory);
  out->timeout = limit_min(row->timeout, runner->timeout);
  return 0;
}

/* Append to the plan's argv (which has room); the string is copied. */
static int push_arg(vouch_sched_plan_t *p, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = vasprintf(&p->argv[p->argc], fmt, ap);
  va_end(ap);
  if (r < 0) { p->argv[p->argc] = NULL; return -1; }
  p->argc++;
  return 0;
}

static int push_list(vouch_sched_plan_t *p, const char *opt, char **v, int nv) {
  size_t len = strlen(opt) + 2;
  char *s;
  int i;
  if (nv == 0) return 0;
  for (i = 0; i < nv; i++) len += strlen(v[i]) + 1;
  if ((s = malloc(len)) == NULL) return -1;
  strcpy(s, opt);
  strcat(s, "=");
  for (i = 0; i < nv; i++) {
    if (i) strcat(s, ",");
    strcat(s, v[i]);
  }
  p->argv[p->argc++] = s;
  return 0;
}

/*
** A command's arguments: none may be a host option; a file one names is
** read by the command (the command line grants it), so it must lie in the
** read grant; `--out FILE` is written (and FILE_files beside it), so it
** must lie in the write grant.
*/
static int check_command_args(json_t *args, const vouch_sched_plan_t *p, char *why, size_t n) {
  size_t i;
  for (i = 0; i < json_array_size(args); i++) {
    const char *a = json_string_value(json_array_get(args, i)), *v = a, *eq;
    char *r;
    if (vouch_sched_host_option(a) || strcmp(a, "-e") == 0) {
      why_(why, n, "argument '%s' is a host option: a schedule's grants are its own", a);
      return -1;
    }
    if (strcmp(a, "--open") == 0) {
      why_(why, n, "argument '--open': a scheduled run has no one to show it to");
      return -1;
    }
    if (strcmp(a, "--out") == 0 || strncmp(a, "--out=", 6) == 0) {
      const char *out = a[5] == '=' ? a + 6 : json_string_value(json_array_get(args, i + 1));
      char *stem;
      const char *dot, *slash;
      if (out == NULL || *out == '\0' || strcmp(out, "-") == 0) continue;
      dot = strrchr(out, '.');
      slash = strrchr(out, '/');
      if (asprintf(&stem, "%.*s_files", (int)(dot && dot > out && (slash == NULL ||
                   dot > slash + 1) ? (size_t)(dot - out) : strlen(out)), out) < 0) return -1;
      r = resolve_at(p->dir, out);
      if (r == NULL || !may_write(&p->grants, r) || strchr(out, ',')) {
        why_(why, n, "--out %s: write access denied (allow it with --allow-write=PATH)", out);
        free(r); free(stem);
        return -1;
      }
      free(r);
      r = resolve_at(p->dir, stem);
      if (r == NULL || !may_write(&p->grants, r)) {
        why_(why, n, "--out %s: write access denied for %s (allow it with --allow-write=PATH)",
             out, stem);
        free(r); free(stem);
        return -1;
      }
      free(r); free(stem);
      continue;
    }
    if (a[0] == '-' && (eq = strchr(a, '=')) != NULL) v = eq + 1;
    if (*v == '\0' || (r = resolve_at(p->dir, v)) == NULL) continue;
    if (access(r, F_OK) == 0 && !may_read(&p->grants, r)) {
      why_(why, n, "%s: read access denied (allow it with --allow-read=PATH)", v);
      free(r);
      return -1;
    }
    free(r);
  }
  return 0;
}

int vouch_sched_check_row(const vouch_sched_row_t *row, const vouch_sched_grants_t *runner,
                          const char *exe, const char *db, vouch_sched_plan_t *p,
                          char *why, size_t n) {
  vouch_sched_grants_t asked;
  json_t *args = NULL, *alerts = NULL;
  struct stat sb;
  const char *cmd = NULL;
  char *script = NULL;
  size_t i;
  memset(p, 0, sizeof *p);
  if (vouch_sched_grants_parse(row->grants, &asked, why, n) != 0) return 0;
  if (grants_within(&asked, runner, &p->grants, why, n) != 0) goto refuse;
  /* The working directory: the child's relative paths start there. */
  if (row->dir == NULL || row->dir[0] != '/' || (p->dir = resolve_at(NULL, row->dir)) == NULL ||
      stat(p->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    why_(why, n, "directory '%s' is not an existing directory", row->dir ? row->dir : "");
    goto refuse;
  }
  if (!may_read(&p->grants, p->dir)) {
    why_(why, n, "directory '%s' is outside the schedule's read grant", row->dir);
    goto refuse;
  }
  if (row->script == NULL) { why_(why, n, "no script"); goto refuse; }
  if (strncmp(row->script, "cmd:", 4) == 0) {
    int k;
    for (k = 0; sched_commands[k] && strcmp(sched_commands[k], row->script + 4); k++) {}
    if (!sched_commands[k]) {
      why_(why, n, "'%s' is not a command a schedule may run (cmd:vet, cmd:report)", row->script);
      goto refuse;
    }
    cmd = sched_commands[k];
  } else if (row->script[0] != '/' || (script = resolve_at(NULL, row->script)) == NULL ||
             stat(script, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    why_(why, n, "script '%s' is not an existing file named by its absolute path", row->script);
    goto refuse;
  } else if (!may_read(&p->grants, script)) {
    why_(why, n, "%s: read access denied (allow it with --allow-read=PATH)", row->script);
    goto refuse;
  }
  args = json_loads(row->args ? row->args : "[]", 0, NULL);
  if (!json_is_array(args) || json_array_size(args) > ARGS_MAX) {
    why_(why, n, "args: not a list of at most %d strings", ARGS_MAX);
    goto refuse;
  }
  for (i = 0; i < json_array_size(args); i++)
    if (!json_is_string(json_array_get(args, i))) {
      why_(why, n, "args: item %zu is not a string", i + 1);
      goto refuse;
    }
  if (cmd && check_command_args(args, p, why, n) != 0) goto refuse;
  alerts = json_loads(row->alerts ? row->alerts : "[]", 0, NULL);
  if (!json_is_array(alerts)) { why_(why, n, "alerts: not a list"); goto refuse; }
  for (i = 0; i < json_array_size(alerts); i++) {
    const char *t = json_string_value(json_array_get(alerts, i));
    if (t == NULL) { why_(why, n, "alerts: item %zu is not a string", i + 1); goto refuse; }
    if (!vouch_sched_check_alert(t, &p->grants, NULL, why, n)) goto refuse;
  }
  /* exe, up to 8 host options, run SCRIPT or CMD, the arguments, NULL */
  p->argv = calloc(json_array_size(args) + 13, sizeof *p->argv);
  if (p->argv == NULL) { why_(why, n, "out of memory"); goto refuse; }
  p->argv[p->argc++] = (char *)exe;
  /* A server's URI may hold a password: it goes in the environment
     (start_run), where other users' `ps` does not show it. */
  if ((!vouch_pgrec_is_uri(db) && push_arg(p, "--db=%s", db)) ||
      push_arg(p, "--max-memory=%zu", p->grants.max_memory) ||
      push_arg(p, "--timeout=%g", p->grants.timeout) ||
      push_list(p, "--allow-read", p->grants.read, p->grants.nread) ||
      push_list(p, "--allow-write", p->grants.write, p->grants.nwrite) ||
      push_list(p, "--allow-net", p->grants.net, p->grants.nnet) ||
      push_list(p, "--allow-env", p->grants.env, p->grants.nenv) ||
      (p->grants.trusted && push_arg(p, "--trusted"))) {
    why_(why, n, "out of memory");
    goto refuse;
  }
  p->nhost = p->argc - 1;
  /* `vouch run` takes host options only before SCRIPT, an absolute path:
     what follows is the script's. A command's were checked above. */
  if (cmd ? push_arg(p, "%s", cmd) : (push_arg(p, "run") || push_arg(p, "%s", script))) {
    why_(why, n, "out of memory");
    goto refuse;
  }
  for (i = 0; i < json_array_size(args); i++)
    if (push_arg(p, "%s", json_string_value(json_array_get(args, i))) != 0) {
      why_(why, n, "out of memory");
      goto refuse;
    }
  free(script);
  json_decref(args);
  json_decref(alerts);
  vouch_sched_grants_free(&asked);
  return 1;
refuse:
  free(script);
  json_decref(args);
  json_decref(alerts);
  vouch_sched_grants_free(&asked);
  vouch_sched_plan_free(p);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** The engine: due schedules, child processes, shutdown
** =======================================================
*/

enum { MODE_DAEMON, MODE_TICK, MODE_RUN };

typedef struct engine engine;

typedef struct request {        /* a run waiting to start */
  char *name;                   /* owned */
  int64_t scheduled_for;        /* fire time, or the moment asked */
  char trigger[8];              /* time | missed | manual | event */
  char *partner, *reason;       /* for event triggers; owned, may be NULL */
  struct request *next;
} request;

typedef struct child {          /* a running schedule */
  uv_process_t proc;
  uv_pipe_t out, err;
  engine *e;
  char *name;                   /* owned */
  int64_t row;                  /* schedule_runs.id */
  int64_t runs_before;          /* max(runs.id) when it started */
  uint64_t started;             /* uv_hrtime() */
  char output[OUTPUT_KEEP];     /* the last OUTPUT_KEEP bytes, as a ring */
  size_t outlen;                /* bytes seen in all */
  char lasterr[512];            /* the last line of stderr that said something */
  char errline[512];            /* the stderr line being read */
  size_t errpos;
  int spawn_tried;              /* uv_spawn was called: proc needs closing */
  int spawned, exited, eofs, closed;
  int64_t exit_status;
  int term_signal;
  const char *fate;             /* set when we ended it: "aborted", "replaced", "lost" */
  uv_timer_t backstop;          /* kills a child that outlives its time limit */
  int backstop_on;
  vouch_sched_grants_t envg;    /* the variables it was granted (names only), whose
                                   values its output and error are stored without */
  struct child *next;
} child;

struct engine {
  uv_loop_t loop;
  vouch_record_t *rec;          /* the host's record; owned */
  int mode;
  char exe[PATH_MAX];           /* this program, for the children */
  char db_abs[2 * PATH_MAX + 2];  /* the database, absolute: runs work elsewhere */
  vouch_sched_grants_t grants;  /* this process's own: no run gets more; owned */
  const char *proxy;            /* --proxy URL for webhooks, or NULL: no proxy */
  char *clock_file;             /* --clock FILE: the time is read from it */
  int64_t clock_last;           /* the last time read from it, or -1 */
  int64_t fixed_now;            /* tick --at: the time, or -1 */
  uint64_t poll_ms;
  double grace;                 /* seconds running children get on shutdown */
  int max_running;
  FILE *log;
  uv_timer_t poll, grace_timer;
  uv_signal_t sigterm, sigint, sighup;
  child *children;
  int nrunning;
  request *queue, **queue_tail;
  int stopping, stop_signals;
  int pending_work;             /* webhooks in flight */
  int failures;                 /* runs that did not end ok (for `run`) */
  int lock_fd;
  int shared;                   /* the record is on a server: daemons hold leases */
  int lease_ms;                 /* --lease, in ms */
  uv_timer_t beat;              /* renews the lease */
  int beat_failing;             /* the last renewal got no answer (told once) */
  char host[256];               /* this machine's name, in `daemons` */
  int in_run;                   /* uv_run is running: uv_stop may be called */
  uint64_t last_sweep;          /* uv_hrtime() of the last look for dead runs */
};

static int64_t clock_now(engine *e) {
  if (e->fixed_now >= 0) return e->fixed_now;
  if (e->clock_file) {
    FILE *f = fopen(e->clock_file, "r");
    char buf[64] = "";
    int64_t t;
    if (f) {
      if (fgets(buf, sizeof buf, f) == NULL) buf[0] = '\0';
      fclose(f);
      buf[strcspn(buf, "\r\n")] = '\0';
      if (vouch_time_parse(buf, NULL, (int64_t)time(NULL), &t) == 0) return e->clock_last = t;
    }
    /* Caught between the truncation and the write of a new time: the
       clock stands still rather than jumping to the wall clock. */
    if (e->clock_last >= 0) return e->clock_last;
  }
  return (int64_t)time(NULL);
}

/* One line per event: TIME EVENT NAME details. */
static void logf_(engine *e, const char *event, const char *name, const char *fmt, ...) {
  char ts[32];
  va_list ap;
  fprintf(e->log, "%s %-8s %s", vouch_time_utc(clock_now(e), ts), event, name ? name : "-");
  if (fmt && *fmt) {
    fputc(' ', e->log);
    va_start(ap, fmt);
    vfprintf(e->log, fmt, ap);
    va_end(ap);
  }
  fputc('\n', e->log);
  fflush(e->log);
}

static void try_start(engine *e);
static void maybe_finish(engine *e);


/*
** The engine's writes: a scoring run is one transaction, and while a long
** one holds the write lock the engine's own writes (a run's end, the next
** fire time) cannot be made. The engine does not wait for them: the record
** keeps them, in order, and makes them before any newer write and before
** the next look at the schedules (vouch_record_defer). So a run's end is
** never lost, and nothing is fired twice because its next fire time was not
** yet written.
*/
#define LOOP_BUSY_MS 200        /* the engine's wait for the lock, in the loop */
#define EXIT_WAIT_S 120         /* how long an exiting engine tries to write */

static void record_report(void *ud, const char *event, const char *message) {
  logf_(ud, event, NULL, "%s", message);
}

static int plan_of(engine *e, const vouch_schedule_t *d, vouch_sched_plan_t *plan, char *why,
                   size_t n);


static int running_of(engine *e, const char *name, child **out) {
  child *c;
  for (c = e->children; c; c = c->next)
    if (!c->exited && strcmp(c->name, name) == 0) {
      if (out) *out = c;
      return 1;
    }
  return 0;
}

static int queued_of(engine *e, const char *name) {
  request *r;
  int n = 0;
  for (r = e->queue; r; r = r->next) n += strcmp(r->name, name) == 0;
  return n;
}

static void request_free(request *r) {
  free(r->name); free(r->partner); free(r->reason); free(r);
}

static void enqueue(engine *e, const char *name, int64_t at, const char *trigger,
                    const char *partner, const char *reason) {
  request *r = calloc(1, sizeof *r);
  if (r == NULL) return;
  r->name = strdup(name);
  r->scheduled_for = at;
  snprintf(r->trigger, sizeof r->trigger, "%s", trigger);
  r->partner = partner ? strdup(partner) : NULL;
  r->reason = reason ? strdup(reason) : NULL;
  *e->queue_tail = r;
  e->queue_tail = &r->next;
}

/* Record a run that never started (overlap or missed policy). */
static void record_skip(engine *e, const char *name, int64_t at, const char *trigger,
                        const char *why) {
  char ts[32], now[32];
  vouch_record_run_not_started(e->rec, name, vouch_time_utc(at, ts), trigger, "skipped",
                               vouch_time_utc(clock_now(e), now), why);
  logf_(e, "skip", name, "for=%s reason=\"%s\"", ts, why);
}


/*
** A fire is due: apply the overlap policy. Catch-up runs (missed=each) queue
** whatever the policy, since running each of them is the point.
*/
static void fire(engine *e, const vouch_schedule_t *d, int64_t at, const char *trigger,
                 const char *partner, const char *reason) {
  child *c = NULL;
  int busy = running_of(e, d->name, &c) || queued_of(e, d->name) > 0;
  if (!busy || strcmp(trigger, "missed") == 0 || strcmp(trigger, "manual") == 0) {
    enqueue(e, d->name, at, trigger, partner, reason);
    return;
  }
  if (strcmp(d->overlap, "queue") == 0) {
    if (queued_of(e, d->name) >= QUEUE_CAP) {
      record_skip(e, d->name, at, trigger, "the queue of this schedule is full");
      return;
    }
    enqueue(e, d->name, at, trigger, partner, reason);
    logf_(e, "queue", d->name, "waiting=%d", queued_of(e, d->name));
  } else if (strcmp(d->overlap, "replace") == 0) {
    if (c && !c->fate) {
      c->fate = "replaced";
      uv_process_kill(&c->proc, SIGTERM);
      logf_(e, "replace", d->name, "run=%lld pid=%d", (long long)c->row, c->proc.pid);
    }
    if (queued_of(e, d->name) == 0) enqueue(e, d->name, at, trigger, partner, reason);
  } else {
    record_skip(e, d->name, at, trigger, "the previous run is still running (overlap=skip)");
  }
}


/* A stable pseudo-random delay in [0, jitter] for one fire of one schedule. */
static int64_t jitter_of(const char *name, int64_t at, int64_t jitter) {
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)at;
  const char *p;
  if (jitter <= 0) return 0;
  for (p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  h ^= h >> 29;
  return (int64_t)(h % (uint64_t)(jitter + 1));
}


/*
** Look at one schedule at time `now`: every fire time up to now is due. The
** latest is on time if it is less than LATE_LIMIT old; the others were
** missed (no daemon ran) and the missed policy says what becomes of them.
*/
static void check_schedule(engine *e, vouch_schedule_t *d, int64_t now) {
  int64_t next, t, due[64], ndue = 0, nmissed_total = 0, last = -1;
  char ts[32];
  if (d->next_run == NULL || vouch_time_parse(d->next_run, NULL, now, &next) != 0) {
    if (vouch_cron_next_of(d->expr, d->tz, now, &t) == 0)
      vouch_record_schedule_next(e->rec, d->name, vouch_time_utc(t, ts));
    return;
  }
  if (now < next + jitter_of(d->name, next, d->jitter)) return;
  /* Collect the due times; keep only the most recent 64. */
  {
    vouch_cron_t c;
    char err[256];
    if (vouch_cron_parse(d->expr, &c, err, sizeof err) != 0) return;
    vouch_tz_hold(d->tz);
    for (t = next; t <= now && nmissed_total < DUE_SCAN_MAX; nmissed_total++) {
      due[ndue % 64] = t;
      ndue++;
      last = t;
      if (vouch_cron_next(&c, d->tz, t, &t) != 0) { t = INT64_MAX; break; }
    }
    vouch_tz_release();
  }
  /* Due times are fired by the daemon that moved the schedule on, only. */
  if (vouch_record_schedule_next(e->rec, d->name, t == INT64_MAX ? NULL : vouch_time_utc(t, ts))
      == VOUCH_RECORD_LOST)
    return;
  {
    int on_time = now - last < LATE_LIMIT + d->jitter;
    int64_t missed = ndue - on_time, keep = ndue < 64 ? ndue : 64, run_missed = 0, i;
    if (strcmp(d->missed, "once") == 0) run_missed = (missed > 0 && !on_time) ? 1 : 0;
    else if (strcmp(d->missed, "each") == 0) {
      run_missed = missed < d->missed_cap ? missed : d->missed_cap;
      if (run_missed > keep - on_time) run_missed = keep - on_time;
    }
    if (missed > 0) {
      char why[160];
      snprintf(why, sizeof why, "%lld missed run%s: %lld caught up (missed=%s)",
               (long long)missed, missed == 1 ? "" : "s", (long long)run_missed, d->missed);
      logf_(e, "missed", d->name, "count=%lld run=%lld policy=%s", (long long)missed,
            (long long)run_missed, d->missed);
      if (run_missed < missed)
        record_skip(e, d->name, due[(ndue - 1 - on_time) % 64], "missed", why);
    }
    /* The newest missed ones, oldest first, then the one on time. */
    for (i = run_missed; i >= 1; i--)
      fire(e, d, due[(ndue - on_time - i) % 64], "missed", NULL, NULL);
    if (on_time) fire(e, d, last, "time", NULL, NULL);
  }
}


/* Early re-runs asked for by scripts (vouch.schedules.trigger). */
static void check_triggers(engine *e) {
  vouch_trigger_t *v;
  char ts[32];
  int n, i;
  if (vouch_record_triggers(e->rec, &v, &n) != VOUCH_RECORD_OK) return;
  for (i = 0; i < n; i++) {
    vouch_schedule_t d;
    if (vouch_record_trigger_fired(e->rec, v[i].id, vouch_time_utc(clock_now(e), ts)) ==
        VOUCH_RECORD_LOST)
      continue;  /* another daemon fired it */
    if (vouch_record_schedule_get(e->rec, v[i].schedule, &d) > 0 && !d.paused) {
      logf_(e, "trigger", v[i].schedule, "partner=%s reason=\"%s\"",
            v[i].partner ? v[i].partner : "-", v[i].reason ? v[i].reason : "");
      fire(e, &d, clock_now(e), "event", v[i].partner, v[i].reason);
    }
    vouch_schedule_free(&d);
  }
  vouch_triggers_free(v, n);
}


/* Whether `pid` runs: a zombie whose parent died and was never reaped does not. */
static int pid_alive(pid_t pid) {
  char path[64], buf[256];
  FILE *f;
  const char *p;
  if (pid <= 0 || kill(pid, 0) != 0) return 0;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  if ((f = fopen(path, "r")) == NULL) return 1;
  buf[0] = '\0';
  if (fgets(buf, sizeof buf, f) == NULL) buf[0] = '\0';
  fclose(f);
  p = strrchr(buf, ')');  /* the state follows the command name */
  return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}


/*
** Runs left 'running' by a process that died (a daemon killed with -9, or
** its child orphaned and since gone) are over: mark them aborted. Rows
** without a pid yet belong to a run being started, except at start-up.
*/
static void sweep_dead(engine *e, int startup) {
  int64_t *ids, *pids;
  char ts[32];
  int n, i;
  /* a run's end may still wait to be written */
  if (vouch_record_flush(e->rec) != VOUCH_RECORD_OK) return;
  if (vouch_record_running(e->rec, startup, &ids, &pids, &n) == VOUCH_RECORD_OK) {
    for (i = 0; i < n; i++)
      if (!pid_alive((pid_t)pids[i]))
        vouch_record_run_abort(e->rec, ids[i], vouch_time_utc(clock_now(e), ts),
                               "the daemon that ran it stopped before it ended");
  }
  free(ids);
  free(pids);
  e->last_sweep = uv_hrtime();
}


/*
** {======================================================
** Leases: several daemons on one server
** Each daemon renews its lease on a timer of its own, a third of the lease,
** so that a long poll or a slow run's end does not let it lapse. A daemon
** that finds its lease lost stops its runs (another daemon has taken them
** over, and their ends would not be recorded), drops what it queued and
** joins again: it then claims what no one holds, like a new daemon.
** =======================================================
*/

/*
** A schedule taken over from a daemon whose lease expired: the due times
** after the last that ran (`last_for`; with none, since the schedule was
** added) did not, nor did `first_aborted`, the first of the runs it left
** running. Its next run goes back to the first of them, and check_schedule
** treats them as any time no daemon ran: the missed policy decides.
*/
static void takeover(void *ud, const char *name, const char *last_for,
                     const char *first_aborted) {
  engine *e = ud;
  vouch_schedule_t d;
  int64_t now = clock_now(e), from, next = INT64_MAX, t, cur;
  char ts[32];
  if (vouch_record_schedule_get(e->rec, name, &d) > 0) {
    const char *after = last_for ? last_for : d.created_at;
    if (after && vouch_time_parse(after, NULL, now, &from) == 0 &&
        vouch_cron_next_of(d.expr, d.tz, from, &t) == 0)
      next = t;
    if (first_aborted && vouch_time_parse(first_aborted, NULL, now, &t) == 0 && t < next)
      next = t;
    if (next != INT64_MAX &&
        (d.next_run == NULL || vouch_time_parse(d.next_run, NULL, now, &cur) != 0 || next < cur))
      vouch_record_schedule_next(e->rec, name, vouch_time_utc(next, ts));
  }
  logf_(e, "takeover", name, "after=%s aborted=%s", last_for ? last_for : "-",
        first_aborted ? first_aborted : "-");
  vouch_schedule_free(&d);
}

static int join(engine *e) {
  if (vouch_record_join(e->rec, e->host, (int64_t)getpid(), e->lease_ms) != VOUCH_RECORD_OK) {
    logf_(e, "error", NULL, "cannot join as a daemon: %s", vouch_record_error(e->rec));
    return -1;
  }
  return 0;
}

static void lease_lost(engine *e) {
  child *c;
  request *r;
  logf_(e, "lease", NULL, "lost: %s", vouch_record_error(e->rec));
  while ((r = e->queue)) {
    e->queue = r->next;
    request_free(r);
  }
  e->queue_tail = &e->queue;
  for (c = e->children; c; c = c->next)
    if (!c->exited && !c->fate) {
      c->fate = "lost";
      uv_process_kill(&c->proc, SIGTERM);
    }
  if (join(e) == 0) logf_(e, "lease", NULL, "joined again");
}

static void beat_cb(uv_timer_t *t) {
  engine *e = t->data;
  int rc = vouch_record_renew(e->rec);
  if (rc == VOUCH_RECORD_LOST) {
    lease_lost(e);
  } else if (rc != VOUCH_RECORD_OK) {
    if (!e->beat_failing)
      logf_(e, "error", NULL, "cannot renew the lease: %s", vouch_record_error(e->rec));
    e->beat_failing = 1;
    /* not renewed at all yet: the lease may lapse, and the next renewal says so */
  } else {
    if (e->beat_failing) logf_(e, "lease", NULL, "renewed again");
    e->beat_failing = 0;
  }
}

/* }====================================================== */


static void poll_once(engine *e) {
  int64_t now = clock_now(e);
  vouch_schedule_t *defs;
  int n, i;
  if (e->stopping) return;
  /* Writes still waiting for the lock come first: the schedules are read
     back as they left them. */
  if (vouch_record_flush(e->rec) != VOUCH_RECORD_OK) return;
  if (uv_hrtime() - e->last_sweep > 30 * (uint64_t)1000000000) sweep_dead(e, 0);
  if (e->shared) {
    char ts[32];
    vouch_record_claim(e->rec, vouch_time_utc(clock_now(e), ts), takeover, e);
  }
  check_triggers(e);
  /* Read them all first: checking writes to the table. */
  if (vouch_record_schedules(e->rec, 0, &defs, &n) == VOUCH_RECORD_OK) {
    for (i = 0; i < n; i++) check_schedule(e, &defs[i], now);
    vouch_schedules_free(defs, n);
  }
  try_start(e);
}

static void poll_cb(uv_timer_t *t) {
  poll_once(t->data);
}


/* --- child output --- */

static void keep_output(child *c, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    c->output[c->outlen % OUTPUT_KEEP] = p[i];
    c->outlen++;
  }
}

static void note_stderr(child *c, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (p[i] == '\n') {
      c->errline[c->errpos] = '\0';
      /* the first line of a report, not its traceback */
      if (c->errpos > 0 && c->errline[0] != '\t' && strncmp(c->errline, "stack traceback", 15)
          && (strncmp(c->errline, "vouch:", 6) == 0 || c->lasterr[0] == '\0'))
        memcpy(c->lasterr, c->errline, c->errpos + 1);
      c->errpos = 0;
    } else if (c->errpos < sizeof c->errline - 1) {
      c->errline[c->errpos++] = p[i];
    }
  }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void child_handle_closed(uv_handle_t *h);
static void child_finish(child *c);

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  child *c = s->data;
  if (n > 0) {
    keep_output(c, buf->base, (size_t)n);
    if (s == (uv_stream_t *)&c->err) note_stderr(c, buf->base, (size_t)n);
  }
  free(buf->base);
  if (n < 0) {
    uv_read_stop(s);
    c->eofs++;
    if (c->exited && c->eofs == 2) child_finish(c);
  }
}

static void exit_cb(uv_process_t *p, int64_t status, int sig) {
  child *c = p->data;
  c->exited = 1;
  c->exit_status = status;
  c->term_signal = sig;
  if (c->eofs == 2) child_finish(c);
}

static void backstop_cb(uv_timer_t *t) {
  child *c = t->data;
  if (!c->exited) {
    if (!c->fate) c->fate = "killed";
    uv_process_kill(&c->proc, SIGKILL);
  }
}


/* --- alerts --- */

typedef struct webhook {
  uv_work_t work;
  engine *e;
  char *url, *body, *name;
  long status;
  char error[CURL_ERROR_SIZE];
} webhook;

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p; (void)ud;
  return size * n;
}

static void webhook_work(uv_work_t *w) {
  webhook *wh = w->data;
  CURL *curl = curl_easy_init();
  struct curl_slist *hdr = NULL;
  CURLcode rc;
  if (curl == NULL) { snprintf(wh->error, sizeof wh->error, "curl init failed"); return; }
  hdr = curl_slist_append(hdr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, wh->url);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, wh->body);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, wh->error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  /* The environment's *_proxy would send the alert elsewhere than the host
     that was checked: only --proxy names one. */
  curl_easy_setopt(curl, CURLOPT_PROXY, wh->e->proxy ? wh->e->proxy : "");
  rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &wh->status);
  else if (!wh->error[0]) snprintf(wh->error, sizeof wh->error, "%s", curl_easy_strerror(rc));
  curl_slist_free_all(hdr);
  curl_easy_cleanup(curl);
}

static void webhook_done(uv_work_t *w, int status) {
  webhook *wh = w->data;
  (void)status;
  if (wh->status >= 200 && wh->status < 300)
    logf_(wh->e, "webhook", wh->name, "url=%s status=%ld", wh->url, wh->status);
  else
    logf_(wh->e, "webhook", wh->name, "url=%s failed=\"%s\"", wh->url,
          wh->error[0] ? wh->error : "HTTP error");
  wh->e->pending_work--;
  free(wh->url); free(wh->body); free(wh->name);
  maybe_finish(wh->e);
  free(wh);
}

/*
** Send an alert to each of a schedule's targets. Each is checked again
** against the grants its run had (`g`): the row may have been rewritten
** since the run started.
*/
static void send_alert(engine *e, const char *name, const char *targets,
                       const vouch_sched_grants_t *g, json_t *rep) {
  json_t *arr = json_loads(targets ? targets : "[]", 0, NULL);
  char *raw = json_dumps(rep, ALERT_JSON);
  char *body = g->nenv ? redact_env(g, raw ? raw : "") : raw;
  size_t i;
  json_t *drift = json_object_get(rep, "drift"), *d;
  char summary[512] = "";
  size_t len = 0;
  json_array_foreach(drift, i, d) {
    const char *band = json_string_value(json_object_get(d, "band"));
    if (band && strcmp(band, "stable") && len < sizeof summary - 80)
      len += (size_t)snprintf(summary + len, sizeof summary - len, " %s=%.3f(%s)",
                              json_string_value(json_object_get(d, "dimension")),
                              json_real_value(json_object_get(d, "psi")), band);
  }
  logf_(e, "alert", name, "run_id=%lld verdicts=%zu moves=%zu flags=%zu drift:%s",
        (long long)json_integer_value(json_object_get(rep, "run_id")),
        json_array_size(json_object_get(rep, "verdict_changes")),
        json_array_size(json_object_get(rep, "moves")),
        json_array_size(json_object_get(rep, "new_flags")), len ? summary : " none");
  json_array_foreach(arr, i, d) {
    const char *t = json_string_value(d);
    char *clean = NULL, why[600];
    if (t == NULL || body == NULL) continue;
    if (!vouch_sched_check_alert(t, g, &clean, why, sizeof why)) {
      logf_(e, "refuse", name, "alert not sent: %s", why);
      continue;
    }
    t = clean;
    if (t == NULL) continue;
    if (strcmp(t, "stderr") == 0) {
      fprintf(stderr, "vouch: alert: %s\n", body);
    } else if (strncmp(t, "file:", 5) == 0) {
      int fd = open(t + 5, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
      size_t n = strlen(body);
      if (fd < 0 || write(fd, body, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
        logf_(e, "error", name, "alert file %s: %s", t + 5, strerror(errno));
      if (fd >= 0) close(fd);
    } else if (strncmp(t, "http://", 7) == 0 || strncmp(t, "https://", 8) == 0) {
      webhook *wh = calloc(1, sizeof *wh);
      if (wh == NULL) { free(clean); continue; }
      wh->e = e;
      wh->url = strdup(t);
      wh->body = strdup(body);
      wh->name = strdup(name);
      wh->work.data = wh;
      e->pending_work++;
      if (uv_queue_work(&e->loop, &wh->work, webhook_work, webhook_done) != 0) {
        e->pending_work--;
        free(wh->url); free(wh->body); free(wh->name); free(wh);
      }
    }
    free(clean);
  }
  if (body != raw) free(raw);
  free(body);
  json_decref(arr);
}


/* After a run: the scorecard runs it made, compared with their predecessors. */
static int64_t monitor(engine *e, child *c, json_t **alert_out) {
  vouch_schedule_t d;
  vouch_sched_plan_t plan;
  int64_t last = 0, *runs;
  json_t *all = NULL;
  char why[600];
  int n, i;
  if (vouch_record_schedule_get(e->rec, c->name, &d) <= 0) {
    vouch_schedule_free(&d);
    return 0;
  }
  if (!plan_of(e, &d, &plan, why, sizeof why)) {
    logf_(e, "refuse", c->name, "no alerts: %s", why);
    vouch_schedule_free(&d);
    return 0;
  }
  if (vouch_record_runs_made(e->rec, c->runs_before, (int64_t)c->proc.pid, c->name, &runs, &n)
      != VOUCH_RECORD_OK)
    n = 0;
  for (i = 0; i < n; i++) {
    int64_t run = runs[i];
    json_t *rep = vouch_sched_compare(e->rec, run, vouch_record_previous_run(e->rec, c->name,
                                      run, c->runs_before, (int64_t)c->proc.pid), d.threshold);
    last = run;
    if (rep) {
      char ts[32];
      json_object_set_new(rep, "schedule", json_string(c->name));
      json_object_set_new(rep, "at", json_string(vouch_time_utc(clock_now(e), ts)));
      send_alert(e, c->name, d.alerts, &plan.grants, rep);
      if (all == NULL) all = json_array();
      json_array_append_new(all, rep);
    }
  }
  free(runs);
  vouch_sched_plan_free(&plan);
  vouch_schedule_free(&d);
  *alert_out = all;
  return last;
}


/* --- starting and ending runs --- */

static void child_free_if_closed(child *c) {
  if (c->closed < 2 + c->spawn_tried + c->backstop_on) return;
  vouch_sched_grants_free(&c->envg);
  free(c->name);
  free(c);
}

static void child_handle_closed(uv_handle_t *h) {
  child *c = h->data;
  engine *e = c->e;
  c->closed++;
  child_free_if_closed(c);
  maybe_finish(e);
}

static void child_unlink(engine *e, child *c) {
  child **p;
  for (p = &e->children; *p; p = &(*p)->next)
    if (*p == c) { *p = c->next; break; }
}

static void child_close(child *c) {
  if (c->spawn_tried) uv_close((uv_handle_t *)&c->proc, child_handle_closed);
  uv_close((uv_handle_t *)&c->out, child_handle_closed);
  uv_close((uv_handle_t *)&c->err, child_handle_closed);
  if (c->backstop_on) {
    uv_timer_stop(&c->backstop);
    uv_close((uv_handle_t *)&c->backstop, child_handle_closed);
  }
}


/*
** A schedule with a retention of its own is pruned after each of its runs,
** so a frequent one does not grow the record without end. A database
** locked now is pruned after a later run.
*/
static void retain(engine *e, const char *name) {
  vouch_schedule_t d;
  vouch_prune_t out;
  char ts[32];
  if (vouch_record_schedule_get(e->rec, name, &d) > 0 && (d.keep > 0 || d.keep_days > 0) &&
      vouch_record_prune(e->rec, name, 0, 0, vouch_time_utc(clock_now(e), ts), 0, &out) ==
      VOUCH_RECORD_OK && (out.runs || out.history))
    logf_(e, "prune", name, "runs=%lld history=%lld loads=%lld", (long long)out.runs,
          (long long)out.history, (long long)out.loads);
  vouch_schedule_free(&d);
}


/* The child has exited and its output is read: record how it went. */
static void child_finish(child *c) {
  engine *e = c->e;
  const char *status;
  char error[600] = "", ts[32], *output;
  size_t keep = c->outlen < OUTPUT_KEEP ? c->outlen : OUTPUT_KEEP, i;
  double secs = (double)(uv_hrtime() - c->started) / 1e9;
  int64_t run_id = 0;
  json_t *alert = NULL;
  char *alert_text = NULL;

  if (c->fate) {
    status = strcmp(c->fate, "killed") == 0 ? "limit" : strcmp(c->fate, "lost") == 0
             ? "aborted" : c->fate;
    snprintf(error, sizeof error, "%s", strcmp(c->fate, "aborted") == 0
             ? "the daemon stopped before the run ended"
             : strcmp(c->fate, "lost") == 0
             ? "the daemon lost its lease before the run ended"
             : strcmp(c->fate, "replaced") == 0 ? "replaced by a newer run (overlap=replace)"
             : "killed after outliving its time limit");
  } else if (c->term_signal) {
    status = "crashed";
    snprintf(error, sizeof error, "killed by signal %d (%s)", c->term_signal,
             strsignal(c->term_signal));
  } else if (c->exit_status == 0) {
    status = "ok";
  } else {
    status = c->exit_status == VOUCH_EXIT_LIMIT ? "limit" : "failed";
    const char *why = c->lasterr;
    if (strncmp(why, "vouch: ", 7) == 0) why += 7;  /* the child's program name */
    if (*why == '\0') why = "exited with an error";
    snprintf(error, sizeof error, "%s", why);
  }
  output = malloc(keep + 4);
  if (output) {
    size_t start = c->outlen - keep, o = 0;
    if (c->outlen > OUTPUT_KEEP) { memcpy(output, "...", 3); o = 3; }
    for (i = 0; i < keep; i++) output[o++] = c->output[(start + i) % OUTPUT_KEEP];
    output[o] = '\0';
  }
  if (strcmp(status, "ok") == 0) run_id = monitor(e, c, &alert);
  if (alert) alert_text = json_dumps(alert, ALERT_JSON);
  if (c->envg.nenv > 0) {
    /* what the run was given is not what the history keeps */
    char *o2 = output ? redact_env(&c->envg, output) : NULL;
    char *a2 = alert_text ? redact_env(&c->envg, alert_text) : NULL;
    char *e2 = redact_env(&c->envg, error);
    if (e2) snprintf(error, sizeof error, "%s", e2);
    else error[0] = '\0';
    free(e2);
    free(output);
    free(alert_text);
    output = o2;
    alert_text = a2;
  }
  {
    vouch_sched_run_t end;
    memset(&end, 0, sizeof end);
    end.id = c->row;
    end.status = (char *)status;
    end.ended_at = vouch_time_utc(clock_now(e), ts);
    end.duration = secs;
    end.exit_code = c->exit_status;
    end.error = error[0] ? error : NULL;
    end.output = output;
    end.run_id = run_id;
    end.alert = alert_text;
    if (vouch_record_run_end(e->rec, &end) == VOUCH_RECORD_LOST)
      logf_(e, "lost", c->name, "run=%lld: %s", (long long)c->row, vouch_record_error(e->rec));
  }
  retain(e, c->name);
  if (strcmp(status, "ok") != 0) e->failures++;
  if (error[0])
    logf_(e, "end", c->name, "run=%lld status=%s duration=%.2fs error=\"%s\"",
          (long long)c->row, status, secs, error);
  else
    logf_(e, "end", c->name, "run=%lld status=%s duration=%.2fs%s", (long long)c->row,
          status, secs, run_id ? "" : "");
  if (e->mode == MODE_RUN && output && *output) {
    fflush(e->log);
    fputs(output, stdout);
    if (output[strlen(output) - 1] != '\n') putchar('\n');
    fflush(stdout);
  }
  free(output);
  free(alert_text);
  json_decref(alert);
  e->nrunning--;
  child_unlink(e, c);
  child_close(c);
  try_start(e);
}


/* Check a stored schedule against this process's grants and plan its run. */
static int plan_of(engine *e, const vouch_schedule_t *d, vouch_sched_plan_t *plan, char *why,
                   size_t n) {
  vouch_sched_row_t row;
  row.script = d->script;
  row.args = d->args;
  row.dir = d->dir;
  row.alerts = d->alerts;
  row.grants = d->grants;
  return vouch_sched_check_row(&row, &e->grants, e->exe, e->db_abs, plan, why, n);
}


/*
** A row that fails the check is not run: its run is recorded as failed with
** an error that starts "refused: ", so the history says why, and the other
** schedules go on.
*/
static void record_refused(engine *e, const request *r, const char *why) {
  char ts[32], now[32], error[700];
  snprintf(error, sizeof error, "refused: %s", why);
  vouch_record_run_not_started(e->rec, r->name, vouch_time_utc(r->scheduled_for, ts),
                               r->trigger, "failed", vouch_time_utc(clock_now(e), now), error);
  logf_(e, "refuse", r->name, "for=%s reason=\"%s\"", ts, why);
  e->failures++;
}


/*
** Start the run `r` asks for: 0 (r is consumed), or -1 when its row cannot
** be written yet (the database is locked; r is left to the caller).
*/
static int start_run(engine *e, request *r) {
  vouch_schedule_t d;
  vouch_sched_plan_t plan;
  child *c;
  char **env = NULL, ts[32], now[32], buf[5][600], why[600];
  char dbenv[sizeof e->db_abs + 16];
  size_t i, nenv = 0, k;
  uv_process_options_t po;
  uv_stdio_container_t stdio[3];
  int64_t row = 0;
  int rc;

  if (vouch_record_schedule_get(e->rec, r->name, &d) <= 0) {
    logf_(e, "error", r->name, "no such schedule any more");
    vouch_schedule_free(&d);
    request_free(r);
    return 0;
  }
  if (!plan_of(e, &d, &plan, why, sizeof why)) {
    record_refused(e, r, why);
    vouch_schedule_free(&d);
    request_free(r);
    return 0;
  }
  /* The run's row first: its id goes to the child. */
  rc = vouch_record_run_start(e->rec, r->name, vouch_time_utc(r->scheduled_for, ts),
                              r->trigger, vouch_time_utc(clock_now(e), now), &row);
  if (rc != VOUCH_RECORD_OK) {
    vouch_sched_plan_free(&plan);
    vouch_schedule_free(&d);
    if (rc == VOUCH_RECORD_BUSY) return -1;
    if (rc == VOUCH_RECORD_LOST)  /* another daemon's now, or run already */
      logf_(e, "lost", r->name, "for=%s not started: %s", ts, vouch_record_error(e->rec));
    else
      logf_(e, "error", r->name, "cannot record the run: %s", vouch_record_error(e->rec));
    request_free(r);
    return 0;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    vouch_sched_plan_free(&plan);
    vouch_schedule_free(&d);
    request_free(r);
    return 0;
  }
  c->e = e;
  c->name = strdup(r->name);
  c->row = row;
  c->runs_before = vouch_record_last_run(e->rec);
  vouch_record_schedule_started(e->rec, r->name, now);

  for (nenv = 0; environ[nenv]; nenv++) {}
  env = calloc(nenv + 7, sizeof *env);
  if (env) {
    for (k = 0, i = 0; environ[k]; k++)
      if (strncmp(environ[k], "VOUCH_SCHEDULE", 14) != 0 &&
          !(e->shared && strncmp(environ[k], "VOUCH_DB=", 9) == 0))
        env[i++] = environ[k];
    snprintf(buf[0], sizeof buf[0], "VOUCH_SCHEDULE=%s", r->name);
    snprintf(buf[1], sizeof buf[1], "VOUCH_SCHEDULE_RUN=%lld:%s:%s", (long long)c->row,
             r->trigger, ts);
    snprintf(buf[2], sizeof buf[2], "VOUCH_SCHEDULE_PARTNER=%s", r->partner ? r->partner : "");
    snprintf(buf[3], sizeof buf[3], "VOUCH_SCHEDULE_REASON=%s", r->reason ? r->reason : "");
    /* the run ends with this process, should it die first (main.c) */
    snprintf(buf[4], sizeof buf[4], "VOUCH_SCHEDULE_DAEMON=%ld", (long)getpid());
    env[i++] = buf[0]; env[i++] = buf[1]; env[i++] = buf[2]; env[i++] = buf[3];
    env[i++] = buf[4];
    if (e->shared) {
      snprintf(dbenv, sizeof dbenv, "VOUCH_DB=%s", e->db_abs);
      env[i++] = dbenv;
    }
    env[i] = NULL;
  }

  uv_pipe_init(&e->loop, &c->out, 0);
  uv_pipe_init(&e->loop, &c->err, 0);
  c->proc.data = c->out.data = c->err.data = c;
  memset(&po, 0, sizeof po);
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&c->out;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&c->err;
  po.file = e->exe;
  po.cwd = plan.dir;
  po.args = plan.argv;
  po.env = env;
  po.stdio = stdio;
  po.stdio_count = 3;
  po.exit_cb = exit_cb;
  for (i = 0; i < (size_t)plan.grants.nenv; i++)
    vouch_sched_grants_add(&c->envg, 'e', plan.grants.env[i]);
  c->started = uv_hrtime();
  c->spawn_tried = env != NULL;
  rc = c->spawn_tried ? uv_spawn(&e->loop, &c->proc, &po) : UV_ENOMEM;
  c->proc.data = c;
  c->next = e->children;
  e->children = c;
  e->nrunning++;
  if (rc != 0) {
    snprintf(c->lasterr, sizeof c->lasterr, "cannot start %.300s: %s", e->exe, uv_strerror(rc));
    c->exited = 1;
    c->exit_status = 127;
    c->eofs = 2;
    logf_(e, "start", r->name, "run=%lld failed=\"%s\"", (long long)c->row, c->lasterr);
    child_finish(c);
  } else {
    c->spawned = 1;
    vouch_record_run_pid(e->rec, c->row, (int64_t)c->proc.pid);
    logf_(e, "start", r->name, "run=%lld pid=%d for=%s trigger=%s", (long long)c->row,
          c->proc.pid, ts, r->trigger);
    uv_read_start((uv_stream_t *)&c->out, alloc_cb, read_cb);
    uv_read_start((uv_stream_t *)&c->err, alloc_cb, read_cb);
    if (plan.grants.timeout > 0) {
      uv_timer_init(&e->loop, &c->backstop);
      c->backstop.data = c;
      c->backstop_on = 1;
      uv_timer_start(&c->backstop, backstop_cb, (uint64_t)((plan.grants.timeout + 10) * 1000), 0);
    }
  }
  free(env);
  vouch_sched_plan_free(&plan);
  vouch_schedule_free(&d);
  request_free(r);
  return 0;
}


/* Start what waits, as far as the limits allow, in order. */
static void try_start(engine *e) {
  request **p = &e->queue;
  while (*p && !e->stopping) {
    request *r = *p;
    if (e->nrunning >= e->max_running) break;
    if (running_of(e, r->name, NULL)) { p = &r->next; continue; }
    *p = r->next;
    if (e->queue_tail == &r->next) e->queue_tail = p;
    r->next = NULL;
    if (start_run(e, r) != 0) {
      /* Locked: it keeps its place, and waits for the next poll. */
      if ((r->next = *p) == NULL) e->queue_tail = &r->next;
      *p = r;
      break;
    }
    p = &e->queue;  /* the list may have changed */
  }
  maybe_finish(e);
}


/* Stop the loop when there is nothing left to wait for. */
static void maybe_finish(engine *e) {
  int done;
  if (e->mode == MODE_DAEMON) done = e->stopping;
  else done = e->queue == NULL || e->stopping;
  if (!done || e->children || e->pending_work) return;
  if (e->mode == MODE_DAEMON || e->stopping) {
    if (uv_is_active((uv_handle_t *)&e->poll)) uv_timer_stop(&e->poll);
  }
  if (uv_is_active((uv_handle_t *)&e->beat)) uv_timer_stop(&e->beat);
  if (e->in_run) uv_stop(&e->loop);
}


static void grace_cb(uv_timer_t *t) {
  engine *e = t->data;
  child *c;
  for (c = e->children; c; c = c->next)
    if (!c->exited) {
      c->fate = "aborted";
      uv_process_kill(&c->proc, SIGKILL);
      logf_(e, "kill", c->name, "run=%lld pid=%d grace=%gs", (long long)c->row,
            c->proc.pid, e->grace);
    }
}


static void signal_cb(uv_signal_t *s, int signum) {
  engine *e = s->data;
  request *r;
  e->stop_signals++;
  if (e->stop_signals > 1) {
    logf_(e, "stop", NULL, "signal=%d again: killing the running runs", signum);
    grace_cb(&e->grace_timer);
    return;
  }
  e->stopping = 1;
  uv_timer_stop(&e->poll);
  for (r = e->queue; r; ) {
    request *n = r->next;
    logf_(e, "drop", r->name, "queued run not started: stopping");
    request_free(r);
    r = n;
  }
  e->queue = NULL;
  e->queue_tail = &e->queue;
  logf_(e, "stop", NULL, "signal=%d running=%d grace=%gs", signum, e->nrunning, e->grace);
  if (e->children) uv_timer_start(&e->grace_timer, grace_cb, (uint64_t)(e->grace * 1000), 0);
  maybe_finish(e);
}

/* }====================================================== */


/*
** {======================================================
** The lock: one daemon per database
** =======================================================
*/

/* 0 with the lock held, or -1 (reported). A dead holder's lock is taken over. */
static int take_lock(engine *e, const char *db_path) {
  char path[PATH_MAX], old[32] = "";
  ssize_t n;
  snprintf(path, sizeof path, "%s.lock", db_path);
  e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (e->lock_fd < 0) {
    fprintf(stderr, "vouch: %s: %s\n", path, strerror(errno));
    return -1;
  }
  n = pread(e->lock_fd, old, sizeof old - 1, 0);
  old[n > 0 ? n : 0] = '\0';
  old[strcspn(old, "\n")] = '\0';
  if (flock(e->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf(stderr, "vouch: another daemon (pid %s) is running on %s (lock %s)\n",
            old[0] ? old : "?", db_path, path);
    close(e->lock_fd);
    e->lock_fd = -1;
    return -1;
  }
  if (old[0] && atol(old) != (long)getpid())
    logf_(e, "lock", NULL, "stale lock of pid %s replaced (that daemon is gone)", old);
  {
    char me[32];
    int len = snprintf(me, sizeof me, "%ld\n", (long)getpid());
    if (ftruncate(e->lock_fd, 0) != 0 || pwrite(e->lock_fd, me, (size_t)len, 0) != len)
      logf_(e, "error", NULL, "cannot write the lock %s", path);
  }
  return 0;
}

static void drop_lock(engine *e) {
  if (e->lock_fd < 0) return;
  if (ftruncate(e->lock_fd, 0) != 0) { /* the lock still goes with the descriptor */ }
  close(e->lock_fd);
  e->lock_fd = -1;
}

/* The daemon holds an exclusive flock on DB.lock while it runs (take_lock);
   the file is only read here, never made. */
long vouch_sched_daemon_pid(const char *db_path) {
  char path[PATH_MAX + 8], pid[32] = "";
  int fd;
  ssize_t n;
  snprintf(path, sizeof path, "%s.lock", db_path);
  if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return 0;
  if (flock(fd, LOCK_SH | LOCK_NB) == 0) {   /* nobody holds it */
    close(fd);
    return 0;
  }
  n = pread(fd, pid, sizeof pid - 1, 0);
  close(fd);
  pid[n > 0 ? n : 0] = '\0';
  return atol(pid);
}

/* }====================================================== */


/*
** {======================================================
** Commands: vouch daemon, vouch schedule tick, vouch schedule run
** =======================================================
*/

static const char daemon_help[] =
  "usage: vouch [OPTIONS] daemon [--poll MS] [--grace SECONDS] [--max-running N]\n"
  "                              [--clock FILE] [--log FILE] [--proxy URL]\n"
  "Run due schedules until SIGTERM, SIGINT or SIGHUP, one log line per event.\n"
  "Each of the three stops it the same way: no new run starts, running runs\n"
  "get the grace period to end and are recorded, then the daemon exits.\n"
  "  --poll MS         how often schedules are checked (default 1000)\n"
  "  --grace SECONDS   on stop, how long running runs may finish (default 30)\n"
  "  --max-running N   runs at the same time (default 4)\n"
  "  --clock FILE      read the current time from FILE (tests: a controllable clock)\n"
  "  --log FILE        append the log to FILE instead of stderr\n"
  "  --proxy URL       send webhooks through this proxy (default: none; the\n"
  "                    environment's http_proxy and https_proxy are ignored)\n"
  "  --lease SECONDS   on a PostgreSQL record, how long this daemon's hold on its\n"
  "                    schedules lasts unless renewed (default 20)\n"
  "  --status          list the daemons of the record and what each holds, then exit\n"
  "Each run is `vouch run SCRIPT ARGS` (or `vouch vet|report ARGS`) with the\n"
  "grants recorded when its schedule was added, never more than the daemon's\n"
  "own: --allow-read (default: the daemon's working directory), --allow-write,\n"
  "--allow-net and --trusted; --max-memory and --timeout are the smaller of the\n"
  "two. A schedule whose row fails that check (a command other than vet or\n"
  "report, a host option among a command's arguments, a path or host outside\n"
  "its grants, a missing directory) is not run: the run is recorded as failed\n"
  "with an error starting \"refused:\", and the daemon goes on.\n"
  "On a SQLite file a second daemon refuses to start (exit 6); a crashed\n"
  "daemon's lock is taken over. On a PostgreSQL record (--db postgresql://...)\n"
  "any number of daemons, on any number of machines, share the schedules: each\n"
  "schedule is driven by one of them, and when that one stops or its lease\n"
  "expires another takes the schedule over; its missed policy says what becomes\n"
  "of the runs due meanwhile.\n";


/*
** This process's own grants, which no run exceeds: its --allow-* (reading
** defaults to the working directory, as for `vouch run`), --trusted and
** limits. Also the database as an absolute path, since runs work in their
** schedule's directory. 0, or -1 when out of memory.
*/
static int runner_grants(engine *e, const vouch_opts_t *o, const char *db) {
  vouch_list_t l = {0};
  char cwd[PATH_MAX];
  int k, i;
  if (db[0] != '/' && strcmp(db, ":memory:") != 0 && !e->shared && getcwd(cwd, sizeof cwd))
    snprintf(e->db_abs, sizeof e->db_abs, "%s/%s", cwd, db);
  else
    snprintf(e->db_abs, sizeof e->db_abs, "%s", db);
  e->grants.trusted = o->trusted;
  e->grants.max_memory = o->max_memory;
  e->grants.timeout = o->timeout;
  for (k = 0; k < 4; k++) {
    const char *csv = k == 0 ? o->allow_read : k == 1 ? o->allow_write :
                      k == 2 ? o->allow_net : o->allow_env;
    if (vouch_list_set(&l, csv, k < 2) != 0) { vouch_list_free(&l); return -1; }
    for (i = 0; i < l.n; i++)
      if (vouch_sched_grants_add(&e->grants, "rwne"[k], l.v[i]) != 0) {
        vouch_list_free(&l);
        return -1;
      }
    vouch_list_free(&l);
  }
  if (o->allow_read == NULL && getcwd(cwd, sizeof cwd) &&
      vouch_sched_grants_add(&e->grants, 'r', cwd) != 0)
    return -1;
  return 0;
}

/* vouch daemon --status: the daemons of the record and what each holds. */
static int daemon_status(engine *e, const char *db_path, const char *shown) {
  vouch_daemon_t *v;
  vouch_schedule_t *s;
  int n, ns, i, j, free_n = 0;
  if (!e->shared) {
    long pid = vouch_sched_daemon_pid(db_path);
    if (pid) printf("daemon pid %ld runs the schedules of %s\n", pid, shown);
    else printf("no daemon is running on %s\n", shown);
    return VOUCH_EXIT_OK;
  }
  if (vouch_record_daemons(e->rec, &v, &n) != VOUCH_RECORD_OK) {
    fprintf(stderr, "vouch: %s: %s\n", shown, vouch_record_error(e->rec));
    return VOUCH_EXIT_DB;
  }
  if (vouch_record_schedules(e->rec, 1, &s, &ns) != VOUCH_RECORD_OK) {
    fprintf(stderr, "vouch: %s: %s\n", shown, vouch_record_error(e->rec));
    vouch_daemons_free(v, n);
    return VOUCH_EXIT_DB;
  }
  if (n == 0) printf("no daemon has joined %s\n", shown);
  else printf("%-6s %-20s %-8s %-20s %-20s %-7s %s\n", "ID", "HOST", "PID", "STARTED",
              "LAST SEEN", "LEASE S", "HOLDS");
  for (i = 0; i < n; i++) {
    char holder[300];
    int k = 0;
    snprintf(holder, sizeof holder, "%s pid %lld", v[i].host, (long long)v[i].pid);
    printf("%-6lld %-20s %-8lld %-20s %-20s %-7g ", (long long)v[i].id, v[i].host,
           (long long)v[i].pid, v[i].started_at ? v[i].started_at : "-",
           v[i].seen_at ? v[i].seen_at : "-", v[i].lease_ms / 1000.0);
    if (!v[i].alive) {
      printf("(lease expired %gs after it was last seen)\n", v[i].lease_ms / 1000.0);
      continue;
    }
    for (j = 0; j < ns; j++)
      if (s[j].holder && strcmp(s[j].holder, holder) == 0) printf("%s%s", k++ ? ", " : "", s[j].name);
    printf("%s\n", k ? "" : "(none: standing by)");
  }
  for (j = 0; j < ns; j++)
    if (s[j].holder == NULL) printf("%s%s", free_n++ ? ", " : "not held by a live daemon: ", s[j].name);
  if (free_n) printf("\n");
  vouch_schedules_free(s, ns);
  vouch_daemons_free(v, n);
  return VOUCH_EXIT_OK;
}

static void walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static int usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "vouch: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
  return VOUCH_EXIT_USAGE;
}


/*
** `vouch daemon`, `vouch schedule tick --at TIME` and `vouch schedule run
** NAME`. Host options are already in `o`; argv holds the rest.
*/
int vouch_sched_command(vouch_opts_t *o, const char *cmd, int argc, char **argv) {
  engine e;
  const char *db_path = o->db_path ? o->db_path : getenv("VOUCH_DB");
  const char *log_path = NULL, *name = NULL;
  char *err = NULL, shown[600];
  int i, status = VOUCH_EXIT_OK, status_only = 0;
  ssize_t n;

  memset(&e, 0, sizeof e);
  e.lease_ms = 20000;
  e.fixed_now = -1;
  e.clock_last = -1;
  e.poll_ms = 1000;
  e.grace = 30;
  e.max_running = 4;
  e.lock_fd = -1;
  e.log = stderr;
  e.queue_tail = &e.queue;
  if (db_path == NULL || *db_path == '\0') db_path = "vouch.db";
  e.mode = strcmp(cmd, "daemon") == 0 ? MODE_DAEMON : strcmp(cmd, "tick") == 0 ? MODE_TICK
           : MODE_RUN;
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    static const char *const opts[] = {"--poll", "--grace", "--max-running", "--clock",
                                       "--log", "--at", "--proxy", "--lease", NULL};
    int k;
    if (strcmp(a, "--status") == 0 && e.mode == MODE_DAEMON) {
      status_only = 1;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(e.mode == MODE_DAEMON ? daemon_help
            : "usage: vouch schedule tick --at TIME | vouch schedule run NAME\n", stdout);
      return VOUCH_EXIT_OK;
    }
    for (k = 0; opts[k]; k++) {
      size_t l = strlen(opts[k]);
      if (strncmp(a, opts[k], l) == 0 && (a[l] == '=' || a[l] == '\0')) {
        if (a[l] == '=') v = a + l + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return usage_error("option needs a value:", a);
        break;
      }
    }
    if (opts[k] == NULL) {
      if (a[0] == '-' || e.mode != MODE_RUN || name) return usage_error("unexpected argument", a);
      name = a;
      continue;
    }
    switch (k) {
      case 0: e.poll_ms = (uint64_t)atol(v); if (e.poll_ms < 10) e.poll_ms = 10; break;
      case 1: e.grace = atof(v); if (e.grace < 0) e.grace = 0; break;
      case 2: e.max_running = atoi(v); if (e.max_running < 1) e.max_running = 1; break;
      case 3: e.clock_file = (char *)v; break;
      case 4: log_path = v; break;
      case 5:
        if (vouch_time_parse(v, NULL, (int64_t)time(NULL), &e.fixed_now) != 0)
          return usage_error("bad time for --at (use YYYY-MM-DDTHH:MM:SSZ):", v);
        break;
      case 6: e.proxy = v; break;
      case 7: {
        char *end;
        double secs = strtod(v, &end);
        if (*end || !(secs >= 1 && secs <= 3600))
          return usage_error("bad --lease (seconds, 1 to 3600):", v);
        e.lease_ms = (int)(secs * 1000);
        break;
      }
    }
  }
  if (e.mode == MODE_TICK && e.fixed_now < 0) return usage_error("tick needs --at TIME", NULL);
  if (e.mode == MODE_RUN && name == NULL) return usage_error("usage: vouch schedule run NAME", NULL);
  if (e.mode != MODE_RUN && strcmp(db_path, ":memory:") == 0)
    return usage_error("the scheduler needs a database file, not", db_path);
  if (log_path && (e.log = fopen(log_path, "a")) == NULL) {
    fprintf(stderr, "vouch: %s: %s\n", log_path, strerror(errno));
    return VOUCH_EXIT_USAGE;
  }
  n = readlink("/proc/self/exe", e.exe, sizeof e.exe - 1);
  if (n <= 0) { fprintf(stderr, "vouch: cannot find my own executable\n"); return VOUCH_EXIT_SCRIPT; }
  e.exe[n] = '\0';
  if (status_only && !vouch_pgrec_is_uri(db_path) && access(db_path, F_OK) != 0) {
    printf("no daemon is running on %s (there is no such database)\n", db_path);  /* made by none */
    if (e.log != stderr) fclose(e.log);
    return VOUCH_EXIT_OK;
  }
    if ((e.rec = vouch_record_open(db_path, NULL, &err)) == NULL) {
    fprintf(stderr, "vouch: %s\n", err ? err : "cannot open the database");
    free(err);
    if (e.log != stderr) fclose(e.log);
    return VOUCH_EXIT_DB;
  }
  e.shared = vouch_record_shared(e.rec);
  vouch_pgrec_shown(db_path, shown, sizeof shown);
  if (status_only) {
    status = daemon_status(&e, db_path, shown);
    vouch_record_close(e.rec);
    if (e.log != stderr) fclose(e.log);
    return status;
  }
  if (e.shared) {
    if (gethostname(e.host, sizeof e.host) != 0) snprintf(e.host, sizeof e.host, "?");
    e.host[sizeof e.host - 1] = '\0';
  }
  if (e.mode != MODE_RUN && e.shared && join(&e) != 0) {
    fprintf(stderr, "vouch: %s: cannot join as a daemon: %s\n", shown,
            vouch_record_error(e.rec));
    vouch_record_close(e.rec);
    if (e.log != stderr) fclose(e.log);
    return VOUCH_EXIT_DB;
  }
  if (e.mode != MODE_RUN && !e.shared && take_lock(&e, db_path) != 0) {
    vouch_record_close(e.rec);
    if (e.log != stderr) fclose(e.log);
    return VOUCH_EXIT_LOCKED;
  }
  if (runner_grants(&e, o, db_path) != 0 || uv_loop_init(&e.loop) != 0) {
    fprintf(stderr, "vouch: out of memory\n");
    status = VOUCH_EXIT_SCRIPT;
    goto done;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  vouch_record_defer(e.rec, -1, record_report, &e);

  /* A daemon holds the lock: a run with no pid yet (its row was written,
  ** the process not started) is one a killed daemon left, and over too. */
  sweep_dead(&e, e.mode == MODE_DAEMON);
  /* In the loop the daemon does not wait long for the lock: its writes
     wait instead (see "The engine's writes"). */
  if (e.mode == MODE_DAEMON) vouch_record_defer(e.rec, LOOP_BUSY_MS, record_report, &e);

  uv_timer_init(&e.loop, &e.poll);
  uv_timer_init(&e.loop, &e.grace_timer);
  uv_timer_init(&e.loop, &e.beat);
  e.poll.data = e.grace_timer.data = e.beat.data = &e;
  if (e.shared && e.mode != MODE_RUN)
    uv_timer_start(&e.beat, beat_cb, (uint64_t)e.lease_ms / 3, (uint64_t)e.lease_ms / 3);
  uv_signal_init(&e.loop, &e.sigterm);
  uv_signal_init(&e.loop, &e.sigint);
  uv_signal_init(&e.loop, &e.sighup);
  e.sigterm.data = e.sigint.data = e.sighup.data = &e;
  uv_signal_start(&e.sigterm, signal_cb, SIGTERM);
  uv_signal_start(&e.sigint, signal_cb, SIGINT);
  /* A hang-up (the terminal closed, or `kill -HUP` meant as "reload") stops
     the daemon like SIGTERM rather than killing it with its runs orphaned. */
  uv_signal_start(&e.sighup, signal_cb, SIGHUP);

  if (e.mode == MODE_DAEMON) {
    if (e.shared)
      logf_(&e, "daemon", NULL, "pid=%ld db=%s poll=%llums max-running=%d host=%s lease=%gs",
            (long)getpid(), shown, (unsigned long long)e.poll_ms, e.max_running, e.host,
            e.lease_ms / 1000.0);
    else
      logf_(&e, "daemon", NULL, "pid=%ld db=%s poll=%llums max-running=%d", (long)getpid(),
            shown, (unsigned long long)e.poll_ms, e.max_running);
    uv_timer_start(&e.poll, poll_cb, 0, e.poll_ms);
  } else if (e.mode == MODE_TICK) {
    poll_once(&e);
  } else {
    vouch_schedule_t d;
    if (vouch_record_schedule_get(e.rec, name, &d) <= 0) {
      fprintf(stderr, "vouch: no schedule named '%s'\n", name);
      status = VOUCH_EXIT_USAGE;
    } else {
      fire(&e, &d, clock_now(&e), "manual", NULL, NULL);
      try_start(&e);
    }
    vouch_schedule_free(&d);
  }
  if (status == VOUCH_EXIT_OK && (e.mode == MODE_DAEMON || e.children || e.pending_work))
  {
    e.in_run = 1;
    uv_run(&e.loop, UV_RUN_DEFAULT);
    e.in_run = 0;
  }
  {
    int lost = vouch_record_flush_wait(e.rec, EXIT_WAIT_S);
    if (lost) logf_(&e, "error", NULL, "%d write%s lost: the database stayed locked for %ds",
                    lost, lost == 1 ? "" : "s", EXIT_WAIT_S);
  }
  if (e.mode != MODE_DAEMON && e.queue) {
    fprintf(stderr, "vouch: %s: the database stayed locked: a run was not started\n", db_path);
    if (status == VOUCH_EXIT_OK) status = VOUCH_EXIT_DB;
  }
  if (e.shared && e.mode != MODE_RUN) vouch_record_leave(e.rec);
  if (e.mode == MODE_DAEMON) logf_(&e, "exit", NULL, "pid=%ld", (long)getpid());
  if (e.mode == MODE_RUN && status == VOUCH_EXIT_OK && e.failures) status = VOUCH_EXIT_SCRIPT;

  uv_walk(&e.loop, walk_close, NULL);
  uv_run(&e.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&e.loop) != 0) fprintf(stderr, "vouch: warning: the loop closed with live handles\n");
  curl_global_cleanup();
done:
  while (e.queue) {
    request *r = e.queue;
    e.queue = r->next;
    request_free(r);
  }
  vouch_sched_grants_free(&e.grants);
  drop_lock(&e);
  vouch_record_close(e.rec);
  if (e.log != stderr) fclose(e.log);
  return status;
}

/* }====================================================== */


