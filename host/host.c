/*
** host.c: the one lua_State, the list of host libraries, and the protected
** call with traceback that everything runs through.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vouch.h"
#include "db.h"

#define CLOSE_CPU 10              /* seconds of CPU the finalizers at exit may take, */
#define CLOSE_CPU_PER (16u << 20) /* and one more per this many bytes Lua frees then */
#define CLOSE_MEMORY (4u << 20)   /* bytes past --max-memory they may use */

/*
** The host libraries, in the order they are opened. Each luaopen_ returns
** a table; a name starting with '_' merges that table's fields into `vouch`
** itself, any other name becomes `vouch.NAME`. This list is the only place
** that knows them all.
*/
static const luaL_Reg vouch_libs[] = {
  {"_loop", luaopen_vouch_loop},
  {"_script", luaopen_vouch_script},
  {"_env", luaopen_vouch_env},
  {"_hash", luaopen_vouch_hash},
  {"db", luaopen_vouch_db},
  {"json", luaopen_vouch_json},
  {"load", luaopen_vouch_load},
  {"file", luaopen_vouch_file},
  {"xlsx", luaopen_vouch_xlsx},
  {"http", luaopen_vouch_http},
  {"cron", luaopen_vouch_cron},
  {"_sched", luaopen_vouch_sched},
  {"serve", luaopen_vouch_serve},
  {NULL, NULL}
};


vouch_host_t *vouch_host(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  return (vouch_host_t *)ud;
}


/* Message handler: the error plus a traceback, limits named plainly. */
int vouch_traceback(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  const char *msg = lua_tostring(L, 1);
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
    lua_pushstring(L, vouch_limit_message(h));
    return 1;  /* a limit needs no traceback: where it struck is chance */
  }
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}


/*
** A vouch command's own errors are the user's mistakes told plainly (a
** missing file, a folder that is not there): while a command runs and no
** code of the user's (a scorecard) is on the stack of `co`, the message on
** top of it loses its position in vouch's code and gets no traceback,
** unless --verbose or VOUCH_DEBUG=1 asks for them. Returns 1 when the
** message was made plain, 0 when it should have its traceback.
*/
int vouch_plain_error(vouch_host_t *h, lua_State *co) {
  lua_Debug ar;
  const char *msg = lua_tostring(co, -1), *rest;
  int level;
  if (h->command == NULL || h->verbose || msg == NULL) return 0;
  for (level = 0; lua_getstack(co, level, &ar); level++) {
    lua_getinfo(co, "S", &ar);
    if (ar.what[0] != 'C' && strncmp(ar.source, "@[vouch]/", 9) != 0 &&
        strcmp(ar.source, "=vouch") != 0)
      return 0;  /* the user's code: where it failed matters */
  }
  if (strncmp(msg, "[vouch]/", 8) == 0 && (rest = strstr(msg, ": ")) != NULL &&
      rest[-1] >= '0' && rest[-1] <= '9') {
    lua_pushstring(co, rest + 2);
    lua_replace(co, -2);
  }
  return 1;
}


/*
** The width of the terminal `fd` is, else $COLUMNS, else 0 (no limit: the
** output goes to a file or a pipe, whole).
*/
int vouch_term_width(int fd) {
  struct winsize ws;
  const char *env = getenv("COLUMNS");
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (env && atoi(env) > 0) return atoi(env) < 10000 ? atoi(env) : 10000;
  return 0;
}


/* Whether output to `fd` gets colour: --color, else on a terminal unless
   NO_COLOR is set (https://no-color.org). */
int vouch_color(vouch_host_t *h, int fd) {
  const char *no = getenv("NO_COLOR");
  if (h->color != VOUCH_COLOR_AUTO) return h->color == VOUCH_COLOR_ALWAYS;
  return isatty(fd) && !(no && *no);
}


int vouch_pcall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs;
  int status;
  lua_pushcfunction(L, vouch_traceback);
  lua_insert(L, base);  /* put handler under function and args */
  status = lua_pcall(L, nargs, nresults, base);
  lua_remove(L, base);
  return status;
}


/*
** Push an expected failure as luv and io.open do: nil, "WHAT: message",
** "ECODE" (libuv's name for the errno). Returns 3, for `return`.
*/
int vouch_fail_errno(lua_State *L, const char *what, int err) {
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", what, strerror(err));
  lua_pushstring(L, uv_err_name(uv_translate_sys_error(err)));
  return 3;
}


/* Print the error on top of the stack as `vouch: what: message` and pop it. */
void vouch_report(lua_State *L, const char *what) {
  const char *msg = lua_tostring(L, -1);
  char *clean = NULL;
  vouch_host_t *h = vouch_host(L);
  if (msg == NULL) msg = "(error object is not a string)";
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
    /* One limit, one report, however many tasks it stopped. */
    if (h->limit_reported) {
      lua_pop(L, 1);
      return;
    }
    h->limit_reported = 1;
  }
  /* Secrets read through vouch.env are shown as "***"; without the memory
     to redact, "***" alone, never the secret. */
  if (h->secrets.n > 0) msg = clean = vouch_redact(h, msg);
  if (msg == NULL) msg = "***";
  if (h->on_report) h->on_report(h);
  fflush(stdout);
  if (what) fprintf(stderr, "vouch: %s: %s\n", what, msg);
  else fprintf(stderr, "vouch: %s\n", msg);
  fflush(stderr);
  free(clean);
  lua_pop(L, 1);
}


/*
** The exit status for a finished run: a limit outranks a script error, and
** an error message that is Lua's own stack overflow counts as a limit.
*/
int vouch_exit_status(vouch_host_t *h, int lua_status) {
  if (h->limit_hit != VOUCH_LIMIT_NONE) return VOUCH_EXIT_LIMIT;
  if (lua_status == LUA_ERRMEM) return VOUCH_EXIT_LIMIT;
  if (lua_status != LUA_OK || h->failed) return VOUCH_EXIT_SCRIPT;
  return VOUCH_EXIT_OK;
}


static void list_free(vouch_list_t *l) { vouch_list_free(l); }


void vouch_set_script_dir(vouch_host_t *h, const char *script) {
  char buf[PATH_MAX];
  const char *slash = strrchr(script, '/');
  free(h->script_dir);
  h->script_dir = NULL;
  if (slash == NULL) {
    if (getcwd(buf, sizeof buf) != NULL) h->script_dir = strdup(buf);
  } else {
    char *dir = strndup(script, (size_t)(slash - script) + (slash == script));
    if (dir && realpath(dir, buf) != NULL) h->script_dir = strdup(buf);
    free(dir);
  }
}


/* Build the `vouch` table from vouch_libs and keep it in the registry. */
static void open_libs(lua_State *L) {
  const luaL_Reg *lib;
  lua_newtable(L);
  for (lib = vouch_libs; lib->func; lib++) {
    luaL_requiref(L, lib->name, lib->func, 0);
    if (lib->name[0] == '_') {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);  /* key, key, value */
        lua_settable(L, -5);
      }
    } else {
      lua_setfield(L, -2, lib->name);
      continue;
    }
    lua_pop(L, 1);
  }
  lua_pushliteral(L, VOUCH_VERSION);
  lua_setfield(L, -2, "version");
  lua_setfield(L, LUA_REGISTRYINDEX, "vouch.lib");
}


static int host_init(lua_State *L) {
  luaL_openlibs(L);
  open_libs(L);
  vouch_sandbox_open(L);
  return 0;
}


/*
** warn() as lua.c has it (lauxlib's warning function): off until "@on",
** "@off" turns it off again, and a message, which may come in pieces, goes
** to stderr as "Lua warning: ...".
*/
static void host_warn(void *ud, const char *msg, int tocont) {
  vouch_host_t *h = ud;
  if (h->warn_state != 2 && !tocont && msg[0] == '@') {   /* a control message */
    if (strcmp(msg, "@off") == 0) h->warn_state = 0;
    else if (strcmp(msg, "@on") == 0) h->warn_state = 1;
    return;
  }
  if (h->warn_state == 0) return;
  if (h->warn_state == 1) fputs("Lua warning: ", stderr);
  fputs(msg, stderr);
  if (tocont) h->warn_state = 2;
  else {
    fputs("\n", stderr);
    fflush(stderr);
    h->warn_state = 1;
  }
}


vouch_host_t *vouch_host_new(const vouch_opts_t *opts) {
  vouch_host_t *h = calloc(1, sizeof *h);
  const char *db;
  if (h == NULL) return NULL;
  h->trusted = opts->trusted;
  h->max_memory = opts->max_memory;
  h->timeout = opts->timeout;
  h->exit_code = -1;
  h->color = opts->color;
  h->verbose = opts->verbose || (getenv("VOUCH_DEBUG") && strcmp(getenv("VOUCH_DEBUG"), "1") == 0);
  db = opts->db_path ? opts->db_path : getenv("VOUCH_DB");
  h->db_path = strdup(db && *db ? db : "vouch.db");
  h->db_given = opts->db_path != NULL;
  h->record_stage = opts->record_stage;
  if (uv_loop_init(&h->loop) != 0) goto fail;
  h->L = lua_newstate(vouch_alloc, h);
  if (h->L == NULL) goto fail_loop;
  lua_setwarnf(h->L, host_warn, h);
  if (vouch_list_set(&h->allow_read, opts->allow_read, 1) != 0 ||
      vouch_list_set(&h->allow_write, opts->allow_write, 1) != 0 ||
      vouch_list_set(&h->allow_net, opts->allow_net, 0) != 0 ||
      vouch_list_set(&h->allow_env, opts->allow_env, 0) != 0) {
    fprintf(stderr, "vouch: %s\n", strerror(errno));
    goto fail_state;
  }
  if (opts->out) vouch_allowed(h, opts->out, VOUCH_WRITE, &h->out_path);
  lua_pushcfunction(h->L, host_init);
  if (vouch_pcall(h->L, 0, 0) != LUA_OK) {
    vouch_report(h->L, "cannot start");
    goto fail_state;
  }
  return h;
fail_state:
  lua_close(h->L);
fail_loop:
  uv_loop_close(&h->loop);
fail:
  free(h->db_path);
  free(h);
  return NULL;
}


static void close_walk(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle)) uv_close(handle, NULL);
}


/* SIGXCPU at exit: a finalizer spent the CPU it was given. */
static void on_xcpu(int sig) {
  static const char msg[] = "vouch: time limit exceeded in a finalizer at exit\n";
  (void)sig;
  if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */ }
  _exit(VOUCH_EXIT_LIMIT);
}


/*
** Close the host. Closing the state runs the finalizers and the main
** thread's pending __close handlers, Lua code a script may have put there,
** so they run under limits too. Time is counted in CPU (RLIMIT_CPU, when
** the run had a --timeout): CLOSE_CPU seconds, so that a finalizer that
** spins ends with exit 3 while a teardown slowed by a loaded machine, or
** by valgrind, does not; Lua runs __gc with hooks off, so no wall-clock
** hook could stop it anyway. Memory is --max-memory plus CLOSE_MEMORY,
** room for the host's own finalizers: there an allocation past the limit
** fails (an error, which ends that finalizer). Either limit is reported.
** Returns VOUCH_EXIT_LIMIT when one tripped, else 0.
*/
int vouch_host_free(vouch_host_t *h) {
  struct rlimit saved, rl;
  struct rusage ru;
  int status = 0, cpu_limited = 0;
  void (*old_xcpu)(int) = SIG_DFL;
  if (h == NULL) return 0;
  vouch_limits_disarm(h);
  vouch_db_close_default(h->L);
  vouch_limits_arm_for(h, 0);
  if (h->timeout > 0 && getrlimit(RLIMIT_CPU, &saved) == 0 && getrusage(RUSAGE_SELF, &ru) == 0) {
    rl = saved;
    /* Closing frees every object left, which takes time with the heap's
       size: that is the host's work, and is allowed for. */
    rl.rlim_cur = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1 + CLOSE_CPU +
                           h->used_memory / CLOSE_CPU_PER);
    if (rl.rlim_cur < saved.rlim_cur && setrlimit(RLIMIT_CPU, &rl) == 0) {
      old_xcpu = signal(SIGXCPU, on_xcpu);
      cpu_limited = 1;
    }
  }
  if (h->max_memory) h->max_memory += CLOSE_MEMORY;
  h->running = h->L;                 /* finalizers run on the main thread */
  lua_close(h->L);
  h->running = NULL;
  if (cpu_limited) {
    setrlimit(RLIMIT_CPU, &saved);
    signal(SIGXCPU, old_xcpu);
  }
  vouch_limits_disarm(h);
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
    if (h->limit_hit == VOUCH_LIMIT_MEMORY) h->max_memory -= CLOSE_MEMORY;
    fprintf(stderr, "vouch: %s in a finalizer at exit\n", vouch_limit_message(h));
    status = VOUCH_EXIT_LIMIT;
  }
  /* Closing the state closes what Lua owned; anything left is closed here. */
  uv_walk(&h->loop, close_walk, NULL);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&h->loop) != 0)
    fprintf(stderr, "vouch: warning: the loop closed with live handles\n");
  list_free(&h->allow_read);
  list_free(&h->allow_write);
  list_free(&h->allow_net);
  list_free(&h->allow_env);
  list_free(&h->secrets);
  free(h->db_path);
  free(h->script_dir);
  free(h->out_path);
  free(h);
  return status;
}


/*
** Run the function on top of the stack (below it its `nargs` arguments) as
** the main task, then run the loop until no task or handle is left.
*/
static int run_main(vouch_host_t *h, int nargs) {
  int status;
  h->failed = 0;
  h->exit_code = -1;
  vouch_limits_arm(h);
  status = vouch_task_start(h->L, nargs);
  if (status == LUA_OK) status = vouch_run_loop(h);
  vouch_mem_settle(h->L);  /* the next run starts without this one's garbage */
  vouch_limits_disarm(h);
  vouch_limits_report(h);  /* one that tripped where nothing reported it */
  if (h->exit_code >= 0 && h->limit_hit == VOUCH_LIMIT_NONE) return h->exit_code;
  return vouch_exit_status(h, status);
}


/* Push the script's environment with `arg` set as lua.c does. */
static void push_env(lua_State *L, const char *script, int argc, char **argv) {
  int i;
  if (vouch_host(L)->trusted) lua_pushglobaltable(L);
  else vouch_sandbox_env(L);
  lua_createtable(L, argc, 1);
  lua_pushstring(L, script);
  lua_rawseti(L, -2, 0);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "arg");
}


static int set_env(lua_State *L) {
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);  /* _ENV of the chunk */
  return 0;
}


int vouch_host_run_file(vouch_host_t *h, const char *path, int argc, char **argv) {
  lua_State *L = h->L;
  int i;
  char name[PATH_MAX + 2];
  vouch_set_script_dir(h, path);
  if (vouch_load_script(L, path, NULL) != LUA_OK) {
    snprintf(name, sizeof name, "failed to load %s", path);
    vouch_report(L, name);
    return VOUCH_EXIT_SCRIPT;
  }
  push_env(L, path, argc, argv);
  set_env(L);
  for (i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  return run_main(h, argc);
}


int vouch_host_run_string(vouch_host_t *h, const char *code, const char *name) {
  lua_State *L = h->L;
  if (luaL_loadbufferx(L, code, strlen(code), name, h->trusted ? "bt" : "t") != LUA_OK) {
    vouch_report(L, "failed to load");
    return VOUCH_EXIT_SCRIPT;
  }
  push_env(L, name, 0, NULL);
  set_env(L);
  return run_main(h, 0);
}


/*
** Run an embedded module as a command (`vouch vet ...` runs vouch.cmd.vet):
** the module returns a function that takes the command's arguments and
** returns an exit status (nil means success).
*/
int vouch_host_run_module(vouch_host_t *h, const char *module, int argc, char **argv) {
  lua_State *L = h->L;
  int i;
  const char *code =
    "local name, db, columns, color = ...\n"
    "local commands = require('vouch.cmd.commands')\n"
    "if db ~= '' then commands.db = db end\n"
    "commands.columns, commands.color = columns, color\n"
    "local main = require(name)\n"
    "local status = main(select(5, ...))\n"
    "if status and status ~= 0 then vouch.exit(status) end\n";
  vouch_set_script_dir(h, "./x");  /* the working directory */
  h->command = strrchr(module, '.') + 1;  /* "vouch.cmd.report": "report" */
  if (luaL_loadbufferx(L, code, strlen(code), "=vouch", "t") != LUA_OK) {
    vouch_report(L, "failed to load");
    return VOUCH_EXIT_SCRIPT;
  }
  push_env(L, module, argc, argv);
  set_env(L);
  lua_pushstring(L, module);
  lua_pushstring(L, h->db_given ? h->db_path : "");  /* the --db the user gave */
  lua_pushinteger(L, vouch_term_width(1));             /* what tables fit, 0: all */
  lua_pushboolean(L, vouch_color(h, 1));
  for (i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  return run_main(h, argc + 4);
}
