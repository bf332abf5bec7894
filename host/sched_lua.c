/*
** sched_lua.c: the scheduler's Lua library. vouch.schedule(...) adds or
** updates a schedule; vouch.schedules lists, gets, removes, pauses and
** resumes them, reads their history, asks for early re-runs (trigger) and
** tells a run which schedule it runs for (context); vouch.REASON is the
** record's format of a stored reason. A schedule is checked
** as the daemon will check it (vouch_sched_check_row) before it is stored,
** and everything is stored through the record layer (record.h).
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vouch.h"
#include "cron.h"
#include "record.h"
#include "vouch_sched.h"
#include "record_pg.h"

#define MISSED_CAP_DEFAULT 10


/* The time schedules think it is: $VOUCH_NOW when set (tests), else now. */
static int64_t env_now(void) {
  const char *e = getenv("VOUCH_NOW");
  int64_t t;
  if (e && *e && vouch_time_parse(e, NULL, (int64_t)time(NULL), &t) == 0) return t;
  return (int64_t)time(NULL);
}

/*
** {======================================================
** vouch.schedule and vouch.schedules
** =======================================================
*/

#define SCHED_DB "vouch.sched.db"

static int sdb_gc(lua_State *L) {
  vouch_record_t **p = lua_touserdata(L, 1);
  vouch_record_close(*p);
  *p = NULL;
  return 0;
}

/* The host's record (its default database), opened once. */
static vouch_record_t *sdb(lua_State *L) {
  vouch_record_t **p;
  char *err = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, SCHED_DB) == LUA_TUSERDATA) {
    p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return *p;
  }
  lua_pop(L, 1);
  p = lua_newuserdatauv(L, sizeof *p, 0);
  *p = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, sdb_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  *p = vouch_record_open(vouch_host(L)->db_path, vouch_host(L), &err);
  if (*p == NULL) {
    /* The CLI reports this as db.c does: exit 4, the message alone. */
    if (vouch_host(L)->exit_code < 0) vouch_host(L)->exit_code = VOUCH_EXIT_DB;
    lua_pushstring(L, err ? err : "cannot open the database");
    free(err);
    lua_error(L);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, SCHED_DB);
  return *p;
}

static void set_text(lua_State *L, const char *k, const char *v) {
  if (v == NULL) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, int64_t v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static void set_number(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* A schedule as a table of its columns (those with no value left out). */
static void push_schedule(lua_State *L, const vouch_schedule_t *s) {
  lua_createtable(L, 0, 17);
  set_text(L, "name", s->name); set_text(L, "expr", s->expr); set_text(L, "tz", s->tz);
  set_text(L, "script", s->script); set_text(L, "args", s->args);
  set_text(L, "missed", s->missed); set_int(L, "missed_cap", s->missed_cap);
  set_text(L, "overlap", s->overlap); set_int(L, "jitter", s->jitter);
  set_int(L, "paused", s->paused); set_text(L, "alerts", s->alerts);
  set_number(L, "threshold", s->threshold); set_text(L, "dir", s->dir);
  set_text(L, "created_at", s->created_at); set_text(L, "last_run", s->last_run);
  set_text(L, "next_run", s->next_run); set_text(L, "grants", s->grants);
  set_int(L, "keep", s->keep); set_number(L, "keep_days", s->keep_days);
  set_text(L, "holder", s->holder);
}

/* A run of a schedule as a table of its columns. */
static void push_sched_run(lua_State *L, const vouch_sched_run_t *r) {
  lua_createtable(L, 0, 14);
  set_int(L, "id", r->id); set_text(L, "schedule", r->schedule);
  set_text(L, "scheduled_for", r->scheduled_for); set_text(L, "trigger", r->trigger);
  set_text(L, "status", r->status); set_text(L, "started_at", r->started_at);
  set_text(L, "ended_at", r->ended_at);
  if (r->duration >= 0) set_number(L, "duration", r->duration);
  if (r->exit_code >= 0) set_int(L, "exit_code", r->exit_code);
  set_text(L, "error", r->error); set_text(L, "output", r->output);
  if (r->pid) set_int(L, "pid", r->pid);
  if (r->run_id) set_int(L, "run_id", r->run_id);
  set_text(L, "alert", r->alert);
  set_text(L, "daemon", r->daemon);
}

/* Push the schedule `name` (or nil): 1 when found. Raises on an error. */
static int get_schedule(lua_State *L, vouch_record_t *r, const char *name) {
  vouch_schedule_t s;
  int found = vouch_record_schedule_get(r, name, &s);
  if (found < 0) return luaL_error(L, "%s", vouch_record_error(r));
  if (found) push_schedule(L, &s);
  else lua_pushnil(L);
  vouch_schedule_free(&s);
  return found;
}

static int fail_with(lua_State *L, const char *msg) {
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  return 2;
}

/* Turn a Lua list of strings at idx into a JSON array text (pushed). */
static void push_json_strings(lua_State *L, int idx, const char *what) {
  luaL_Buffer b;
  lua_Integer i, n;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '[');
  if (!lua_isnoneornil(L, idx)) {
    if (lua_type(L, idx) == LUA_TSTRING) {
      lua_newtable(L);
      lua_pushvalue(L, idx);
      lua_rawseti(L, -2, 1);
      lua_replace(L, idx);
    }
    if (lua_type(L, idx) != LUA_TTABLE)
      luaL_error(L, "option '%s' must be a list of strings", what);
    n = (lua_Integer)lua_rawlen(L, idx);
    for (i = 1; i <= n; i++) {
      json_t *s;
      char *txt;
      lua_rawgeti(L, idx, i);
      if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "option '%s': item %d must be a string", what, (int)i);
      s = json_string(lua_tostring(L, -1));
      txt = json_dumps(s, JSON_ENCODE_ANY);
      lua_pop(L, 1);
      if (i > 1) luaL_addchar(&b, ',');
      if (txt) luaL_addstring(&b, txt);
      free(txt);
      json_decref(s);
    }
  }
  luaL_addchar(&b, ']');
  luaL_pushresult(&b);
}

static const char *opt_string(lua_State *L, int t, const char *k, const char *def) {
  const char *s;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return def; }
  s = lua_tostring(L, -1);
  if (s == NULL) luaL_error(L, "option '%s' must be a string", k);
  lua_pop(L, 1);  /* still anchored in the table */
  return s;
}

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer def) {
  lua_Integer v;
  int isnum;
  lua_getfield(L, t, k);
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return def; }
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum) luaL_error(L, "option '%s' must be an integer", k);
  lua_pop(L, 1);
  return v;
}

/*
** The grants of the script adding a schedule, which its runs keep: what it
** may read (by default its directory and the working directory), write and
** reach, and its limits. Items that are not absolute paths are left out.
*/
static int grants_of_host(vouch_host_t *h, vouch_sched_grants_t *g) {
  char cwd[PATH_MAX];
  int i, rc = 0;
  memset(g, 0, sizeof *g);
  g->trusted = h->trusted;
  g->max_memory = h->max_memory;
  g->timeout = h->timeout;
  if (h->allow_read.n == 0) {
    if (h->script_dir && h->script_dir[0] == '/') rc |= vouch_sched_grants_add(g, 'r', h->script_dir);
    if (getcwd(cwd, sizeof cwd)) rc |= vouch_sched_grants_add(g, 'r', cwd);
  }
  for (i = 0; i < h->allow_read.n; i++)
    if (h->allow_read.v[i][0] == '/') rc |= vouch_sched_grants_add(g, 'r', h->allow_read.v[i]);
  for (i = 0; i < h->allow_write.n; i++)
    if (h->allow_write.v[i][0] == '/') rc |= vouch_sched_grants_add(g, 'w', h->allow_write.v[i]);
  for (i = 0; i < h->allow_net.n; i++)
    if (!strchr(h->allow_net.v[i], ',')) rc |= vouch_sched_grants_add(g, 'n', h->allow_net.v[i]);
  for (i = 0; i < h->allow_env.n; i++)
    if (vouch_env_name_ok(h->allow_env.v[i]))
      rc |= vouch_sched_grants_add(g, 'e', h->allow_env.v[i]);
  return rc;
}

/*
** Check each alert target at idx against the grants `g` and replace the
** list by the targets as they will be used (file: paths absolute, URLs as
** libcurl rebuilt them). Returns 0, or -1 with the reason in why.
*/
static int check_alerts(lua_State *L, int idx, const vouch_sched_grants_t *g, char *why,
                        size_t n) {
  lua_Integer i, len = (lua_Integer)lua_rawlen(L, idx);
  char cwd[PATH_MAX];
  for (i = 1; i <= len; i++) {
    const char *t;
    char *clean = NULL, *abs = NULL;
    int ok;
    lua_rawgeti(L, idx, i);
    t = lua_tostring(L, -1);
    if (t == NULL) {
      snprintf(why, n, "option 'alerts': item %d must be a string", (int)i);
      return -1;
    }
    if (strncmp(t, "file:", 5) == 0 && t[5] && t[5] != '/' && getcwd(cwd, sizeof cwd) &&
        asprintf(&abs, "file:%s/%s", cwd, t + 5) < 0)
      abs = NULL;
    ok = vouch_sched_check_alert(abs ? abs : t, g, &clean, why, n);
    free(abs);
    lua_pop(L, 1);
    if (!ok) {
      /* name the target as the script wrote it */
      if (strncmp(t, "file:", 5) == 0 && strstr(why, "write access denied"))
        snprintf(why, n, "%s: write access denied (allow it with --allow-write=PATH)", t + 5);
      return -1;
    }
    lua_pushstring(L, clean ? clean : t);
    free(clean);
    lua_rawseti(L, idx, i);
  }
  return 0;
}


/*
** vouch.schedule{name=, expr=, script=, args=, tz=, missed=, missed_cap=,
** overlap=, jitter=, alerts=, threshold=, paused=, keep=, keep_days=}, or
** vouch.schedule(name, expr, script [, opts]): create or update a schedule
** (an update keeps its history and whether it is paused). Returns the row.
** vouch.schedules.add(...) does the same but refuses an existing name.
*/
static int schedule_add_k(lua_State *L, int replace) {
  vouch_record_t *db;
  vouch_schedule_t s;
  vouch_cron_t c;
  char err[256], ts[32], now_s[32], cwd[PATH_MAX], why[600], *grants;
  const char *name, *expr, *script, *tz, *missed, *overlap;
  vouch_sched_grants_t g;
  char *resolved = NULL;
  lua_Integer cap, jitter, keep;
  double threshold, keep_days;
  int64_t now = env_now(), next;
  int t, paused, exists, args_json, alerts_json, grants_json;
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_settop(L, 4);
    if (lua_isnil(L, 4)) { lua_newtable(L); lua_replace(L, 4); }
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_pushvalue(L, 1); lua_setfield(L, 4, "name");
    lua_pushvalue(L, 2); lua_setfield(L, 4, "expr");
    lua_pushvalue(L, 3); lua_setfield(L, 4, "script");
    t = 4;
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    t = 1;
  }
  name = opt_string(L, t, "name", NULL);
  expr = opt_string(L, t, "expr", NULL);
  script = opt_string(L, t, "script", NULL);
  if (!name || !*name) return luaL_error(L, "a schedule needs a name");
  if (!expr) return luaL_error(L, "schedule '%s' needs an expression", name);
  if (!script || !*script) return luaL_error(L, "schedule '%s' needs a script", name);
  tz = opt_string(L, t, "tz", "UTC");
  missed = opt_string(L, t, "missed", "skip");
  overlap = opt_string(L, t, "overlap", "skip");
  cap = opt_int(L, t, "missed_cap", MISSED_CAP_DEFAULT);
  jitter = opt_int(L, t, "jitter", 0);
  lua_getfield(L, t, "threshold");
  threshold = lua_isnil(L, -1) ? 10 : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, t, "paused");
  paused = lua_toboolean(L, -1);
  lua_pop(L, 1);
  keep = opt_int(L, t, "keep", 0);
  lua_getfield(L, t, "keep_days");
  keep_days = luaL_optnumber(L, -1, 0);
  lua_pop(L, 1);
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0) {
    lua_pushfstring(L, "%s: %s", expr, err);
    return fail_with(L, lua_tostring(L, -1));
  }
  if (vouch_tz_check(tz, err, sizeof err) != 0) return fail_with(L, err);
  if (strcmp(missed, "skip") && strcmp(missed, "once") && strcmp(missed, "each"))
    return fail_with(L, "missed must be skip, once or each");
  if (strcmp(overlap, "skip") && strcmp(overlap, "queue") && strcmp(overlap, "replace"))
    return fail_with(L, "overlap must be skip, queue or replace");
  if (cap < 1 || cap > 1000) return fail_with(L, "missed_cap must be between 1 and 1000");
  if (jitter < 0 || jitter > 86400) return fail_with(L, "jitter must be 0 to 86400 seconds");
  if (threshold < 0) return fail_with(L, "threshold must not be negative");
  if (keep < 0 || keep_days < 0) return fail_with(L, "keep and keep_days must not be negative");
  if (strncmp(script, "cmd:", 4) != 0) {
    vouch_check_path(L, script, VOUCH_READ, &resolved);
    if (access(resolved, R_OK) != 0) {
      lua_pushfstring(L, "%s: %s", script, strerror(errno));
      free(resolved);
      return fail_with(L, lua_tostring(L, -1));
    }
    /* Keep it as a Lua string: any error raised below would leak it
    ** (found by valgrind: a refused alert after an allowed script). */
    script = lua_pushstring(L, resolved);
    free(resolved);
    resolved = NULL;
  } else {
    /* Other commands manage the host itself (cmd:daemon, cmd:schedule). */
    static const char *const ok[] = {"cmd:vet", "cmd:report", NULL};
    int k;
    for (k = 0; ok[k] && strcmp(ok[k], script); k++) {}
    if (!ok[k]) return fail_with(L, "only cmd:vet and cmd:report may be scheduled as commands");
  }
  lua_getfield(L, t, "args");
  push_json_strings(L, lua_gettop(L), "args");
  args_json = lua_gettop(L);
  lua_getfield(L, t, "alerts");
  if (lua_type(L, -1) == LUA_TSTRING) {
    lua_newtable(L);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
  }
  if (!lua_isnil(L, -1) && !lua_istable(L, -1))
    return luaL_error(L, "option 'alerts' must be a list of strings");
  if (grants_of_host(vouch_host(L), &g) != 0 || (grants = vouch_sched_grants_json(&g)) == NULL) {
    vouch_sched_grants_free(&g);
    return luaL_error(L, "out of memory");
  }
  lua_pushstring(L, grants);
  free(grants);
  grants_json = lua_gettop(L);
  lua_pushvalue(L, grants_json - 1);  /* the alerts */
  if (lua_istable(L, -1) && check_alerts(L, lua_gettop(L), &g, why, sizeof why) != 0) {
    vouch_sched_grants_free(&g);
    return luaL_error(L, "%s", why);
  }
  push_json_strings(L, lua_gettop(L), "alerts");
  alerts_json = lua_gettop(L);
  {
    /* The row as it will be stored must pass the daemon's own check with the
       grants of whoever adds it: nothing is stored that could not be run. */
    vouch_sched_row_t row;
    vouch_sched_plan_t plan;
    int ok;
    row.script = script;
    row.args = lua_tostring(L, args_json);
    row.dir = getcwd(cwd, sizeof cwd) ? cwd : NULL;
    row.alerts = lua_tostring(L, alerts_json);
    row.grants = lua_tostring(L, grants_json);
    ok = vouch_sched_check_row(&row, &g, "vouch", "db", &plan, why, sizeof why);
    vouch_sched_grants_free(&g);
    if (!ok) return luaL_error(L, "schedule '%s' refused: %s", name, why);
    vouch_sched_plan_free(&plan);
  }
  db = sdb(L);
  if ((exists = get_schedule(L, db, name)) && !replace) {
    lua_pushfstring(L, "a schedule named '%s' exists (remove it first)", name);
    return fail_with(L, lua_tostring(L, -1));
  }
  lua_pop(L, 1);
  if (vouch_cron_next(&c, tz, now, &next) != 0) next = -1;
  memset(&s, 0, sizeof s);
  s.name = (char *)name; s.expr = (char *)expr; s.tz = (char *)tz; s.script = (char *)script;
  s.args = (char *)lua_tostring(L, args_json); s.missed = (char *)missed;
  s.missed_cap = cap; s.overlap = (char *)overlap; s.jitter = jitter; s.paused = paused;
  s.alerts = (char *)lua_tostring(L, alerts_json); s.threshold = threshold;
  s.created_at = vouch_time_utc(now, now_s);
  s.next_run = next >= 0 ? vouch_time_utc(next, ts) : NULL;
  s.dir = getcwd(cwd, sizeof cwd) ? cwd : NULL;
  s.grants = (char *)lua_tostring(L, grants_json);
  s.keep = keep;
  s.keep_days = keep_days;
  if (vouch_record_schedule_put(db, &s) != VOUCH_RECORD_OK)
    return luaL_error(L, "cannot store schedule '%s': %s", name, vouch_record_error(db));
  get_schedule(L, db, name);
  return 1;
}

static int sched_schedule(lua_State *L) { return schedule_add_k(L, 1); }
static int sched_add(lua_State *L) { return schedule_add_k(L, 0); }

/* vouch.schedules.list() -> array of schedule rows, by name */
static int sched_list(lua_State *L) {
  vouch_record_t *db = sdb(L);
  vouch_schedule_t *v;
  int n, i;
  if (vouch_record_schedules(db, 1, &v, &n) != VOUCH_RECORD_OK)
    return luaL_error(L, "%s", vouch_record_error(db));
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    push_schedule(L, &v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  vouch_schedules_free(v, n);
  return 1;
}

/* vouch.schedules.daemon() -> the pid of the daemon running on the default
** database, or nil when none is. */
static int sched_daemon(lua_State *L) {
  long pid = 0;
  if (vouch_pgrec_is_uri(vouch_host(L)->db_path)) {  /* a live one of the server's */
    vouch_daemon_t *v;
    int n, i;
    if (vouch_record_daemons(sdb(L), &v, &n) != VOUCH_RECORD_OK)
      return luaL_error(L, "%s", vouch_record_error(sdb(L)));
    for (i = 0; i < n && pid == 0; i++) if (v[i].alive) pid = (long)v[i].pid;
    vouch_daemons_free(v, n);
  } else {
    pid = vouch_sched_daemon_pid(vouch_host(L)->db_path);
  }
  if (pid) lua_pushinteger(L, (lua_Integer)pid);
  else lua_pushnil(L);
  return 1;
}

/* vouch.schedules.daemons() -> the daemons that joined the record on a
** server and have not left: {id, host, pid, started_at, seen_at, lease,
** alive, schedules}; an empty list for a file. */
static int sched_daemons(lua_State *L) {
  vouch_record_t *db = sdb(L);
  vouch_daemon_t *v;
  int n, i;
  if (vouch_record_daemons(db, &v, &n) != VOUCH_RECORD_OK)
    return luaL_error(L, "%s", vouch_record_error(db));
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_createtable(L, 0, 8);
    set_int(L, "id", v[i].id); set_text(L, "host", v[i].host); set_int(L, "pid", v[i].pid);
    set_text(L, "started_at", v[i].started_at); set_text(L, "seen_at", v[i].seen_at);
    set_number(L, "lease", v[i].lease_ms / 1000.0); set_int(L, "schedules", v[i].schedules);
    lua_pushboolean(L, v[i].alive);
    lua_setfield(L, -2, "alive");
    lua_rawseti(L, -2, i + 1);
  }
  vouch_daemons_free(v, n);
  return 1;
}

/* vouch.schedules.now() -> the time schedules think it is, as UTC text */
static int sched_now(lua_State *L) {
  char ts[32];
  lua_pushstring(L, vouch_time_utc(env_now(), ts));
  return 1;
}

/* vouch.schedules.get(name) -> row or nil */
static int sched_get(lua_State *L) {
  get_schedule(L, sdb(L), luaL_checkstring(L, 1));
  return 1;
}

/* The result of a change to the schedule `name`: true, or nil, message. */
static int changed(lua_State *L, vouch_record_t *db, const char *name, int rc) {
  if (rc < 0) return luaL_error(L, "%s", vouch_record_error(db));
  if (rc == 0) {
    lua_pushfstring(L, "no schedule named '%s'", name);
    return fail_with(L, lua_tostring(L, -1));
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* vouch.schedules.remove(name) -> true, or nil, message */
static int sched_remove(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  vouch_record_t *db = sdb(L);
  return changed(L, db, name, vouch_record_schedule_remove(db, name));
}

/* vouch.schedules.pause(name) */
static int sched_pause(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  vouch_record_t *db = sdb(L);
  return changed(L, db, name, vouch_record_schedule_pause(db, name));
}

/* vouch.schedules.resume(name): runs missed while paused are not caught up. */
static int sched_resume(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  vouch_record_t *db = sdb(L);
  vouch_schedule_t s;
  char ts[32];
  int64_t next;
  int found = vouch_record_schedule_get(db, name, &s);
  if (found <= 0) return changed(L, db, name, found);
  if (vouch_cron_next_of(s.expr, s.tz, env_now(), &next) != 0) next = -1;
  vouch_schedule_free(&s);
  return changed(L, db, name, vouch_record_schedule_resume(db, name,
                 next >= 0 ? vouch_time_utc(next, ts) : NULL));
}

/* The runs of every schedule or one, newest first (only those that raised
   an alert, with `alerts`). */
static int history_k(lua_State *L, int alerts) {
  const char *name = luaL_optstring(L, 1, NULL);
  lua_Integer limit = luaL_optinteger(L, 2, 20);
  vouch_record_t *db = sdb(L);
  vouch_sched_run_t *v;
  int n, i;
  if (vouch_record_history(db, name, (int64_t)limit, alerts, &v, &n) != VOUCH_RECORD_OK)
    return luaL_error(L, "%s", vouch_record_error(db));
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    push_sched_run(L, &v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  vouch_sched_runs_free(v, n);
  return 1;
}

/* vouch.schedules.history([name [, limit]]) -> rows of schedule_runs, newest first */
static int sched_history(lua_State *L) { return history_k(L, 0); }

/* vouch.schedules.alerts([name [, limit]]) -> those that raised an alert */
static int sched_alerts(lua_State *L) { return history_k(L, 1); }

/*
** vouch.schedules.prune{keep=N, keep_days=D, dry_run=bool, schedule=NAME}:
** remove the runs the retention of each schedule and this policy do not
** keep (see record.h). Returns {runs=, scores=, loads=, inputs=, history=},
** the rows removed (or, with dry_run, that would be).
*/
static int sched_prune(lua_State *L) {
  vouch_record_t *db;
  vouch_prune_t out;
  const char *name;
  lua_Integer keep;
  double days;
  char now[32];
  int dry, rc;
  /* Runs are the record of what was decided: a sandboxed script may read
     them, never remove them. */
  if (vouch_host(L)->command == NULL && !vouch_host(L)->trusted)
    return luaL_error(L, "'prune' is for 'vouch prune' and --trusted scripts: a sandboxed "
                         "script may not remove runs");
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  keep = opt_int(L, 1, "keep", 0);
  lua_getfield(L, 1, "keep_days");
  days = luaL_optnumber(L, -1, 0);
  lua_getfield(L, 1, "dry_run");
  dry = lua_toboolean(L, -1);
  lua_pop(L, 2);
  name = opt_string(L, 1, "schedule", NULL);
  if (keep < 0 || days < 0) return luaL_error(L, "keep and keep_days must not be negative");
  db = sdb(L);
  rc = vouch_record_prune(db, name, (int64_t)keep, days, vouch_time_utc(env_now(), now), dry, &out);
  if (rc == VOUCH_RECORD_BUSY) return fail_with(L, "the database is locked by another writer");
  if (rc != VOUCH_RECORD_OK) return luaL_error(L, "%s", vouch_record_error(db));
  lua_createtable(L, 0, 5);
  set_int(L, "runs", out.runs); set_int(L, "scores", out.scores); set_int(L, "loads", out.loads);
  set_int(L, "inputs", out.inputs); set_int(L, "history", out.history);
  return 1;
}

/*
** vouch.schedules.trigger(name [, partner_id [, reason]]): ask the daemon to
** run the schedule early (on its next poll); the run sees the partner and the
** reason in vouch.schedules.context(). Returns true, or nil, message.
*/
static int sched_trigger(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const char *partner = luaL_optstring(L, 2, NULL), *reason = luaL_optstring(L, 3, NULL);
  vouch_record_t *db = sdb(L);
  char ts[32];
  if (!get_schedule(L, db, name)) {
    lua_pushfstring(L, "no schedule named '%s'", name);
    return fail_with(L, lua_tostring(L, -1));
  }
  {
    /* A run that triggers its own schedule would re-run itself for ever. */
    const char *me = getenv("VOUCH_SCHEDULE");
    if (me && strcmp(me, name) == 0) {
      lua_pushfstring(L, "a run of '%s' cannot trigger '%s' again", name, name);
      return fail_with(L, lua_tostring(L, -1));
    }
  }
  /* Triggers for the same partner that wait for the daemon count once. */
  vouch_record_trigger(db, name, partner, reason, vouch_time_utc(env_now(), ts));
  lua_pushboolean(L, 1);
  return 1;
}

/*
** vouch.schedules.context() -> {name=, run=, trigger=, scheduled_for=,
** partner=, reason=} when this script runs for a schedule, else nil.
*/
static int sched_context(lua_State *L) {
  const char *name = getenv("VOUCH_SCHEDULE"), *run = getenv("VOUCH_SCHEDULE_RUN");
  const char *p = getenv("VOUCH_SCHEDULE_PARTNER"), *r = getenv("VOUCH_SCHEDULE_REASON");
  char trig[16] = "", when[32] = "";
  long long id = 0;
  if (name == NULL || *name == '\0') { lua_pushnil(L); return 1; }
  if (run) sscanf(run, "%lld:%15[^:]:%31s", &id, trig, when);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, name); lua_setfield(L, -2, "name");
  lua_pushinteger(L, id); lua_setfield(L, -2, "run");
  lua_pushstring(L, trig); lua_setfield(L, -2, "trigger");
  lua_pushstring(L, when); lua_setfield(L, -2, "scheduled_for");
  if (p && *p) { lua_pushstring(L, p); lua_setfield(L, -2, "partner"); }
  if (r && *r) { lua_pushstring(L, r); lua_setfield(L, -2, "reason"); }
  return 1;
}

/* vouch.schedules.psi(expected, actual) -> psi, band (for reports and tests) */
static int sched_psi(lua_State *L) {
  double *v[2];
  int n[2], k;
  double p;
  for (k = 0; k < 2; k++) {
    lua_Integer i;
    luaL_checktype(L, k + 1, LUA_TTABLE);
    n[k] = (int)lua_rawlen(L, k + 1);
    v[k] = lua_newuserdatauv(L, sizeof(double) * (size_t)(n[k] + 1), 0);
    for (i = 1; i <= n[k]; i++) {
      lua_rawgeti(L, k + 1, i);
      v[k][i - 1] = luaL_checknumber(L, -1);
      lua_pop(L, 1);
    }
  }
  p = vouch_psi(v[0], n[0], v[1], n[1]);
  lua_pushnumber(L, p);
  lua_pushstring(L, vouch_psi_band(p));
  return 2;
}

/*
** vouch.REASON: the stored reason tuple as the record defines it (record.h),
** for the Lua that writes and reads it: the 1-based position of each field,
** `flags` the outcomes that are red flags (a set) and `flag_list` the same
** in order.
*/
static void push_reason(lua_State *L) {
  static const struct { const char *name; int pos; } fields[] = {
    {"code", VOUCH_REASON_CODE}, {"outcome", VOUCH_REASON_OUTCOME},
    {"points", VOUCH_REASON_POINTS}, {"rank", VOUCH_REASON_RANK},
    {"evidence", VOUCH_REASON_EVIDENCE}
  };
  size_t i;
  lua_newtable(L);
  for (i = 0; i < sizeof fields / sizeof fields[0]; i++) set_int(L, fields[i].name, fields[i].pos + 1);
  lua_newtable(L);
  lua_newtable(L);
  for (i = 0; vouch_flag_outcomes[i]; i++) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -3, vouch_flag_outcomes[i]);
    lua_pushstring(L, vouch_flag_outcomes[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -3, "flag_list");
  lua_setfield(L, -2, "flags");
}

int luaopen_vouch_sched(lua_State *L) {
  static const luaL_Reg schedules[] = {
    {"add", sched_add}, {"list", sched_list}, {"get", sched_get}, {"daemon", sched_daemon},
    {"daemons", sched_daemons},
    {"remove", sched_remove}, {"pause", sched_pause}, {"resume", sched_resume},
    {"history", sched_history}, {"alerts", sched_alerts}, {"prune", sched_prune},
    {"trigger", sched_trigger}, {"context", sched_context}, {"psi", sched_psi}, {"now", sched_now}, {NULL, NULL}
  };
  lua_newtable(L);
  lua_pushcfunction(L, sched_schedule);
  lua_setfield(L, -2, "schedule");
  luaL_newlib(L, schedules);
  lua_setfield(L, -2, "schedules");
  push_reason(L);
  lua_setfield(L, -2, "REASON");
  return 1;
}

/* }====================================================== */
