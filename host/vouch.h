/*
** vouch.h: what the host's C files share.
**
** One vouch_host_t per process: it owns the lua_State, the libuv loop, the
** sandbox's limits and capabilities, and the path of the default database.
** Any C function called from Lua finds it with vouch_host(L).
*/
#ifndef VOUCH_H
#define VOUCH_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>
#include <uv.h>

#define VOUCH_VERSION "0.1.0"

/* Exit codes, documented in `vouch --help` and the README. */
enum {
  VOUCH_EXIT_OK = 0,      /* success */
  VOUCH_EXIT_SCRIPT = 1,  /* a script failed to load or run */
  VOUCH_EXIT_USAGE = 2,   /* bad command line */
  VOUCH_EXIT_LIMIT = 3,   /* memory, time or stack limit exceeded */
  VOUCH_EXIT_DB = 4,      /* the database could not be opened or upgraded */
  VOUCH_EXIT_FAILED = 5,  /* a check failed: `vouch test`, `vouch diff --fail-on` */
  VOUCH_EXIT_LOCKED = 6   /* another daemon holds the database's lock */
};

/* Which limit ended a script (vouch_host_t.limit_hit). */
enum { VOUCH_LIMIT_NONE, VOUCH_LIMIT_MEMORY, VOUCH_LIMIT_TIME, VOUCH_LIMIT_STACK,
       VOUCH_LIMIT_INTERRUPT };

/* Access a capability grants (vouch_allowed). */
enum { VOUCH_READ, VOUCH_WRITE };

typedef struct vouch_list {
  char **v;                 /* owned strings; resolved paths or host names */
  int n;
} vouch_list_t;

typedef struct vouch_opts {
  int trusted;              /* full standard library, no capabilities checked */
  size_t max_memory;        /* bytes; 0 = unlimited */
  double timeout;           /* seconds of wall time; 0 = unlimited */
  const char *db_path;      /* default database; NULL = $VOUCH_DB or vouch.db */
  const char *allow_read;   /* comma-separated; NULL = defaults */
  const char *allow_write;
  const char *allow_net;
  const char *allow_env;    /* variable names vouch.env may read */
  const char *out;          /* a command's --out FILE (writable), or NULL */
  int verbose;              /* --verbose: tracebacks for every error */
  int color;                /* --color: VOUCH_COLOR_AUTO, _ALWAYS or _NEVER */
  int record_stage;         /* a record on a server: stage runs in a private file, copy
                               none of the server's (a command that only scores) */
} vouch_opts_t;

enum { VOUCH_COLOR_AUTO, VOUCH_COLOR_ALWAYS, VOUCH_COLOR_NEVER };

typedef struct vouch_host {
  lua_State *L;             /* the one state; owned */
  uv_loop_t loop;           /* the one loop; closed by vouch_host_free */
  int trusted;              /* --trusted given */
  size_t max_memory;        /* allocator limit in bytes, 0 = none */
  size_t used_memory;       /* bytes the allocator has handed out */
  double timeout;           /* --timeout seconds, 0 = none */
  uint64_t deadline;        /* uv_hrtime() at which time runs out, 0 = none */
  volatile int limit_hit;   /* VOUCH_LIMIT_*: the limit that ended the run */
  int limit_reported;       /* its message was written: one report per limit */
  lua_State *running;       /* the coroutine running now, where a limit trips */
  vouch_list_t allow_read;  /* resolved directories and files */
  vouch_list_t allow_write;
  vouch_list_t allow_net;   /* host names, or "*" */
  vouch_list_t allow_env;   /* environment variable names vouch.env may read */
  vouch_list_t secrets;     /* values read through vouch.env: redacted on output */
  char *db_path;            /* default database path; owned */
  int db_given;             /* db_path came from --db (commands' hints repeat it) */
  int record_stage;         /* as vouch_opts_t's */
  char *script_dir;         /* directory of the main script; owned, may be NULL */
  char *out_path;           /* resolved --out FILE, the one file vouch.file.show
                               opens; owned, may be NULL */
  int failed;               /* a task raised an error: exit status 1 */
  int exit_code;            /* set by vouch.exit(n), -1 until then */
  int watchdog_armed;       /* the hard deadline thread runs */
  int no_watchdog;          /* never start it (the fuzzer has its own) */
  void (*on_report)(struct vouch_host *h);  /* before an error report is written
                                               (the REPL clears its prompt) */
  const char *command;      /* the vouch command being run ("report"), or NULL
                               for a script; static */
  int verbose;              /* --verbose or VOUCH_DEBUG=1: tracebacks always */
  int color;                /* --color, VOUCH_COLOR_*: see vouch_color */
  int warn_state;           /* warn(): 0 off (until "@on"), 1 on, 2 in a
                               message continued over several calls */
  size_t loads_held;        /* read buffers of the sources reading now (load.c) */
  void *loads_reading;      /* those sources, and those waiting their turn, */
  void *loads_waiting;      /* oldest first (load.c's readers) */
  int waking;               /* a task woken by a sleep's timer runs (loop.c) */
} vouch_host_t;

/* host.c */
vouch_host_t *vouch_host(lua_State *L);
vouch_host_t *vouch_host_new(const vouch_opts_t *opts);
int vouch_host_free(vouch_host_t *h);
int vouch_host_run_file(vouch_host_t *h, const char *path, int argc, char **argv);
int vouch_host_run_string(vouch_host_t *h, const char *code, const char *name);
int vouch_host_run_module(vouch_host_t *h, const char *module, int argc, char **argv);
int vouch_traceback(lua_State *L);
int vouch_plain_error(vouch_host_t *h, lua_State *co);
int vouch_term_width(int fd);
int vouch_color(vouch_host_t *h, int fd);
int vouch_pcall(lua_State *L, int nargs, int nresults);
void vouch_report(lua_State *L, const char *what);
int vouch_fail_errno(lua_State *L, const char *what, int err);
int vouch_exit_status(vouch_host_t *h, int lua_status);
void vouch_set_script_dir(vouch_host_t *h, const char *script);

/* sandbox.c */
void *vouch_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void vouch_sandbox_open(lua_State *L);
void vouch_sandbox_env(lua_State *L);
void vouch_limits_arm(vouch_host_t *h);
void vouch_limits_arm_for(vouch_host_t *h, double seconds);
int vouch_limits_report(vouch_host_t *h);
int vouch_mem_charge(vouch_host_t *h, size_t n);
void vouch_mem_release(vouch_host_t *h, size_t n);
void vouch_mem_settle(lua_State *L);
void vouch_limits_disarm(vouch_host_t *h);
void vouch_limits_hook(lua_State *L);
void vouch_limits_trip(vouch_host_t *h, int limit);
const char *vouch_limit_message(vouch_host_t *h);
int vouch_allowed(vouch_host_t *h, const char *path, int mode, char **resolved);
int vouch_check_path(lua_State *L, const char *path, int mode, char **resolved);
extern const char VOUCH_NO_FOLDER[];  /* why a granted path's folder is missing */
/*
** Opening a path a script named: checked against the grants by name, then
** opened beneath the grant it falls under, so that no symlink can lead out
** of it, and checked again on what was opened (see sandbox.c).
*/
typedef struct vouch_path vouch_path_t;
vouch_path_t *vouch_path_check(vouch_host_t *h, const char *path, int mode,
                               const char **why);
int vouch_path_open(const vouch_path_t *p, int oflags, mode_t perm, const char **why);
int vouch_path_open_dir(const vouch_path_t *p, const char **base, const char **why);
const char *vouch_path_resolved(const vouch_path_t *p);
void vouch_path_free(vouch_path_t *p);
int vouch_open_path(vouch_host_t *h, const char *path, int mode, int oflags, mode_t perm,
                    char **resolved, const char **why);
int vouch_check_open(lua_State *L, const char *path, int mode, int oflags, mode_t perm,
                     char **resolved);
int vouch_allow_read_path(vouch_host_t *h, const char *path);
int vouch_net_allowed(vouch_host_t *h, const char *host);
int vouch_parse_size(const char *s, size_t *out);
int vouch_is_overflow(const char *msg);
int vouch_read_fd(lua_State *L, int fd);
int vouch_list_set(vouch_list_t *l, const char *csv, int resolve);
void vouch_list_free(vouch_list_t *l);
int vouch_load_script(lua_State *L, const char *path, const char *chunkname);
int vouch_load_script_fd(lua_State *L, int fd, const char *path, const char *chunkname);

/* script.c: vouch.script (load a Lua file in a fresh sandbox), vouch.dir */
int luaopen_vouch_script(lua_State *L);

/* hash.c: vouch.hash, XXH3-64 of a text as 16 lowercase hex digits (the
   record's hash of a scorecard); vouch_hash_hex writes them and a NUL to hex. */
#define VOUCH_HASH_HEX 17
void vouch_hash_hex(const void *p, size_t n, char hex[VOUCH_HASH_HEX]);
/* The same of the bytes read from fd to its end, 64 KiB at a time: 0, or
   the errno of a read that failed (or ENOMEM). */
int vouch_hash_fd_hex(int fd, char hex[VOUCH_HASH_HEX]);
int luaopen_vouch_hash(lua_State *L);

/* load.c: let a source waiting for the load budget in when the loop ran dry */
int vouch_load_unblock(vouch_host_t *h);

/* loop.c: every script runs as a task, a coroutine on the libuv loop. */
typedef struct vouch_task vouch_task_t;
typedef struct vouch_op vouch_op_t;
struct vouch_op {
  vouch_task_t *task;       /* the waiting task; NULL once done or cancelled */
  lua_State *L;             /* the task's coroutine, where results are pushed;
                               NULL once cancelled */
  void (*cancel)(vouch_op_t *op);  /* stop the work and free it; no Lua here */
  vouch_op_t *prev, *next;  /* the loop's list of pending operations */
  struct vouch_op_timer *timer;  /* armed by vouch_op_timeout, or NULL */
};
/*
** An async call: vouch_op_check(L) (raises if it may not wait), allocate,
** vouch_op_start, start the work, vouch_op_timeout(op, vouch_opt_timeout(L,
** OPTS)) (milliseconds, -1 = none), return vouch_op_wait(L) or lua_yieldk.
** The completion pushes results on op->L and calls vouch_op_done. A
** timeout, task:cancel(), vouch.race/all or shutdown may cancel the op at
** any time: op->cancel runs (no Lua) with op->task and op->L already NULL,
** and a completion that still arrives must only free. After a timeout the
** task (or a lua_yieldk continuation) gets nil, "timed out after N ms",
** "ETIMEDOUT". The op may run in a user coroutine inside the task: loop.c
** passes the wait through coroutine.resume/wrap.
*/
void vouch_op_check(lua_State *L);
void vouch_op_start(lua_State *L, vouch_op_t *op);
int vouch_op_wait(lua_State *L);
void vouch_op_done(vouch_op_t *op, int nres);
void vouch_op_unlink(vouch_op_t *op);
void vouch_op_cancel(vouch_op_t *op);
void vouch_op_timeout(vouch_op_t *op, int64_t ms);
int64_t vouch_opt_timeout(lua_State *L, int idx);
int luaopen_vouch_loop(lua_State *L);
int vouch_task_start(lua_State *L, int nargs);
vouch_task_t *vouch_task_current(lua_State *L);
void vouch_task_resume(vouch_task_t *t, int nres);
int vouch_run_loop(vouch_host_t *h);
int vouch_tasks_live(vouch_host_t *h);
void vouch_tasks_cancel(vouch_host_t *h);

/* repl.c */
int vouch_repl(vouch_host_t *h);

/* json.c, load.c */
int luaopen_vouch_json(lua_State *L);
void vouch_json_push_fields(lua_State *L, int tbl, const char *const *keys, int n);
/* JSON text built in a buffer its owner keeps and reuses (json.c). */
typedef struct vouch_json_buf { char *p; size_t n, cap; } vouch_json_buf;
void vouch_json_buf_free(lua_State *L, vouch_json_buf *b);
void vouch_json_add(lua_State *L, vouch_json_buf *b, const char *s, size_t n);
void vouch_json_add_string(lua_State *L, vouch_json_buf *b, const char *s, size_t n);
void vouch_json_add_number(lua_State *L, vouch_json_buf *b, int idx, int digits);
void vouch_json_add_value(lua_State *L, vouch_json_buf *b, int idx);
void vouch_json_add_fields(lua_State *L, vouch_json_buf *b, int tbl, int keys, int n);
int vouch_json_fmt(char *b, double d, int digits);

/* script.c: set once a command writes its own status line (vouch.status) */
extern int vouch_status_taken;
int luaopen_vouch_load(lua_State *L);
/* cron.c, sched_lua.c, sched.c: schedules (see cron.h for the C side of
   cron), their Lua library and the engine's commands */
int luaopen_vouch_cron(lua_State *L);
int luaopen_vouch_sched(lua_State *L);
int vouch_sched_command(vouch_opts_t *o, const char *cmd, int argc, char **argv);

/* file.c */
int luaopen_vouch_file(lua_State *L);

/* xlsx.c: vouch.xlsx, writing workbooks (libxlsxwriter) */
int luaopen_vouch_xlsx(lua_State *L);

/*
** env.c: --allow-env and vouch.env. Values read are secrets: what the host
** writes out (reports, the REPL, stored rows) shows them as "***". Values
** shorter than VOUCH_SECRET_MIN bytes are not redacted (they would blot out
** ordinary text).
*/
#define VOUCH_SECRET_MIN 4
int luaopen_vouch_env(lua_State *L);
int vouch_env_name_ok(const char *name);
int vouch_env_allowed(vouch_host_t *h, const char *name);
int vouch_secret_add(vouch_host_t *h, const char *value);
char *vouch_redact_list(const vouch_list_t *l, const char *s);
char *vouch_redact(vouch_host_t *h, const char *s);
void vouch_redact_at(lua_State *L, int idx);

/* http.c */
int luaopen_vouch_http(lua_State *L);

/* serve.c: vouch.serve, the HTTP server of `vouch serve` (H2O on the loop) */
int luaopen_vouch_serve(lua_State *L);

/* stdlib.c, generated from stdlib/ by host/embed.sh */
struct vouch_module { const char *name; const char *src; size_t len; };
extern const struct vouch_module vouch_stdlib[];

#endif
