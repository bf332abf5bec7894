/*
** loop.c: tasks as coroutines on the libuv loop.
**
** Every script runs as a task. An asynchronous call checks that it may wait
** (vouch_op_check), starts its work with vouch_op_start, may arm a timeout
** (vouch_op_timeout), then yields with vouch_op_wait; the work's completion
** pushes its results on the task's coroutine and calls vouch_op_done, which
** resumes the task. The loop keeps a list of pending operations so that a
** timeout, a cancellation or the host's shutdown can reach each of them:
** all three end with the operation's `cancel`, which stops the work and
** frees it without touching Lua.
**
** Waiting for other tasks (task:wait, vouch.all, vouch.race) is itself an
** operation, so it too takes a timeout and can be cancelled.
**
** User coroutines inside a task may call async functions: the coroutine
** library's resume and wrap are replaced by versions that pass a yield made
** for the host through to the task, and resume the inner coroutine with the
** results when the task is resumed (see "Coroutines" below).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch.h"

#define TASK_MT "vouch.task"
#define BLOCKED_KEY "vouch.loop.blocked"
#define MAX_TIMEOUT 1e15        /* milliseconds; above this a timeout is none */
#define BLOCKED_REPORTS 10      /* blocked tasks described one by one */

enum { TASK_READY, TASK_RUNNING, TASK_WAITING, TASK_DONE, TASK_FAILED, TASK_CANCELLED };
enum { JOIN_ALL, JOIN_ANY };

#define finished(t) ((t)->state >= TASK_DONE)

struct vouch_task {
  lua_State *co;            /* the coroutine; anchored in the uservalue */
  int ref;                  /* registry ref to the userdata while it lives */
  int state;                /* TASK_* */
  int nargs;                /* values on co's stack for the next resume */
  int id;                   /* for messages */
  int main;                 /* the script's own task: errors need no name */
  vouch_op_t *op;           /* what the task waits for, or NULL */
  vouch_task_t *next;       /* ready queue */
  vouch_task_t *lprev, *lnext;  /* the loop's list of live tasks */
  vouch_op_t join;          /* the operation while it waits for tasks */
  int joining;              /* its registrations count; cleared when it runs */
  int join_mode;            /* JOIN_ALL or JOIN_ANY */
  int join_pending;         /* JOIN_ALL: tasks not finished yet */
  lua_Integer join_gen;     /* tells this wait's registrations from old ones */
  vouch_task_t *join_hit;   /* first task that failed (ALL) or ended (ANY) */
};

/* A timeout armed on an operation; malloc'd, freed in its close callback. */
struct vouch_op_timer {
  uv_timer_t timer;         /* must be first */
  vouch_op_t *op;           /* the operation it cancels */
  int64_t ms;               /* for the message */
};

/* The loop's own state: one per host, kept in the registry. */
typedef struct loop_state {
  vouch_host_t *h;
  uv_idle_t *idle;          /* runs the ready queue; malloc'd, freed on close */
  vouch_task_t *head, *tail;/* tasks ready to run */
  vouch_task_t *lhead, *ltail;  /* live tasks, oldest first */
  vouch_op_t ops;           /* sentinel of the list of pending operations */
  int live;                 /* tasks started and not finished */
  int next_id;
} loop_state;

static loop_state *state_of(lua_State *L) {
  loop_state *s;
  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.loop");
  s = (loop_state *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return s;
}


/*
** The task a coroutine runs for: a task's own coroutine, or a user
** coroutine resumed (through coroutine.resume or wrap) by code of the task.
*/
vouch_task_t *vouch_task_current(lua_State *L) {
  return *(vouch_task_t **)lua_getextraspace(L);
}


static void run_ready(uv_idle_t *idle);
static void resume(lua_State *L, vouch_task_t *t);


/*
** Reset coroutine `co`, running its pending __close handlers; they run
** with h->running on `co`, so that a limit tripping meanwhile stops them.
*/
static int close_thread(lua_State *co) {
  vouch_host_t *h = vouch_host(co);
  lua_State *prev = h->running;
  int status;
  h->running = co;
  vouch_limits_hook(co);
  status = lua_resetthread(co);
  h->running = prev;
  if (prev) vouch_limits_hook(prev);      /* a limit tripped meanwhile stops it too */
  return status;
}


static void make_ready(loop_state *s, vouch_task_t *t) {
  t->state = TASK_READY;
  t->next = NULL;
  if (s->tail) s->tail->next = t;
  else s->head = t;
  s->tail = t;
  if (s->idle) uv_idle_start(s->idle, run_ready);
}


static void unqueue(loop_state *s, vouch_task_t *t) {
  vouch_task_t **p = &s->head, *prev = NULL;
  while (*p && *p != t) { prev = *p; p = &(*p)->next; }
  if (*p == NULL) return;
  *p = t->next;
  if (s->tail == t) s->tail = prev;
  t->next = NULL;
}


static void run_ready(uv_idle_t *idle) {
  loop_state *s = idle->data;
  while (s->head) {
    vouch_task_t *t = s->head;
    s->head = t->next;
    if (s->head == NULL) s->tail = NULL;
    resume(s->h->L, t);
  }
  uv_idle_stop(idle);
}


/*
** Create a task running the function below `nargs` arguments on top of L's
** stack (both popped) and push its userdata. The task runs when the loop
** next turns.
*/
static vouch_task_t *task_new(lua_State *L, int nargs) {
  loop_state *s = state_of(L);
  vouch_task_t *t = lua_newuserdatauv(L, sizeof *t, 2);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, TASK_MT);
  t->co = lua_newthread(L);
  lua_setiuservalue(L, -2, 1);             /* anchor the coroutine */
  *(vouch_task_t **)lua_getextraspace(t->co) = t;
  lua_insert(L, -(nargs + 2));             /* userdata below function and args */
  lua_xmove(L, t->co, nargs + 1);
  t->nargs = nargs;
  lua_pushvalue(L, -1);
  t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  t->id = ++s->next_id;
  s->live++;
  t->lprev = s->ltail;
  if (s->ltail) s->ltail->lnext = t;
  else s->lhead = t;
  s->ltail = t;
  make_ready(s, t);
  return t;
}


/*
** {======================================================
** Waiters: a task's uservalue 2 maps each task waiting for it to the
** generation of that wait; a registration counts while the waiter's
** `joining` is set and its generation matches.
** =======================================================
*/

/* `w` learns that `t` ended; wake it when its wait is over. */
static void notify(loop_state *s, vouch_task_t *w, vouch_task_t *t) {
  int wake;
  if (w->join_mode == JOIN_ANY) {
    if (w->join_hit == NULL) w->join_hit = t;
    wake = 1;
  } else if (t->state != TASK_DONE) {
    if (w->join_hit == NULL) w->join_hit = t;  /* fail fast */
    wake = 1;
  } else {
    wake = --w->join_pending <= 0;
  }
  if (wake && w->op == &w->join && w->state == TASK_WAITING) {
    vouch_op_unlink(&w->join);
    w->nargs = 0;
    make_ready(s, w);
  }
}


/*
** Call `fn` for every live registration on `t` (stops when it returns
** non-zero, and returns that). Leaves the stack as it was.
*/
static int each_waiter(lua_State *L, vouch_task_t *t,
                       int (*fn)(loop_state *, vouch_task_t *, vouch_task_t *),
                       loop_state *s) {
  int r = 0;
  if (t->ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
  if (lua_getiuservalue(L, -1, 2) == LUA_TTABLE) {
    lua_pushnil(L);
    while (r == 0 && lua_next(L, -2)) {
      vouch_task_t *w = lua_touserdata(L, -2);
      lua_Integer gen = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (w && w->joining && w->join_gen == gen) r = fn(s, w, t);
    }
    if (r != 0) lua_pop(L, 1);  /* the key lua_next left */
  }
  lua_pop(L, 2);
  return r;
}

static int notify_one(loop_state *s, vouch_task_t *w, vouch_task_t *t) {
  notify(s, w, t);
  return 0;
}

static int found_one(loop_state *s, vouch_task_t *w, vouch_task_t *t) {
  (void)s; (void)w; (void)t;
  return 1;
}


/* The task ended (done, failed or cancelled): wake who waits, drop refs. */
static void finish(lua_State *L, vouch_task_t *t, int state) {
  loop_state *s = state_of(L);
  t->state = state;
  t->joining = 0;
  s->live--;
  if (t->lprev) t->lprev->lnext = t->lnext;
  else s->lhead = t->lnext;
  if (t->lnext) t->lnext->lprev = t->lprev;
  else s->ltail = t->lprev;
  t->lprev = t->lnext = NULL;
  each_waiter(L, t, notify_one, s);
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
  lua_pushnil(L);
  lua_setiuservalue(L, -2, 2);
  lua_pop(L, 1);
  luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
  t->ref = LUA_NOREF;
}

/* }====================================================== */


/*
** Resume task `t` with its `nargs` values. When it fails, its error (with
** the traceback) goes to the tasks waiting for it if there are any; if
** none is, it is reported and the run fails (exit 1) and stops.
*/
static void resume(lua_State *L, vouch_task_t *t) {
  vouch_host_t *h = vouch_host(L);
  int nres, status, limit;
  lua_State *prev = h->running;
  t->state = TASK_RUNNING;
  h->running = t->co;                      /* where a limit trips */
  vouch_limits_hook(t->co);
  status = lua_resume(t->co, L, t->nargs, &nres);
  h->running = prev;
  t->nargs = 0;
  if (status == LUA_YIELD) {
    lua_pop(t->co, nres);
    if (t->op != NULL) {
      t->state = TASK_WAITING;
      return;
    }
    /* A bare coroutine.yield() at the task's own level: nothing would ever
       resume it, so it is an error, as it is in stock Lua's main chunk. */
    luaL_traceback(t->co, t->co, "attempt to yield from outside a coroutine", 0);
    status = LUA_ERRRUN;
  } else if (status == LUA_OK) {
    /* keep the results in the coroutine's stack for whoever waits */
    finish(L, t, TASK_DONE);
    return;
  } else if (lua_touserdata(t->co, -1) == (void *)&h->exit_code) {
    /* vouch.exit() raises a sentinel that is not reported. */
    close_thread(t->co);
    lua_settop(t->co, 0);
    finish(L, t, TASK_DONE);
    uv_stop(&h->loop);
    return;
  } else {
    limit = h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT;
    if (limit) {
      lua_pushstring(t->co, vouch_limit_message(h));
    } else {
      /* A message gets its traceback now; an error object passes as it is,
         and so does the host database's refusal, which names the file. */
      if (lua_type(t->co, -1) == LUA_TSTRING && h->exit_code != VOUCH_EXIT_DB) {
        const char *msg = lua_tostring(t->co, -1);
        if (vouch_is_overflow(msg)) h->limit_hit = VOUCH_LIMIT_STACK;
        if (!vouch_plain_error(h, t->co)) luaL_traceback(t->co, t->co, msg, 0);
      }
    }
  }
  /* The error (a message with its traceback, or an error object) is on top. */
  limit = h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT;
  if (!limit && each_waiter(L, t, found_one, NULL)) {
    lua_xmove(t->co, L, 1);
    close_thread(t->co);               /* close its to-be-closed variables */
    lua_settop(t->co, 0);
    lua_xmove(L, t->co, 1);               /* the error is what waiters see */
    finish(L, t, TASK_FAILED);
    return;
  }
  if (lua_type(t->co, -1) != LUA_TSTRING) {
    /* No __tostring here: no Lua may run on a coroutine that failed. */
    const char *msg = lua_pushfstring(t->co, "(error object is a %s value)",
                                      luaL_typename(t->co, -1));
    luaL_traceback(t->co, t->co, msg, 0);
  }
  lua_xmove(t->co, L, 1);
  {
    char what[32];
    snprintf(what, sizeof what, "task %d", t->id);
    vouch_report(L, t->main ? h->command : what);
  }
  h->failed = 1;
  close_thread(t->co);
  lua_settop(t->co, 0);
  lua_pushliteral(t->co, "the run failed");
  finish(L, t, TASK_FAILED);
  /* A failed run stops here: the other tasks are abandoned, not awaited. */
  uv_stop(&h->loop);
}


/* Resume a waiting task with the `nres` values pushed on its coroutine. */
void vouch_task_resume(vouch_task_t *t, int nres) {
  if (t->state != TASK_WAITING) {
    lua_pop(t->co, nres);
    return;
  }
  t->nargs = nres;
  resume(vouch_host(t->co)->L, t);
}


/*
** {======================================================
** Operations: what a task waits for
** =======================================================
*/

/*
** Raise unless the running code may wait: it must run in a task, and no C
** call that cannot yield may stand between it and the task. Call it before
** allocating anything an error would leak.
*/
void vouch_op_check(lua_State *L) {
  vouch_task_t *t = vouch_task_current(L);
  if (t == NULL || finished(t))
    luaL_error(L, "attempt to wait outside a task (use vouch.spawn)");
  if (!lua_isyieldable(L))
    luaL_error(L, "attempt to wait across a C-call boundary (inside a metamethod, "
                  "an iterator or a function called from C)");
}


/*
** Attach `op` to the running task and to the loop's list. The caller then
** starts the work and returns vouch_op_wait(L) (or lua_yieldk). `op->cancel`
** must stop the work and free it, without touching Lua.
*/
void vouch_op_start(lua_State *L, vouch_op_t *op) {
  loop_state *s = state_of(L);
  vouch_task_t *t;
  vouch_op_check(L);
  t = vouch_task_current(L);
  op->task = t;
  op->L = t->co;
  op->timer = NULL;
  op->next = s->ops.next;
  op->prev = &s->ops;
  s->ops.next->prev = op;
  s->ops.next = op;
  t->op = op;
}


int vouch_op_wait(lua_State *L) {
  return lua_yield(L, 0);
}


static void timer_closed(uv_handle_t *handle) {
  free(handle);
}


/* Unlink `op`; its task (if any) is no longer waiting on it. */
void vouch_op_unlink(vouch_op_t *op) {
  if (op->next) {
    op->prev->next = op->next;
    op->next->prev = op->prev;
    op->next = op->prev = NULL;
  }
  if (op->timer) {
    uv_timer_stop(&op->timer->timer);
    uv_close((uv_handle_t *)&op->timer->timer, timer_closed);
    op->timer = NULL;
  }
  if (op->task && op->task->op == op) op->task->op = NULL;
  op->task = NULL;
}


/*
** Stop `op` now without resuming its task: unlink it, then its `cancel`
** (which frees it). A completion that still arrives finds op->task and
** op->L NULL.
*/
void vouch_op_cancel(vouch_op_t *op) {
  vouch_op_unlink(op);
  op->L = NULL;
  if (op->cancel) op->cancel(op);
}


/*
** The work of `op` is done: its `nres` results are on op->L's stack (the
** task's coroutine). Resume the task now. Call from a libuv callback, never
** from inside Lua.
*/
void vouch_op_done(vouch_op_t *op, int nres) {
  vouch_task_t *t = op->task;
  lua_State *co = op->L;
  vouch_op_unlink(op);
  if (t == NULL || t->state != TASK_WAITING) {
    if (co && nres > 0) lua_pop(co, nres);
    return;
  }
  t->nargs = nres;
  resume(vouch_host(co)->L, t);
}


static void timeout_fired(uv_timer_t *timer) {
  struct vouch_op_timer *tm = (struct vouch_op_timer *)timer;
  vouch_op_t *op = tm->op;
  vouch_task_t *t = op->task;
  int64_t ms = tm->ms;
  vouch_op_cancel(op);                     /* closes this timer too */
  if (t == NULL || t->state != TASK_WAITING) return;
  lua_pushnil(t->co);
  lua_pushfstring(t->co, "timed out after %I ms", (LUAI_UACINT)ms);
  lua_pushliteral(t->co, "ETIMEDOUT");
  t->nargs = 3;
  resume(vouch_host(t->co)->L, t);
}


/*
** Give `op` (just started) a deadline: after `ms` milliseconds it is
** cancelled and its task resumes with nil, "timed out after MS ms",
** "ETIMEDOUT". A negative `ms` means no timeout.
*/
void vouch_op_timeout(vouch_op_t *op, int64_t ms) {
  struct vouch_op_timer *tm;
  if (ms < 0 || op->task == NULL || op->timer != NULL) return;
  tm = malloc(sizeof *tm);
  if (tm == NULL) return;  /* no memory for the timer: the run's --timeout still holds */
  uv_timer_init(&vouch_host(op->L)->loop, &tm->timer);
  tm->op = op;
  tm->ms = ms;
  op->timer = tm;
  uv_timer_start(&tm->timer, timeout_fired, (uint64_t)ms, 0);
}


/*
** The `timeout` field (milliseconds) of the options table at `idx`, or -1
** when the table or the field is absent. Raises on a bad value.
*/
int64_t vouch_opt_timeout(lua_State *L, int idx) {
  lua_Number ms;
  int isnum;
  if (lua_isnoneornil(L, idx)) return -1;
  luaL_checktype(L, idx, LUA_TTABLE);
  if (lua_getfield(L, idx, "timeout") == LUA_TNIL) {
    lua_pop(L, 1);
    return -1;
  }
  ms = lua_tonumberx(L, -1, &isnum);
  if (!isnum) {
    luaL_error(L, "bad timeout (milliseconds expected, got %s)", luaL_typename(L, -1));
    return -1;
  }
  lua_pop(L, 1);
  if (!(ms >= 0)) luaL_error(L, "bad timeout (must not be negative)");
  if (ms >= MAX_TIMEOUT) return -1;
  return (int64_t)ms;
}


/* Cancel every pending operation (the host is shutting down). */
static void cancel_all(loop_state *s) {
  while (s->ops.next != &s->ops) vouch_op_cancel(s->ops.next);
}

/* }====================================================== */


/*
** {======================================================
** vouch.sleep
** =======================================================
*/

typedef struct sleep_op {
  vouch_op_t op;            /* must be first */
  union {
    uv_handle_t handle;
    uv_timer_t timer;       /* a sleep of some time */
    uv_idle_t idle;         /* a sleep of none: until the loop's next turn */
  } u;
} sleep_op;

static void sleep_closed(uv_handle_t *handle) {
  free(handle->data);
}

static void sleep_stop(sleep_op *sp) {
  if (sp->u.handle.type == UV_IDLE) uv_idle_stop(&sp->u.idle);
  else uv_timer_stop(&sp->u.timer);
  uv_close(&sp->u.handle, sleep_closed);
}

static void sleep_done(sleep_op *sp) {
  sleep_stop(sp);
  if (sp->op.L) {
    lua_pushboolean(sp->op.L, 1);
    vouch_op_done(&sp->op, 1);
  }
}

static void sleep_fired(uv_timer_t *timer) {
  vouch_host_t *h = (vouch_host_t *)((char *)timer->loop - offsetof(vouch_host_t, loop));
  int waking = h->waking;
  h->waking = 1;
  sleep_done(timer->data);
  h->waking = waking;
}

static void sleep_turned(uv_idle_t *idle) { sleep_done(idle->data); }

static void sleep_cancel(vouch_op_t *op) {
  sleep_stop((sleep_op *)op);
}

/*
** vouch.sleep(ms [, opts]): let the loop run other tasks for at least `ms`
** milliseconds; true, or nil, message, "ETIMEDOUT" if opts.timeout is
** shorter. Sleeps end in the order of their deadlines, a sleep of 0 first.
** A task that a sleep's timer woke and that sleeps 0 waits for the loop's
** next turn instead (an idle handle, so the loop polls without blocking):
** a timer of 0 started there would fire in the same pass over the timers,
** and a task sleeping 0 in a loop would keep the loop from ever polling
** or reading its clock again.
*/
static int loop_sleep(lua_State *L) {
  lua_Number ms = luaL_checknumber(L, 1);
  int64_t timeout = vouch_opt_timeout(L, 2);
  vouch_host_t *h = vouch_host(L);
  sleep_op *sp;
  luaL_argcheck(L, ms >= 0, 1, "must not be negative");
  if (ms > MAX_TIMEOUT) ms = MAX_TIMEOUT;
  vouch_op_check(L);
  sp = calloc(1, sizeof *sp);
  if (sp == NULL) return luaL_error(L, "not enough memory");
  vouch_op_start(L, &sp->op);
  sp->op.cancel = sleep_cancel;
  if ((uint64_t)ms == 0 && h->waking) {
    uv_idle_init(&h->loop, &sp->u.idle);
    sp->u.idle.data = sp;
    uv_idle_start(&sp->u.idle, sleep_turned);
  } else {
    uv_timer_init(&h->loop, &sp->u.timer);
    sp->u.timer.data = sp;
    uv_timer_start(&sp->u.timer, sleep_fired, (uint64_t)ms, 0);
  }
  vouch_op_timeout(&sp->op, timeout);
  return vouch_op_wait(L);
}

/* }====================================================== */


/*
** {======================================================
** Tasks: vouch.spawn, task:wait, task:cancel, vouch.all, vouch.race
** =======================================================
*/

/* vouch.spawn(fn, ...): start fn(...) as a task; returns the task. */
static int loop_spawn(lua_State *L) {
  int nargs = lua_gettop(L) - 1;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  task_new(L, nargs);
  return 1;
}


/* Cancel task `t` (not the running one): stop what it waits for, close it. */
static void cancel_task(lua_State *L, vouch_task_t *t) {
  loop_state *s = state_of(L);
  if (finished(t)) return;
  if (t->op) vouch_op_cancel(t->op);
  if (t->state == TASK_READY) unqueue(s, t);
  t->joining = 0;
  close_thread(t->co);                  /* runs its pending __close */
  lua_settop(t->co, 0);
  finish(L, t, TASK_CANCELLED);
}


/* task:cancel(): end the task now; true if it was still running. */
static int task_cancel(lua_State *L) {
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  if (finished(t)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (t == vouch_task_current(L))
    return luaL_error(L, "a task cannot cancel itself (return from it instead)");
  cancel_task(L, t);
  lua_pushboolean(L, 1);
  return 1;
}


/* Raise the error of failed or cancelled task `t` in the caller. */
static int raise_task_error(lua_State *L, vouch_task_t *t) {
  if (t->state == TASK_CANCELLED)
    return luaL_error(L, "task %d was cancelled", t->id);
  if (lua_gettop(t->co) == 0) return luaL_error(L, "task %d failed", t->id);
  lua_pushvalue(t->co, -1);
  lua_xmove(t->co, L, 1);
  if (lua_type(L, -1) == LUA_TSTRING)
    lua_pushfstring(L, "task %d failed: %s", t->id, lua_tostring(L, -1));
  return lua_error(L);
}


/* Push the results of done task `t`: all of them, or only the first. */
static int push_results(lua_State *L, vouch_task_t *t, int all) {
  int i, n = lua_gettop(t->co);
  if (!all) {
    if (n == 0) lua_pushnil(L);
    else {
      lua_pushvalue(t->co, 1);
      lua_xmove(t->co, L, 1);
    }
    return 1;
  }
  luaL_checkstack(L, n, "too many results");
  for (i = 1; i <= n; i++) {
    lua_pushvalue(t->co, i);
    lua_xmove(t->co, L, 1);
  }
  return n;
}


#define TASKS 3   /* stack index of the tasks table in a join */

static vouch_task_t *task_at(lua_State *L, lua_Integer i) {
  vouch_task_t *t;
  lua_rawgeti(L, TASKS, i);
  t = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return t;
}


/* Is the wait for the tasks at TASKS over already? */
static int join_over(lua_State *L, int mode) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, TASKS);
  int all = 1;
  for (i = 1; i <= n; i++) {
    vouch_task_t *t = task_at(L, i);
    if (mode == JOIN_ANY && finished(t)) return 1;
    if (mode == JOIN_ALL && (t->state == TASK_FAILED || t->state == TASK_CANCELLED))
      return 1;
    if (!finished(t)) all = 0;
  }
  return mode == JOIN_ALL && all;
}


static void cancel_unfinished(lua_State *L) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, TASKS);
  vouch_task_t *me = vouch_task_current(L);
  for (i = 1; i <= n; i++) {
    vouch_task_t *t = task_at(L, i);
    if (t != me) cancel_task(L, t);
  }
}


/*
** Wait for the tasks in the table at TASKS (above it nothing) until all
** are done or one failed (JOIN_ALL) or one ended (JOIN_ANY), then continue
** in `k` with ctx = TASKS. After a timeout, k finds nil, message, code
** above TASKS.
*/
static int join_wait(lua_State *L, int mode, int64_t timeout, lua_KFunction k) {
  vouch_task_t *me = vouch_task_current(L);
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, TASKS);
  for (i = 1; i <= n; i++)
    if (me != NULL && task_at(L, i) == me)
      return luaL_error(L, "a task cannot wait for itself");
  if (me) me->join_hit = NULL;
  if (join_over(L, mode)) return k(L, LUA_OK, TASKS);
  vouch_op_check(L);
  me->join_gen++;
  me->join_mode = mode;
  me->join_pending = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, me->ref);      /* the waiter's userdata */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, TASKS, i);
    if (!finished((vouch_task_t *)lua_touserdata(L, -1))) {
      if (lua_getiuservalue(L, -1, 2) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, -3, 2);
      }
      lua_pushvalue(L, -3);
      if (lua_rawget(L, -2) != LUA_TNUMBER || lua_tointeger(L, -1) != me->join_gen) {
        lua_pushvalue(L, -4);
        lua_pushinteger(L, me->join_gen);
        lua_rawset(L, -4);                         /* waiters[me] = gen */
        me->join_pending++;
      }
      lua_pop(L, 2);                               /* the lookup, the waiters */
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  me->joining = 1;
  vouch_op_start(L, &me->join);
  me->join.cancel = NULL;                          /* nothing to free */
  vouch_op_timeout(&me->join, timeout);
  return lua_yieldk(L, 0, TASKS, k);
}


/* Read the list of functions or tasks at 1 into a table of tasks at TASKS. */
static void join_tasks(lua_State *L) {
  lua_Integer i, n;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (lua_Integer)luaL_len(L, 1);
  for (i = 1; i <= n; i++) {
    int tt = lua_geti(L, 1, i);
    if (tt != LUA_TFUNCTION && luaL_testudata(L, -1, TASK_MT) == NULL)
      luaL_error(L, "bad argument #1 (item %I is a %s, expected a function or a task)",
                 (LUAI_UACINT)i, luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lua_createtable(L, (int)n, 0);
  for (i = 1; i <= n; i++) {
    if (lua_geti(L, 1, i) == LUA_TFUNCTION) task_new(L, 0);
    lua_rawseti(L, TASKS, i);
  }
}


static int all_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_task_t *me = vouch_task_current(L), *failed = NULL;
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, TASKS);
  (void)status;
  if (me) me->joining = 0;
  if (lua_gettop(L) > (int)ctx) {                  /* timed out */
    cancel_unfinished(L);
    return lua_gettop(L) - (int)ctx;
  }
  if (!join_over(L, JOIN_ALL)) return join_wait(L, JOIN_ALL, -1, all_k);
  if (me && me->join_hit && me->join_hit->state != TASK_DONE) failed = me->join_hit;
  for (i = 1; failed == NULL && i <= n; i++) {
    vouch_task_t *t = task_at(L, i);
    if (t->state == TASK_FAILED || t->state == TASK_CANCELLED) failed = t;
  }
  if (failed) {
    cancel_unfinished(L);
    return raise_task_error(L, failed);
  }
  luaL_checkstack(L, (int)n, "too many results");
  for (i = 1; i <= n; i++) push_results(L, task_at(L, i), 0);
  return (int)n;
}


/*
** vouch.all(list [, opts]): run the functions of `list` as tasks (tasks in
** it are taken as they are) and return the first result of each, in order.
** The first to fail cancels the others and raises its error; after
** opts.timeout milliseconds the unfinished ones are cancelled and it
** returns nil, message, "ETIMEDOUT".
*/
static int loop_all(lua_State *L) {
  int64_t timeout = vouch_opt_timeout(L, 2);
  join_tasks(L);
  return join_wait(L, JOIN_ALL, timeout, all_k);
}


static int race_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_task_t *me = vouch_task_current(L), *winner = NULL;
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, TASKS);
  (void)status;
  if (me) me->joining = 0;
  if (lua_gettop(L) > (int)ctx) {                  /* timed out */
    cancel_unfinished(L);
    return lua_gettop(L) - (int)ctx;
  }
  if (me && me->join_hit && finished(me->join_hit)) winner = me->join_hit;
  for (i = 1; winner == NULL && i <= n; i++)
    if (finished(task_at(L, i))) winner = task_at(L, i);
  if (winner == NULL) {
    if (n == 0) return 0;
    return join_wait(L, JOIN_ANY, -1, race_k);
  }
  cancel_unfinished(L);
  if (winner->state != TASK_DONE) return raise_task_error(L, winner);
  return push_results(L, winner, 1);
}


/*
** vouch.race(list [, opts]): like vouch.all, but the first task to end
** wins: the others are cancelled, and it returns the winner's results (or
** raises its error).
*/
static int loop_race(lua_State *L) {
  int64_t timeout = vouch_opt_timeout(L, 2);
  join_tasks(L);
  return join_wait(L, JOIN_ANY, timeout, race_k);
}


static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_task_t *me = vouch_task_current(L), *t;
  (void)status;
  if (me) me->joining = 0;
  if (lua_gettop(L) > (int)ctx) return lua_gettop(L) - (int)ctx;  /* timed out */
  t = task_at(L, 1);
  if (!finished(t)) return join_wait(L, JOIN_ALL, -1, wait_k);
  if (t->state != TASK_DONE) return raise_task_error(L, t);
  return push_results(L, t, 1);
}


/*
** task:wait([opts]): the task's results, or raises its error. After
** opts.timeout milliseconds it returns nil, message, "ETIMEDOUT" (the task
** goes on).
*/
static int task_wait(lua_State *L) {
  int64_t timeout;
  luaL_checkudata(L, 1, TASK_MT);
  timeout = vouch_opt_timeout(L, 2);
  lua_settop(L, 2);
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, TASKS, 1);
  return join_wait(L, JOIN_ALL, timeout, wait_k);
}


static int task_status(lua_State *L) {
  static const char *const names[] = {"ready", "running", "waiting", "done", "failed",
                                      "cancelled"};
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  lua_pushstring(L, names[t->state]);
  return 1;
}


static int task_id(lua_State *L) {
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  lua_pushinteger(L, t->id);
  return 1;
}


static int task_tostring(lua_State *L) {
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  lua_pushfstring(L, "vouch.task %d (%p)", t->id, (void *)t);
  return 1;
}


/* vouch.exit([code]): end the run now with `code` (default 0). */
static int loop_exit(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  lua_Integer code = luaL_optinteger(L, 1, 0);
  luaL_argcheck(L, code >= 0 && code <= 255, 1, "exit code out of range");
  h->exit_code = (int)code;
  lua_pushlightuserdata(L, &h->exit_code);
  return lua_error(L);
}

/* }====================================================== */


/*
** {======================================================
** Coroutines: resume and wrap that pass host yields through.
**
** When a user coroutine calls an async function, the function yields the
** coroutine with an operation pending on the task (task->op). The resume
** that ran the coroutine sees that and yields in turn, up to the task's
** own coroutine, which the loop suspends. When the operation completes, the
** task resumes with the results; each resume on the way down continues
** (lua_yieldk) by resuming its inner coroutine with them. A coroutine
** suspended that way is marked "blocked" (registry table, weak keys) so that
** no other code resumes or closes it meanwhile.
** =======================================================
*/

static int blocked(lua_State *L, int idx) {
  int r;
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, BLOCKED_KEY);
  lua_pushvalue(L, idx);
  r = lua_rawget(L, -2) != LUA_TNIL;
  lua_pop(L, 2);
  return r;
}

static void set_blocked(lua_State *L, int idx, int on) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, BLOCKED_KEY);
  lua_pushvalue(L, idx);
  if (on) lua_pushboolean(L, 1);
  else lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static int is_task_thread(lua_State *co) {
  vouch_task_t *t = vouch_task_current(co);
  return t != NULL && t->co == co;
}

static int is_main_thread(lua_State *L, lua_State *co) {
  lua_State *m;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  m = lua_tothread(L, -1);
  lua_pop(L, 1);
  return co == m;
}

/*
** With --trusted the script's own task stands for stock Lua's main chunk:
** coroutine.running() there gives the main thread and true. Sandboxed
** scripts and other tasks see their task's coroutine (and false).
*/
static int presents_as_main(lua_State *L) {
  vouch_task_t *t = vouch_task_current(L);
  return t != NULL && t->co == L && t->main && vouch_host(L)->trusted;
}


/*
** Resume `co` (at `coidx` on L) with the `narg` values on top of L, as
** lcorolib's auxresume does. Returns the number of results moved to L, -1
** with an error message on L, or -2 when `co` yielded for the host and L
** must yield too.
*/
static int pass_resume(lua_State *L, int coidx, lua_State *co, int narg) {
  vouch_task_t *t = vouch_task_current(L);
  int status, nres;
  if (is_main_thread(L, co)) {            /* it runs the loop: never resumable */
    lua_pushliteral(L, "cannot resume non-suspended coroutine");
    return -1;
  }
  if (blocked(L, coidx) || is_task_thread(co)) {
    lua_pushstring(L, is_task_thread(co)
      ? "cannot resume a task's coroutine (use task:wait)"
      : "cannot resume a coroutine that waits for the host");
    return -1;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  *(vouch_task_t **)lua_getextraspace(co) = t;    /* its async calls are t's */
  lua_xmove(L, co, narg);
  {
    vouch_host_t *h = vouch_host(L);
    lua_State *prev = h->running;
    h->running = co;                      /* a limit that trips stops co */
    vouch_limits_hook(co);
    status = lua_resume(co, L, narg, &nres);
    h->running = prev;
    if (prev) vouch_limits_hook(prev);    /* a limit that tripped in co stops L too */
  }
  if (status == LUA_YIELD && t != NULL && t->op != NULL) {
    lua_pop(co, nres);
    if (!lua_isyieldable(L)) {
      vouch_op_cancel(t->op);
      close_thread(co);
      lua_pushliteral(L, "attempt to wait across a C-call boundary (a coroutine "
                         "resumed from a metamethod or a function called from C)");
      return -1;
    }
    set_blocked(L, coidx, 1);
    return -2;
  }
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushliteral(L, "too many results to resume");
      return -1;
    }
    lua_xmove(co, L, nres);
    return nres;
  }
  lua_xmove(co, L, 1);
  return -1;
}


static int co_k(lua_State *L, int status, lua_KContext ctx);

/* Finish a resume (wrap = 0) or a call of a wrapped function (wrap = 1). */
static int resume_result(lua_State *L, lua_State *co, int r, int wrap) {
  if (r == -2) return lua_yieldk(L, 0, wrap, co_k);
  if (!wrap) {
    if (r < 0) {
      /* vouch.exit() inside the coroutine ends the run, not just the coroutine */
      if (lua_touserdata(L, -1) == (void *)&vouch_host(L)->exit_code) return lua_error(L);
      lua_pushboolean(L, 0);
      lua_insert(L, -2);
      return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
  }
  if (r < 0) {
    int stat = lua_status(co);
    if (stat != LUA_OK && stat != LUA_YIELD) {  /* an error in the coroutine */
      stat = close_thread(co);               /* close its tbc variables */
      lua_xmove(co, L, 1);
    }
    if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return r;
}


static int co_k(lua_State *L, int status, lua_KContext ctx) {
  int wrap = (int)ctx;
  int coidx = wrap ? lua_upvalueindex(1) : 1;
  lua_State *co = lua_tothread(L, coidx);
  (void)status;
  set_blocked(L, coidx, 0);
  return resume_result(L, co, pass_resume(L, coidx, co, lua_gettop(L) - (wrap ? 0 : 1)),
                       wrap);
}


static int co_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  return resume_result(L, co, pass_resume(L, 1, co, lua_gettop(L) - 1), 0);
}


static int co_wrapped(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  return resume_result(L, co, pass_resume(L, lua_upvalueindex(1), co, lua_gettop(L)), 1);
}


static int co_wrap(lua_State *L) {
  lua_State *nl;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  nl = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, nl, 1);
  lua_pushcclosure(L, co_wrapped, 1);
  return 1;
}


/* coroutine.close: refused while the coroutine waits for the host. */
static int co_close(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  if (is_task_thread(co))
    return luaL_error(L, "cannot close a task's coroutine (use task:cancel)");
  if (is_main_thread(L, co))
    return luaL_error(L, "cannot close a %s coroutine", presents_as_main(L) ? "running" : "normal");
  if (blocked(L, 1))
    return luaL_error(L, "cannot close a coroutine that waits for the host");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  {
    /* Its __close handlers run on `co`: a limit that trips meanwhile must
    ** stop them there, or a pcall inside one would swallow it forever. */
    vouch_host_t *h = vouch_host(L);
    lua_State *prev = h->running;
    int status;
    h->running = co;
    vouch_limits_hook(co);
    status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    h->running = prev;
    if (prev) vouch_limits_hook(prev);    /* a limit that tripped in co stops L too */
    if (status != LUA_OK) return lua_error(L);
  }
  return lua_gettop(L);
}


/* coroutine.status: a coroutine that waits for the host is "normal". */
static int co_status(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  if (blocked(L, 1) || (is_main_thread(L, co) && !presents_as_main(L))) {
    lua_pushliteral(L, "normal");
    return 1;
  }
  if (is_main_thread(L, co)) {
    lua_pushliteral(L, "running");
    return 1;
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}


/* coroutine.running: see presents_as_main. */
static int co_running(lua_State *L) {
  if (presents_as_main(L)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_pushboolean(L, 1);
  } else {
    lua_pushboolean(L, lua_pushthread(L));
  }
  return 2;
}


/*
** coroutine.isyieldable and coroutine.yield: a task's own coroutine is not
** the script's to yield (only the host suspends it, for async calls), so
** there it is not yieldable and a yield is the error stock Lua raises in
** its main chunk, raised where pcall can catch it.
*/
static int co_isyieldable(lua_State *L) {
  lua_State *co = L;
  if (!lua_isnone(L, 1)) {
    co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
  }
  lua_pushboolean(L, !is_task_thread(co) && lua_isyieldable(co));
  return 1;
}

static int co_yield(lua_State *L) {
  if (is_task_thread(L)) {
    lua_pushliteral(L, "attempt to yield from outside a coroutine");
    return lua_error(L);
  }
  return lua_yield(L, lua_gettop(L));
}


/* Patch the global coroutine table, which the sandbox copies. */
static void patch_coroutine(lua_State *L) {
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, BLOCKED_KEY);
  if (lua_getglobal(L, "coroutine") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  lua_pushcfunction(L, co_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, co_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pushcfunction(L, co_running);
  lua_setfield(L, -2, "running");
  lua_pushcfunction(L, co_isyieldable);
  lua_setfield(L, -2, "isyieldable");
  lua_pushcfunction(L, co_yield);
  lua_setfield(L, -2, "yield");
  lua_getfield(L, -1, "close");
  lua_pushcclosure(L, co_close, 1);
  lua_setfield(L, -2, "close");
  lua_getfield(L, -1, "status");
  lua_pushcclosure(L, co_status, 1);
  lua_setfield(L, -2, "status");
  lua_pop(L, 1);
}

/* }====================================================== */


static void idle_closed(uv_handle_t *handle) {
  free(handle);
}


/* The loop state's __gc: the state is closing; nothing may resume now. */
static int state_gc(lua_State *L) {
  loop_state *s = lua_touserdata(L, 1);
  cancel_all(s);
  if (s->idle) {
    uv_close((uv_handle_t *)s->idle, idle_closed);
    s->idle = NULL;
  }
  return 0;
}


/* How many tasks are started and not finished. */
int vouch_tasks_live(vouch_host_t *h) {
  return state_of(h->L)->live;
}


/*
** Cancel every task (none may be running): what they wait for stops and
** their __close handlers run, under the limits. The REPL does this when a
** statement's time runs out with tasks it spawned still alive.
*/
void vouch_tasks_cancel(vouch_host_t *h) {
  loop_state *s = state_of(h->L);
  while (s->lhead) cancel_task(h->L, s->lhead);
  s->head = s->tail = NULL;
}


int vouch_task_start(lua_State *L, int nargs) {
  task_new(L, nargs)->main = 1;
  lua_pop(L, 1);
  return LUA_OK;
}


/*
** {======================================================
** Running the loop
** =======================================================
*/

static void deadline_fired(uv_timer_t *timer) {
  vouch_host_t *h = timer->data;
  if (h->deadline == 0) return;  /* disarmed since: a server runs until closed */
  /* No Lua runs now (the watchdog's signal may have tripped the limit
  ** already, with nothing to stop): report it here. */
  if (h->limit_hit == VOUCH_LIMIT_NONE || h->limit_hit == VOUCH_LIMIT_INTERRUPT)
    h->limit_hit = VOUCH_LIMIT_TIME;
  vouch_limits_report(h);
  h->failed = 1;
  uv_stop(&h->loop);
}

static void deadline_closed(uv_handle_t *handle) {
  free(handle);
}


/* Describe what blocked task `w` waits for, on top of the stack. */
static void push_waits_for(lua_State *L, loop_state *s, vouch_task_t *w) {
  vouch_task_t *x;
  int n = 0;
  if (w->op != &w->join) {
    lua_pushliteral(L, "an operation that never completes");
    return;
  }
  lua_pushliteral(L, "");
  for (x = s->lhead; x; x = x->lnext) {
    int found = 0;
    if (x->ref == LUA_NOREF) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->ref);
    if (lua_getiuservalue(L, -1, 2) == LUA_TTABLE) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, w->ref);
      found = lua_rawget(L, -2) == LUA_TNUMBER && lua_tointeger(L, -1) == w->join_gen;
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
    if (found) {
      lua_pushfstring(L, "%s%d", n ? ", " : "", x->id);
      lua_concat(L, 2);
      n++;
    }
  }
  if (n == 0) lua_pushliteral(L, "a task that never finishes");
  else lua_pushfstring(L, "%s%s %s", n > 1 && w->join_mode == JOIN_ANY ? "any of " : "",
                       n > 1 ? "tasks" : "task", lua_tostring(L, -1));
  lua_remove(L, -2);
}


/*
** Nothing is left to run, yet tasks live: each waits for something that
** will never come (another blocked task, say). Report them and fail.
*/
static void report_blocked(vouch_host_t *h, loop_state *s) {
  lua_State *L = h->L;
  vouch_task_t *t;
  int n = 0;
  for (t = s->lhead; t; t = t->lnext) {
    if (++n > BLOCKED_REPORTS) continue;
    push_waits_for(L, s, t);
    lua_pushfstring(L, "task %d%s is blocked forever, waiting for %s", t->id,
                    t->main ? " (the script)" : "", lua_tostring(L, -1));
    luaL_traceback(L, t->co, lua_tostring(L, -1), 0);
    vouch_report(L, NULL);
    lua_pop(L, 2);
  }
  if (n > BLOCKED_REPORTS)
    fprintf(stderr, "vouch: ... and %d more blocked tasks\n", n - BLOCKED_REPORTS);
  h->failed = 1;
}


/*
** Run the loop until nothing is left to do. A task still waiting then waits
** for something that will never come: report it and fail the run.
*/
int vouch_run_loop(vouch_host_t *h) {
  loop_state *s = state_of(h->L);
  uv_timer_t *deadline = NULL;
  if (h->deadline) {
    /* Tasks that all wait (a long sleep, a stalled server) still end on time.
    ** The loop's clock stopped when the last run's loop did: what ran since
    ** (its garbage collected, this script compiled) must not come off this
    ** run's time, so the clock is read afresh. */
    uint64_t now = uv_hrtime();
    uv_update_time(&h->loop);
    deadline = malloc(sizeof *deadline);
    if (deadline) {
      uv_timer_init(&h->loop, deadline);
      deadline->data = h;
      uv_timer_start(deadline, deadline_fired,
                     h->deadline > now ? (h->deadline - now) / 1000000 + 1 : 0, 0);
      uv_unref((uv_handle_t *)deadline);
    }
  }
  do uv_run(&h->loop, UV_RUN_DEFAULT);
  while (h->exit_code < 0 && s->live > 0 && vouch_load_unblock(h));
  if (deadline) uv_close((uv_handle_t *)deadline, deadline_closed);
  if (h->exit_code < 0 && !h->failed && s->live > 0) report_blocked(h, s);
  /*
  ** Tasks left after a stop (an error, vouch.exit, a limit) or blocked are
  ** cancelled, not run: their work stops, their to-be-closed variables
  ** close, and a later run (the REPL's next line) starts with none.
  */
  cancel_all(s);
  while (s->lhead) cancel_task(h->L, s->lhead);
  s->head = s->tail = NULL;
  if (s->idle) uv_idle_stop(s->idle);
  uv_run(&h->loop, UV_RUN_NOWAIT);  /* let cancelled work close */
  return h->failed ? LUA_ERRRUN : LUA_OK;
}

/* }====================================================== */


int luaopen_vouch_loop(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  loop_state *s;
  static const luaL_Reg task_m[] = {
    {"wait", task_wait}, {"cancel", task_cancel}, {"status", task_status},
    {"id", task_id}, {NULL, NULL}
  };
  static const luaL_Reg funcs[] = {
    {"sleep", loop_sleep}, {"spawn", loop_spawn}, {"all", loop_all},
    {"race", loop_race}, {"exit", loop_exit}, {NULL, NULL}
  };
  /* No task runs on the main thread; new threads copy its extra space. */
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  *(vouch_task_t **)lua_getextraspace(lua_tothread(L, -1)) = NULL;
  lua_pop(L, 1);
  s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->h = h;
  s->ops.next = s->ops.prev = &s->ops;
  s->idle = malloc(sizeof *s->idle);
  if (s->idle == NULL) return luaL_error(L, "not enough memory");
  uv_idle_init(&h->loop, s->idle);
  s->idle->data = s;
  lua_newtable(L);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "vouch.loop");

  luaL_newmetatable(L, TASK_MT);
  luaL_newlib(L, task_m);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, task_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  patch_coroutine(L);
  luaL_newlib(L, funcs);
  return 1;
}
