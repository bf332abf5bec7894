/*
** repl.c: `vouch repl`, the interactive workbench.
**
** The line editor (libedit's readline interface) runs in callback mode: a
** uv_poll_t on stdin feeds it one key at a time from the libuv loop, so
** timers, spawned tasks and loads go on while the prompt waits. Each
** statement runs as a task; the prompt comes back when that task ends.
** Output written while the prompt is up (a timer's print, a failed task's
** report) first clears the prompt line, and the line is redrawn, with what
** was typed, once the loop has nothing more to run.
**
** Without a terminal on stdin the REPL reads statements from it one by one
** and prints their results, without prompts, colour or history.
**
** The value printer, completion and the dot-commands' Lua parts live in
** stdlib/repl.lua (module vouch.repl), loaded with the host's globals.
*/
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>

#include "vouch.h"

#define PROMPT "vouch> "
#define PROMPT_MORE "  ...> "
#define HISTORY_MAX 1000

enum { STMT_READY, STMT_INCOMPLETE, STMT_ERROR };
enum { KEY_NONE, KEY_EOF, KEY_INTERRUPT, KEY_REDRAW };

typedef struct repl {
  vouch_host_t *h;
  lua_State *L;             /* the host's main state */
  int interactive;          /* stdin is a terminal: line editor, prompts, history */
  int color;                /* ANSI colours on stdout */
  int ecolor;               /* ANSI colours on stderr */
  int env_ref;              /* registry: the statements' shared environment */
  int mod_ref;              /* registry: the vouch.repl module */
  uv_poll_t *poll;          /* stdin readable; malloc'd, freed when closed */
  uv_async_t *async;        /* a SIGINT arrived; malloc'd, freed when closed */
  uv_prepare_t *prepare;    /* puts the prompt back before the loop blocks */
  uv_signal_t *signals[2];  /* SIGWINCH and SIGCONT: the terminal changed */
  int stdin_flags;          /* fcntl flags of stdin, restored at the end */
  char *buf;                /* the statement typed so far (lines joined by \n) */
  size_t len, cap;
  volatile sig_atomic_t busy;  /* a statement's task runs */
  lua_State *volatile co;   /* that task's coroutine; NULL once it is left */
  lua_Integer stmt;         /* number of the latest statement */
  int task_ref;             /* registry: its task's userdata, or LUA_NOREF */
  volatile sig_atomic_t sigint_ran;  /* Lua was running when SIGINT came */
  volatile sig_atomic_t sigint_quit; /* SIGINT without a terminal: leave */
  volatile sig_atomic_t interrupting; /* SIGINT came while the statement ran */
  int abandoned;            /* statements given up while they waited */
  uv_timer_t *deadline;     /* --timeout for a statement that waits */
  int editing;              /* the line editor is installed (a prompt is up) */
  int hidden;               /* the prompt line was cleared for output */
  int quit;                 /* leave at the next turn of the loop */
  int status;               /* exit status */
  int failed;               /* a statement failed (piped mode exits 1) */
  int limited;              /* a limit ended one (piped mode exits 3) */
  int timing;               /* .time on */
  int key;                  /* KEY_*: a bound key seen during the last read */
  uint64_t started;         /* uv_hrtime() when the statement started */
  char *history;            /* history file; owned; NULL = none */
  struct sigaction old_int; /* SIGINT's disposition before the REPL */
} repl;

/* libedit's callbacks carry no user pointer, and neither does a signal. */
static repl *the_repl;

static void show_prompt(repl *r);
static void clear_input(repl *r);
static void on_deadline(uv_timer_t *t);
static void on_line(char *line);
static void on_stdin(uv_poll_t *p, int status, int events);
static void hide_prompt(repl *r);


/*
** {======================================================
** Output
** =======================================================
*/

/* Write to stdout or stderr, clearing the prompt line first if it is up. */
/*
** Write to stdout or stderr, clearing the prompt line first if it is up.
** Secrets read through vouch.env are echoed as "***" (and without the
** memory to redact, nothing of the text is).
*/
static void out_write(repl *r, FILE *f, const char *s, size_t n) {
  char *clean = NULL;
  if (r->h->secrets.n > 0 && memchr(s, '\0', n) == NULL) {
    if ((clean = vouch_redact(r->h, s)) == NULL) return;
    s = clean;
    n = strlen(clean);
  }
  hide_prompt(r);
  fflush(stdout);
  fwrite(s, 1, n, f);
  fflush(f);
  free(clean);
}


static void out_line(repl *r, FILE *f, const char *color, const char *s) {
  int c = color && (f == stderr ? r->ecolor : r->color);
  char *clean = NULL;
  if (r->h->secrets.n > 0 && (s = clean = vouch_redact(r->h, s)) == NULL) return;
  hide_prompt(r);
  fflush(stdout);
  fprintf(f, "%s%s%s\n", c ? color : "", s, c ? "\033[0m" : "");
  fflush(f);
  free(clean);
}


/* print(...) for the REPL: like Lua's, but it keeps the prompt whole. */
static int repl_print(lua_State *L) {
  repl *r = the_repl;
  int n = lua_gettop(L), i;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (r) out_write(r, stdout, s, len);
    else fwrite(s, 1, len, stdout);
  }
  return 0;
}


/* The host is about to report an error (a failed background task). */
static void before_report(vouch_host_t *h) {
  (void)h;
  if (the_repl) hide_prompt(the_repl);
}

/* }====================================================== */


/*
** {======================================================
** Running statements
** =======================================================
*/

/* Message handler: a short traceback, limits and interrupts named plainly. */
static int stmt_handler(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  const char *msg = lua_tostring(L, 1);
  luaL_Buffer b;
  const char *tb, *line, *nl;
  int frames = 0;
  if (lua_touserdata(L, 1) == (void *)&h->exit_code) return 1;  /* vouch.exit() */
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
    lua_pushstring(L, vouch_limit_message(h));
    return 1;
  }
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  if (the_repl && the_repl->interrupting) {
    size_t n = strlen(msg);
    if (n >= 11 && strcmp(msg + n - 11, "interrupted") == 0) {
      lua_pushliteral(L, "interrupted");  /* Ctrl-C: where it struck is chance */
      return 1;
    }
  }
  /* Keep the frames of the statement itself, not the REPL's machinery. */
  luaL_traceback(L, L, NULL, 1);
  tb = luaL_gsub(L, lua_tostring(L, -1), "in local 'chunk'", "in main chunk");
  luaL_buffinit(L, &b);
  luaL_addstring(&b, msg);
  for (line = strchr(tb, '\n'); line && frames < 8; line = nl) {
    nl = strchr(line + 1, '\n');
    {
      size_t n = nl ? (size_t)(nl - line) : strlen(line);
      lua_pushlstring(L, line, n);
      {
        const char *f = lua_tostring(L, -1);
        lua_pop(L, 1);
        if (strstr(f, "[vouch]/repl.lua") || strstr(f, "[C]: in ?")) break;
        if (strstr(f, "[C]: in function 'error'")) continue;
        if (frames == 0) luaL_addstring(&b, "\nstack traceback:");
        luaL_addlstring(&b, line, n);
        frames++;
      }
    }
  }
  luaL_pushresult(&b);
  return 1;
}


/* The hook set on an abandoned statement: it ends at its next instruction. */
static void kill_hook(lua_State *L, lua_Debug *ar) {
  vouch_host_t *h = vouch_host(L);
  (void)ar;
  if (h->limit_hit == VOUCH_LIMIT_INTERRUPT) h->limit_hit = VOUCH_LIMIT_NONE;
  luaL_error(L, "interrupted");
}


/*
** A limit ended the statement or a task it left behind: every task goes
** (they would run unbounded), and the next statement starts afresh.
*/
static void end_limit(repl *r) {
  vouch_host_t *h = r->h;
  r->limited = 1;
  r->failed = 1;
  if (r->deadline) uv_timer_stop(r->deadline);
  vouch_tasks_cancel(h);
  vouch_mem_settle(r->L);
  vouch_limits_disarm(h);
  h->limit_hit = VOUCH_LIMIT_NONE;
}


/*
** The statement is over; `self` is 1 when its own task is still live (it
** is ending). The tasks it spawned may run on in the background, but under
** its --timeout: the limits stay armed until they end or time runs out.
*/
static void end_statement(repl *r, int self) {
  vouch_host_t *h = r->h;
  lua_State *on = self && r->co ? r->co : r->L;  /* the thread running now */
  int limit = h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT;
  r->busy = 0;
  r->co = NULL;
  r->interrupting = 0;
  luaL_unref(r->L, LUA_REGISTRYINDEX, r->task_ref);
  r->task_ref = LUA_NOREF;
  if (limit) {
    if (!self) end_limit(r);
    else r->limited = 1;           /* stmt_k: the others go in check_limits */
  } else if (vouch_tasks_live(h) > self && h->deadline) {
    uint64_t now = uv_hrtime();
    if (r->deadline)
      uv_timer_start(r->deadline, on_deadline,
                     h->deadline > now ? (h->deadline - now) / 1000000 + 1 : 0, 0);
  } else {
    if (r->deadline) uv_timer_stop(r->deadline);
    vouch_mem_settle(on);  /* the next statement starts without this one's garbage */
    vouch_limits_disarm(h);
    h->limit_hit = VOUCH_LIMIT_NONE;
  }
  if (r->timing) {
    char t[64];
    snprintf(t, sizeof t, "(%.3f s)", (double)(uv_hrtime() - r->started) / 1e9);
    out_line(r, stdout, "\033[2m", t);
  }
  if (!r->interactive) uv_stop(&h->loop);
}


static int stmt_k(lua_State *L, int status, lua_KContext ctx) {
  repl *r = the_repl;
  vouch_host_t *h = vouch_host(L);
  (void)ctx;
  if (L != r->co) return 0;  /* interrupted while it waited: already reported */
  if (status == LUA_OK || status == LUA_YIELD) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (s) {
      out_write(r, stdout, s, n);
      out_write(r, stdout, "\n", 1);
    }
  } else if (lua_touserdata(L, -1) == (void *)&h->exit_code) {
    r->quit = 1;
    r->status = h->exit_code;
  } else {
    const char *msg = lua_tostring(L, -1);
    if (status == LUA_ERRMEM && h->limit_hit != VOUCH_LIMIT_NONE)
      msg = vouch_limit_message(h);
    if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
      if (!h->limit_reported) out_line(r, stderr, "\033[31m", vouch_limit_message(h));
      h->limit_reported = 1;
    } else {
      out_line(r, stderr, "\033[31m", msg ? msg : "(error object is not a string)");
    }
    r->failed = 1;
  }
  lua_settop(L, 0);
  end_statement(r, 1);
  if (r->limited) uv_stop(&h->loop);  /* check_limits runs once the task is over */
  if (r->quit) uv_stop(&h->loop);
  return 0;
}


/*
** Stop the running statement, which waits for I/O, a timer or a task:
** report `why` and come back to the prompt now. The statement's task is
** cancelled (its pending call stops, its to-be-closed variables close);
** should that fail, its coroutine keeps a hook that ends it, silently, at
** the first instruction it runs when it wakes.
*/
static void abandon(repl *r, const char *why) {
  lua_State *L = r->L;
  int cancelled = 0;
  out_line(r, stderr, "\033[31m", why);
  if (r->co) lua_sethook(r->co, NULL, 0, 0);  /* its __close handlers run in full */
  if (r->task_ref != LUA_NOREF) {
    int t;
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->task_ref);
    t = luaL_getmetafield(L, -1, "__index");
    if (t == LUA_TTABLE) {
      lua_getfield(L, -1, "cancel");
      lua_remove(L, -2);
      lua_insert(L, -2);                   /* cancel, task */
      cancelled = lua_pcall(L, 1, 0, 0) == LUA_OK;
      if (!cancelled) lua_pop(L, 1);
    } else {
      lua_pop(L, t == LUA_TNIL ? 1 : 2);
    }
  }
  if (!cancelled) {
    if (r->co) lua_sethook(r->co, kill_hook, LUA_MASKCOUNT, 1);
    r->abandoned++;
  }
  r->co = NULL;
  r->failed = 1;
  end_statement(r, 0);
}


/*
** After the loop stopped: if the statement's task failed by itself (the
** host reported it: a bare coroutine.yield() at the top, say), the
** statement is over.
*/
static void check_statement(repl *r) {
  lua_State *L = r->L;
  const char *st;
  if (!r->busy || r->task_ref == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->task_ref);
  if (luaL_getmetafield(L, -1, "__index") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  lua_getfield(L, -1, "status");
  lua_pushvalue(L, -3);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && (st = lua_tostring(L, -1)) != NULL &&
      strcmp(st, "ready") != 0 && strcmp(st, "running") != 0 && strcmp(st, "waiting") != 0) {
    r->failed = 1;
    end_statement(r, 0);
  }
  lua_pop(L, 3);
}


/*
** The statement's time is up while it waits (busy Lua meets the hook), or
** the time of the statement that left tasks in the background: they are
** cancelled.
*/
static void on_deadline(uv_timer_t *t) {
  repl *r = t->data;
  vouch_host_t *h = r->h;
  if (h->limit_hit == VOUCH_LIMIT_NONE || h->limit_hit == VOUCH_LIMIT_INTERRUPT)
    h->limit_hit = VOUCH_LIMIT_TIME;
  if (r->busy) {
    h->limit_reported = 1;
    abandon(r, vouch_limit_message(h));
    return;
  }
  if (vouch_tasks_live(h) > 0 && !h->limit_reported) {
    h->limit_reported = 1;
    out_line(r, stderr, "\033[31m", vouch_limit_message(h));
  }
  end_limit(r);
}


/*
** After the loop stopped: a limit that ended a statement or a background
** task ends every task of it (none runs now).
*/
static void check_limits(repl *r) {
  vouch_host_t *h = r->h;
  if (r->busy) return;
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT)
    end_limit(r);
}


/*
** The statement's task: exec(chunk, color, args...) under a message
** handler. Upvalue 1 is the statement's number: one interrupted before its
** task started does not run at all.
*/
static int stmt_task(lua_State *L) {
  repl *r = the_repl;
  int nargs = lua_gettop(L) - 1;
  if (!r->busy || lua_tointeger(L, lua_upvalueindex(1)) != r->stmt) return 0;
  r->co = L;
  lua_pushcfunction(L, stmt_handler);
  lua_insert(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
  lua_getfield(L, -1, "exec");
  lua_remove(L, -2);
  lua_insert(L, 2);                        /* handler, exec, chunk, args */
  lua_pushboolean(L, r->color);
  lua_insert(L, 4);                        /* handler, exec, chunk, color, args */
  return stmt_k(L, lua_pcallk(L, nargs + 2, 1, 1, 0, stmt_k), 0);
}


/*
** Tell the printer the width to fit: the terminal's less one column (a line
** that fills it exactly would wrap on some terminals), else $COLUMNS's,
** else 79. Asked before each statement, so a resized window counts.
*/
static void set_width(repl *r) {
  lua_State *L = r->L;
  long w = vouch_term_width(1);
  w = (w > 0 ? w : 80) - 1;
  if (w < 20) w = 20;
  if (w > 1000) w = 1000;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
  lua_pushinteger(L, w);
  lua_setfield(L, -2, "width");  /* an existing field: no allocation */
  lua_pop(L, 1);
}


/*
** Start the function on top of the stack (below it `nargs` arguments) as
** the statement: a task made by vouch.spawn, whose userdata is kept so that
** Ctrl-C can cancel the statement where it waits.
*/
static void start_statement(repl *r, int nargs) {
  lua_State *L = r->L;
  set_width(r);
  lua_pushinteger(L, ++r->stmt);
  lua_pushcclosure(L, stmt_task, 1);
  lua_insert(L, -(nargs + 2));
  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.lib");
  lua_getfield(L, -1, "spawn");
  lua_remove(L, -2);
  lua_insert(L, -(nargs + 3));             /* spawn, stmt_task, function, args */
  r->busy = 1;
  r->started = uv_hrtime();
  vouch_limits_arm(r->h);
  uv_update_time(&r->h->loop);  /* its time counts from now, not the loop's last turn */
  if (r->deadline && r->h->timeout > 0)
    uv_timer_start(r->deadline, on_deadline, (uint64_t)(r->h->timeout * 1000) + 1, 0);
  if (lua_pcall(L, nargs + 2, 1, 0) != LUA_OK) {
    out_line(r, stderr, "\033[31m", lua_tostring(L, -1));
    lua_pop(L, 1);
    r->failed = 1;
    end_statement(r, 0);
    return;
  }
  r->task_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}


/*
** Push `src` with the line that keeps its top-level locals for the next
** statements (vouch.repl's keep_locals), or nothing and return 0 when it
** declares none or that fails.
*/
static int push_kept(repl *r, const char *src, size_t n) {
  lua_State *L = r->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
  lua_getfield(L, -1, "keep_locals");
  lua_remove(L, -2);
  lua_pushlstring(L, src, n);
  if (vouch_pcall(L, 1, 1) != LUA_OK || !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}


/* Push a chunk compiled from `src` with the REPL's environment. */
static int load_chunk(repl *r, const char *src, size_t n) {
  lua_State *L = r->L;
  int status = luaL_loadbufferx(L, src, n, "=stdin", r->h->trusted ? "bt" : "t");
  if (status == LUA_OK) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
    if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
  }
  return status;
}


/* Whether the syntax error on top of the stack is at the end of the input. */
static int ends_at_eof(lua_State *L) {
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  return msg && n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}


/*
** Compile the statement in r->buf as lua.c does: first as `return EXPR`,
** then as statements. Push the chunk and return STMT_READY; STMT_INCOMPLETE
** when the input ends inside a construct (the error, of either reading,
** ends in "<eof>");
** STMT_ERROR after reporting a syntax error.
*/
static int compile(repl *r) {
  lua_State *L = r->L;
  const char *src = r->buf;
  size_t n = r->len;
  int status, open_expr = 0;
  if (n > 0 && src[0] == '=') { src++; n--; }  /* `=expr` */
  lua_pushliteral(L, "return ");
  lua_pushlstring(L, src, n);
  lua_concat(L, 2);
  {
    size_t rn;
    const char *ret = lua_tolstring(L, -1, &rn);
    status = load_chunk(r, ret, rn);
  }
  lua_remove(L, -2);
  if (status == LUA_OK) return STMT_READY;
  open_expr = ends_at_eof(L);  /* `{` is the start of an expression */
  lua_pop(L, 1);
  if (push_kept(r, src, n)) {
    size_t kn;
    const char *kept = lua_tolstring(L, -1, &kn);
    status = load_chunk(r, kept, kn);
    lua_remove(L, -2);
    if (status == LUA_OK) return STMT_READY;
    lua_pop(L, 1);  /* a top-level return: the chunk as it is, below */
  }
  status = load_chunk(r, src, n);
  if (status == LUA_OK) return STMT_READY;
  if (status == LUA_ERRSYNTAX && (open_expr || ends_at_eof(L))) {
    lua_pop(L, 1);
    return STMT_INCOMPLETE;
  }
  lua_pushfstring(L, "syntax error: %s", lua_tostring(L, -1));
  out_line(r, stderr, "\033[31m", lua_tostring(L, -1));
  lua_pop(L, 2);
  r->failed = 1;
  return STMT_ERROR;
}

/* }====================================================== */


/*
** {======================================================
** History
** =======================================================
*/

static int mkdirs(char *path) {
  char *p;
  for (p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) { *p = '/'; return -1; }
    *p = '/';
  }
  return 0;
}


/* $VOUCH_HISTORY, else $XDG_STATE_HOME/vouch/history, else ~/.local/state/vouch/history. */
static char *history_path(void) {
  const char *v = getenv("VOUCH_HISTORY"), *base;
  char buf[PATH_MAX];
  if (v && *v) return strdup(v);
  if ((base = getenv("XDG_STATE_HOME")) && *base)
    snprintf(buf, sizeof buf, "%s/vouch/history", base);
  else if ((base = getenv("HOME")) && *base)
    snprintf(buf, sizeof buf, "%s/.local/state/vouch/history", base);
  else
    return NULL;
  return strdup(buf);
}


/* Add a statement to the history, dropping an earlier copy, and save it. */
static void history_add(repl *r, const char *s) {
  int i;
  char *clean = NULL;
  if (!r->interactive || *s == '\0') return;
  /* a secret typed in again is kept as "***" */
  if (r->h->secrets.n > 0 && (s = clean = vouch_redact(r->h, s)) == NULL) return;
  for (i = history_length - 1; i >= 0; i--) {
    HIST_ENTRY *e = history_get(history_base + i);
    if (e && e->line && strcmp(e->line, s) == 0) {
      HIST_ENTRY *gone = remove_history(i);
      if (gone) free_history_entry(gone);
    }
  }
  add_history(s);
  free(clean);
  if (r->history && mkdirs(r->history) == 0 && write_history(r->history) == 0)
    chmod(r->history, 0600);  /* what was typed may hold secrets */
}

/* }====================================================== */


/*
** {======================================================
** Commands: .help .load .mem .tables .time .exit
** =======================================================
*/

static void command(repl *r, char *line) {
  lua_State *L = r->L;
  char *arg, *end;
  for (end = line + strlen(line); end > line && (end[-1] == ' ' || end[-1] == '\t'); end--) ;
  *end = '\0';
  arg = line + strcspn(line, " \t");
  if (*arg) *arg++ = '\0';
  arg += strspn(arg, " \t");
  if (strcmp(line, ".exit") == 0 || strcmp(line, ".quit") == 0) {
    r->quit = 1;
    uv_stop(&r->h->loop);
  } else if (strcmp(line, ".help") == 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
    lua_getfield(L, -1, "help");
    out_line(r, stdout, NULL, lua_tostring(L, -1));
    lua_pop(L, 2);
  } else if (strcmp(line, ".time") == 0) {
    if (strcmp(arg, "on") == 0) r->timing = 1;
    else if (strcmp(arg, "off") == 0) r->timing = 0;
    else out_line(r, stderr, NULL, "usage: .time on|off");
  } else if (strcmp(line, ".load") == 0) {
    if (*arg == '\0') {
      out_line(r, stderr, NULL, "usage: .load FILE");
      return;
    }
    const char *why;
    int fd = vouch_open_path(r->h, arg, VOUCH_READ, O_RDONLY, 0, NULL, &why);
    if (fd < 0) {
      if (why) lua_pushfstring(L, "%s: %s", arg, why);
      else lua_pushfstring(L, "failed to load %s: cannot open %s: %s", arg, arg, strerror(errno));
      out_line(r, stderr, "\033[31m", lua_tostring(L, -1));
      lua_pop(L, 1);
      r->failed = 1;
      return;
    }
    if (vouch_load_script_fd(L, fd, arg, NULL) != LUA_OK) {
      lua_pushfstring(L, "failed to load %s: %s", arg, lua_tostring(L, -1));
      out_line(r, stderr, "\033[31m", lua_tostring(L, -1));
      lua_pop(L, 2);
      r->failed = 1;
      return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
    if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
    start_statement(r, 0);
  } else if (strcmp(line, ".mem") == 0) {
    /* What --max-memory counts now: each statement's garbage is collected
    ** as it ends, so this is what the session holds (the soak test reads it). */
    char m[64];
    snprintf(m, sizeof m, "%zu bytes charged", r->h->used_memory);
    out_line(r, stdout, NULL, m);
  } else if (strcmp(line, ".tables") == 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
    lua_getfield(L, -1, "tables");
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
    lua_getfield(L, -1, "vouch");
    lua_remove(L, -2);
    start_statement(r, 1);
  } else {
    lua_pushfstring(L, "unknown command '%s' (try .help)", line);
    out_line(r, stderr, NULL, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
}


/*
** Take one line of input (NULL at the end of input): a command, a piece
** of a statement, or the end of one, which then starts as a task.
*/
static void take_line(repl *r, char *line) {
  size_t n;
  int status;
  if (line == NULL) {
    if (r->len > 0 && !r->interactive) {
      out_line(r, stderr, "\033[31m", "syntax error: the input ends inside a statement");
      r->failed = 1;
    }
    r->quit = 1;
    if (r->interactive) uv_stop(&r->h->loop);
    return;
  }
  if (r->len == 0 && line[0] == '.' && ((line[1] >= 'a' && line[1] <= 'z') ||
                                        (line[1] >= 'A' && line[1] <= 'Z'))) {
    history_add(r, line);
    command(r, line);
    return;
  }
  n = strlen(line);
  if (r->len == 0 && strspn(line, " \t\r") == n) return;
  if (r->len + n + 2 > r->cap) {
    size_t cap = (r->len + n + 2) * 2;
    char *b = realloc(r->buf, cap);
    if (b == NULL) {
      out_line(r, stderr, NULL, "not enough memory");
      return;
    }
    r->buf = b;
    r->cap = cap;
  }
  if (r->len > 0) r->buf[r->len++] = '\n';
  memcpy(r->buf + r->len, line, n + 1);
  r->len += n;
  status = compile(r);
  if (status == STMT_INCOMPLETE) return;
  history_add(r, r->buf);
  r->len = 0;
  r->buf[0] = '\0';
  if (status == STMT_READY) start_statement(r, 0);
}

/* }====================================================== */


/*
** {======================================================
** The line editor on the loop
** =======================================================
*/

static void on_line(char *line) {
  repl *r = the_repl;
  /* The editor hands over the line; it is no longer showing a prompt. */
  rl_callback_handler_remove();
  r->editing = 0;
  r->hidden = 0;
  if (r->poll) uv_poll_stop(r->poll);
  if (line == NULL) {
    fputs("\n", stdout);
    fflush(stdout);
  }
  take_line(r, line);
  free(line);
}


static void show_prompt(repl *r) {
  if (r->editing || r->busy || r->quit || !r->interactive) return;
  fflush(stdout);
  rl_callback_handler_install(r->len ? PROMPT_MORE : PROMPT, on_line);
  r->editing = 1;
  r->hidden = 0;
  uv_poll_start(r->poll, UV_READABLE, on_stdin);
}


/* Columns on the screen that the UTF-8 text `s` (n bytes) takes, roughly. */
static size_t columns(const char *s, size_t n) {
  size_t i, w = 0;
  for (i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
  return w;
}


/*
** Clear the prompt and what was typed (it may wrap over several rows)
** before output; the editor redraws both before the loop blocks.
*/
static void hide_prompt(repl *r) {
  int height = 0, width = 0;
  size_t col = strlen(r->len ? PROMPT_MORE : PROMPT), rows = 0;
  if (!r->editing || r->hidden) return;
  if (rl_line_buffer && rl_point > 0) col += columns(rl_line_buffer, (size_t)rl_point);
  rl_get_screen_size(&height, &width);  /* the width the editor wraps at */
  if (width > 0) rows = col / (size_t)width;
  if (rows > 0) printf("\033[%zuA", rows);
  fputs("\r\033[J", stdout);
  fflush(stdout);
  r->hidden = 1;
}


static void on_stdin(uv_poll_t *p, int status, int events) {
  repl *r = p->data;
  (void)events;
  if (status < 0 || !r->editing) {
    uv_poll_stop(p);
    if (status < 0) take_line(r, NULL);
    return;
  }
  r->key = KEY_NONE;
  rl_callback_read_char();
  switch (r->key) {
    case KEY_EOF:
      on_line(NULL);
      break;
    case KEY_INTERRUPT:
      clear_input(r);
      break;
    case KEY_REDRAW:
      fputs("\r\033[K", stdout);  /* the redraw starts where the cursor is */
      rl_forced_update_display();
      break;
  }
}


/*
** The terminal changed size (SIGWINCH), or vouch comes back to the
** foreground (SIGCONT) after Ctrl-Z, with the terminal's modes reset by the
** shell: set the editor up again and redraw the prompt and what was typed.
*/
static void on_terminal(uv_signal_t *sig, int signum) {
  repl *r = sig->data;
  char *typed;
  int point;
  if (signum == SIGWINCH) rl_resize_terminal();
  if (signum != SIGCONT || !r->editing) return;
  typed = strdup(rl_line_buffer ? rl_line_buffer : "");
  point = rl_point;
  rl_callback_handler_remove();
  fputs("\n", stdout);
  rl_callback_handler_install(r->len ? PROMPT_MORE : PROMPT, on_line);
  if (typed && *typed) {
    rl_insert_text(typed);
    if (point >= 0 && point <= rl_end) rl_point = point;
    fputs("\r\033[K", stdout);
    rl_forced_update_display();
  }
  free(typed);
}


static void on_prepare(uv_prepare_t *p) {
  repl *r = p->data;
  if (r->quit) return;
  if (r->editing && r->hidden) {
    r->hidden = 0;
    rl_forced_update_display();
  }
  show_prompt(r);
}


/* Ctrl-C at the prompt: drop what was typed and start a fresh line. */
static void clear_input(repl *r) {
  if (r->editing) {
    rl_callback_handler_remove();
    r->editing = 0;
    fputs("^C\n", stdout);
  }
  r->len = 0;
  if (r->buf) r->buf[0] = '\0';
  rl_replace_line("", 0);
  show_prompt(r);
}


/*
** Ctrl-D and Ctrl-C are bound to these. They run inside the editor's
** read, which must finish before the handler can be removed, so they only
** note the key; on_stdin acts on it.
*/
static int key_eof(int count, int key) {
  repl *r = the_repl;
  (void)count; (void)key;
  if (rl_end == 0) {
    r->key = KEY_EOF;
  } else if (rl_point < rl_end) {
    rl_delete_text(rl_point, rl_point + 1);
    r->key = KEY_REDRAW;
  }
  return 0;
}


static int read_byte(void) {
  unsigned char c;
  ssize_t n;
  do n = read(0, &c, 1); while (n < 0 && errno == EINTR);
  return n == 1 ? c : EOF;
}


/*
** The editor reads keys through here, so that the end of input is seen.
** It takes one character per call: a UTF-8 sequence is decoded to its
** code point when the locale is multibyte.
*/
static int read_key(FILE *f) {
  int c = read_byte(), more, i;
  (void)f;
  if (c == EOF) {
    the_repl->key = KEY_EOF;
    return EOF;
  }
  if (c < 0xC0 || MB_CUR_MAX == 1) return c;
  more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  c &= 0x3F >> more;
  for (i = 0; i < more; i++) {
    int b = read_byte();
    if (b == EOF || (b & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (b & 0x3F);
  }
  return c;
}


static int key_interrupt(int count, int key) {
  (void)count; (void)key;
  the_repl->key = KEY_INTERRUPT;
  return 0;
}




/*
** SIGINT: stop the Lua code running now (the host's interrupt: one error
** in the running coroutine, be it the statement, a coroutine of it or a
** background task), make the statement's own coroutine end at its next
** instruction whatever pcall it is in (as lua.c does), and tell the loop,
** which gives up a statement that waits, or clears the line at the prompt.
*/
static void on_sigint(int sig) {
  repl *r = the_repl;
  vouch_host_t *h;
  (void)sig;
  if (r == NULL) return;
  h = r->h;
  if (!r->interactive) {
    /* Without a terminal Ctrl-C ends the REPL, as it would any program. */
    r->sigint_quit = 1;
    if (!r->busy) {
      signal(SIGINT, SIG_DFL);
      raise(SIGINT);
      return;
    }
  }
  r->sigint_ran = h->running != NULL;
  if (h->running) vouch_limits_trip(h, VOUCH_LIMIT_INTERRUPT);
  if (r->busy) r->interrupting = 1;
  if (r->busy && r->co) lua_sethook(r->co, kill_hook, LUA_MASKCOUNT, 1);
  if (r->async) uv_async_send(r->async);
}


static void on_async(uv_async_t *a) {
  repl *r = a->data;
  vouch_host_t *h = r->h;
  if (r->busy) {
    abandon(r, "interrupted");
    if (!r->interactive) r->quit = 1;  /* a script stops at Ctrl-C */
  } else if (!r->sigint_ran && r->interactive) {
    clear_input(r);  /* no Lua ran to take it: Ctrl-C at the prompt */
  }
  r->sigint_ran = 0;
  if (h->limit_hit == VOUCH_LIMIT_INTERRUPT) h->limit_hit = VOUCH_LIMIT_NONE;
}

/* }====================================================== */


/*
** {======================================================
** Tab completion
** =======================================================
*/

static char **matches;      /* the candidates of the completion in progress */
static int nmatches;

static char *next_match(const char *text, int state) {
  static int i;
  (void)text;
  if (state == 0) i = 0;
  return i < nmatches ? strdup(matches[i++]) : NULL;
}


static void free_matches(void) {
  int i;
  for (i = 0; i < nmatches; i++) free(matches[i]);
  free(matches);
  matches = NULL;
  nmatches = 0;
}


/*
** File names: text[0..pre) stays as typed (the quote that opens a string),
** the rest is the start of a path.
*/
static char **complete_file(const char *text, size_t pre) {
  char *name;
  int state = 0;
  free_matches();
  while ((name = rl_filename_completion_function(text + pre, state++)) != NULL) {
    char *full = malloc(pre + strlen(name) + 2), **m;
    struct stat st;
    if (full == NULL) { free(name); break; }
    memcpy(full, text, pre);
    strcpy(full + pre, name);
    if (stat(name, &st) == 0 && S_ISDIR(st.st_mode)) strcat(full, "/");
    free(name);
    m = realloc(matches, sizeof *m * (size_t)(nmatches + 1));
    if (m == NULL) { free(full); break; }
    matches = m;
    matches[nmatches++] = full;
  }
  rl_completion_append_character = '\0';
  if (nmatches == 0) return NULL;
  return rl_completion_matches(text, next_match);
}


static int complete_lua(lua_State *L) {
  repl *r = the_repl;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->mod_ref);
  lua_getfield(L, -1, "complete");
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
  lua_pushvalue(L, 1);
  lua_call(L, 2, 1);
  return 1;
}


static char **complete(const char *text, int start, int end) {
  repl *r = the_repl;
  lua_State *L = r->L;
  lua_Integer i, n;
  (void)start; (void)end;
  rl_attempted_completion_over = 1;
  if (strpbrk(text, "\"'"))
    return complete_file(text, (size_t)(strpbrk(text, "\"'") - text) + 1);
  if (r->len == 0 && rl_line_buffer && strncmp(rl_line_buffer, ".load ", 6) == 0)
    return complete_file(text, 0);
  free_matches();
  rl_completion_append_character = '\0';
  lua_pushcfunction(L, complete_lua);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  n = luaL_len(L, -1);
  matches = calloc((size_t)n + 1, sizeof *matches);
  for (i = 1; matches && i <= n; i++) {
    lua_rawgeti(L, -1, i);
    matches[nmatches] = strdup(lua_tostring(L, -1));
    if (matches[nmatches]) nmatches++;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (nmatches == 0) return NULL;
  return rl_completion_matches(text, next_match);
}

/* }====================================================== */


static void handle_closed(uv_handle_t *handle) {
  free(handle);
}


/* Build the shared environment and load vouch.repl. */
static int setup_lua(repl *r) {
  lua_State *L = r->L;
  int i;
  if (r->h->trusted) lua_pushglobaltable(L);
  else vouch_sandbox_env(L);
  lua_pushcfunction(L, repl_print);
  lua_setfield(L, -2, "print");
  r->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  for (i = 0; vouch_stdlib[i].name; i++)
    if (strcmp(vouch_stdlib[i].name, "vouch.repl") == 0) break;
  if (vouch_stdlib[i].name == NULL ||
      luaL_loadbufferx(L, vouch_stdlib[i].src, vouch_stdlib[i].len, "@[vouch]/repl.lua",
                       "t") != LUA_OK ||
      vouch_pcall(L, 0, 1) != LUA_OK) {
    if (vouch_stdlib[i].name == NULL) lua_pushliteral(L, "module vouch.repl is missing");
    vouch_report(L, "cannot start the REPL");
    return -1;
  }
  r->mod_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}


static void setup_editor(repl *r) {
  /* The editor reads and shows UTF-8 text, even under the C locale. */
  if (setlocale(LC_CTYPE, "") == NULL || MB_CUR_MAX == 1) setlocale(LC_CTYPE, "C.UTF-8");
  rl_readline_name = "vouch";
  rl_instream = stdin;
  rl_outstream = stdout;
  rl_catch_signals = 0;
  rl_getc_function = read_key;
  rl_initialize();
  /* A Lua name with its dots and colons is one word; so is a string's path. */
  rl_basic_word_break_characters = " \t\n()[]{},;=+-*%^#~<>&|";
  rl_special_prefixes = "";
  rl_attempted_completion_function = complete;
  rl_add_defun("vouch-interrupt", key_interrupt, 3);  /* Ctrl-C when the tty sends it */
  rl_add_defun("vouch-eof", key_eof, 4);
  using_history();
  stifle_history(HISTORY_MAX);
  r->history = history_path();
  if (r->history) read_history(r->history);
}


/*
** Run the REPL on host `h` until end of input, `.exit` or vouch.exit(n).
** Returns the exit status: 0, or vouch.exit's code; when stdin is not a
** terminal, 1 if a statement failed.
*/
int vouch_repl(vouch_host_t *h) {
  repl r;
  struct sigaction sa;
  int i;
  memset(&r, 0, sizeof r);
  r.h = h;
  r.L = h->L;
  r.env_ref = r.mod_ref = r.task_ref = LUA_NOREF;
  r.interactive = isatty(0);
  r.color = r.interactive && vouch_color(h, 1);
  r.ecolor = r.color && isatty(2);
  the_repl = &r;
  vouch_set_script_dir(h, "./x");  /* the working directory */
  if (setup_lua(&r) != 0) {
    the_repl = NULL;
    return VOUCH_EXIT_SCRIPT;
  }
  h->on_report = before_report;

  r.async = malloc(sizeof *r.async);
  if (r.async == NULL || uv_async_init(&h->loop, r.async, on_async) != 0) {
    free(r.async);
    the_repl = NULL;
    return VOUCH_EXIT_SCRIPT;
  }
  r.async->data = &r;
  uv_unref((uv_handle_t *)r.async);
  r.deadline = malloc(sizeof *r.deadline);
  if (r.deadline) {
    uv_timer_init(&h->loop, r.deadline);
    r.deadline->data = &r;
    uv_unref((uv_handle_t *)r.deadline);
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &r.old_int);

  if (r.interactive) {
    r.stdin_flags = fcntl(0, F_GETFL);
    setup_editor(&r);
    r.poll = malloc(sizeof *r.poll);
    r.prepare = malloc(sizeof *r.prepare);
    if (r.poll && r.prepare && uv_poll_init(&h->loop, r.poll, 0) == 0) {
      /* uv_poll_init made stdin non-blocking; the editor reads it blocking. */
      fcntl(0, F_SETFL, r.stdin_flags);
      r.poll->data = &r;
      uv_prepare_init(&h->loop, r.prepare);
      r.prepare->data = &r;
      uv_prepare_start(r.prepare, on_prepare);
      for (i = 0; i < 2; i++) {
        r.signals[i] = malloc(sizeof *r.signals[i]);
        if (r.signals[i] == NULL) continue;
        uv_signal_init(&h->loop, r.signals[i]);
        r.signals[i]->data = &r;
        uv_signal_start(r.signals[i], on_terminal, i == 0 ? SIGWINCH : SIGCONT);
        uv_unref((uv_handle_t *)r.signals[i]);
      }
      printf("vouch %s (%s); .help for help, Ctrl-D to leave\n", VOUCH_VERSION, LUA_RELEASE);
      show_prompt(&r);
      while (!r.quit) {
        uv_run(&h->loop, UV_RUN_DEFAULT);
        check_statement(&r);
        check_limits(&r);
        h->failed = 0;  /* a background task failed: reported, the REPL goes on */
        if (h->exit_code >= 0 && !r.quit) { r.quit = 1; r.status = h->exit_code; }
      }
      if (r.editing) rl_callback_handler_remove();
      uv_close((uv_handle_t *)r.poll, handle_closed);
      uv_close((uv_handle_t *)r.prepare, handle_closed);
      for (i = 0; i < 2; i++)
        if (r.signals[i]) uv_close((uv_handle_t *)r.signals[i], handle_closed);
      r.poll = NULL;
      r.prepare = NULL;
    } else {
      free(r.poll);
      free(r.prepare);
      fprintf(stderr, "vouch: cannot watch the terminal\n");
      r.status = VOUCH_EXIT_SCRIPT;
    }
    fcntl(0, F_SETFL, r.stdin_flags);
  } else {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!r.quit && !r.sigint_quit) {
      n = getline(&line, &cap, stdin);
      if (n < 0) { take_line(&r, NULL); break; }
      if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
      take_line(&r, line);
      while (r.busy && !r.quit) {
        uv_run(&h->loop, UV_RUN_DEFAULT);
        check_statement(&r);
        check_limits(&r);
        if (h->failed) r.failed = 1;  /* a background task failed (reported) */
        h->failed = 0;
        if (h->exit_code >= 0 && !r.quit) { r.quit = 1; r.status = h->exit_code; }
      }
    }
    free(line);
    /*
    ** What was spawned in the background runs to its end, as with `vouch
    ** run`, unless a statement was given up (it would keep waiting).
    */
    if (h->exit_code < 0 && !r.abandoned && !r.sigint_quit) {
      uv_run(&h->loop, UV_RUN_DEFAULT);
      check_limits(&r);
    }
    if (h->failed) r.failed = 1;
    if (h->exit_code >= 0 && !r.limited) r.status = h->exit_code;
    else if (r.sigint_quit) r.status = 128 + SIGINT;
    else if (r.limited) r.status = VOUCH_EXIT_LIMIT;
    else if (r.failed) r.status = VOUCH_EXIT_SCRIPT;
  }

  sigaction(SIGINT, &r.old_int, NULL);
  uv_close((uv_handle_t *)r.async, handle_closed);
  if (r.deadline) uv_close((uv_handle_t *)r.deadline, handle_closed);
  uv_run(&h->loop, UV_RUN_NOWAIT);
  h->on_report = NULL;
  free_matches();
  free(r.buf);
  free(r.history);
  if (r.interactive) clear_history();
  luaL_unref(r.L, LUA_REGISTRYINDEX, r.env_ref);
  luaL_unref(r.L, LUA_REGISTRYINDEX, r.mod_ref);
  the_repl = NULL;
  return r.status;
}
