/*
** loop.c: tasks as coroutines on the libuv loop.
**
** Every script runs as a task. An asynchronous call starts its work with
** vouch_op_start, then yields with vouch_op_wait; the work's completion
** pushes its results on the task's stack and calls vouch_op_done, which
** resumes the task. The loop keeps a list of pending operations so that a
** timeout, a cancellation or the host's shutdown can reach each of them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vouch.h"

#define TASK_MT "vouch.task"

enum { TASK_READY, TASK_RUNNING, TASK_WAITING, TASK_DONE, TASK_FAILED };

struct vouch_task {
  lua_State *co;            /* the coroutine; anchored in the uservalue */
  int ref;                  /* registry ref to the userdata while it lives */
  int state;                /* TASK_* */
  int nargs;                /* values on co's stack for the next resume */
  int id;                   /* for messages */
  int main;                 /* the script's own task: errors need no name */
  vouch_op_t *op;           /* what the task waits for, or NULL */
  vouch_task_t *next;       /* ready queue */
  vouch_task_t *live_prev, *live_next;  /* the loop's list of live tasks */
};

/* The loop's own state: one per host, kept in the registry. */
typedef struct loop_state {
  vouch_host_t *h;
  uv_idle_t *idle;          /* runs the ready queue; malloc'd, freed on close */
  vouch_task_t *head, *tail;/* tasks ready to run */
  vouch_op_t ops;           /* sentinel of the list of pending operations */
  vouch_task_t *live_head;  /* tasks started and not finished */
  int live;                 /* how many */
  int next_id;
} loop_state;

static loop_state *state_of(lua_State *L) {
  loop_state *s;
  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.loop");
  s = (loop_state *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  return s;
}


vouch_task_t *vouch_task_current(lua_State *L) {
  return *(vouch_task_t **)lua_getextraspace(L);
}


static void run_ready(uv_idle_t *idle);
static void resume(lua_State *L, vouch_task_t *t);


static void make_ready(loop_state *s, vouch_task_t *t) {
  t->state = TASK_READY;
  t->next = NULL;
  if (s->tail) s->tail->next = t;
  else s->head = t;
  s->tail = t;
  if (s->idle) uv_idle_start(s->idle, run_ready);
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
  t->live_next = s->live_head;
  if (s->live_head) s->live_head->live_prev = t;
  s->live_head = t;
  make_ready(s, t);
  return t;
}


/* Wake the tasks that wait for `t` (kept in its uservalue 2). */
static void wake_waiters(lua_State *L, vouch_task_t *t) {
  loop_state *s = state_of(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
  if (lua_getiuservalue(L, -1, 2) == LUA_TTABLE) {
    lua_Integer i, n = luaL_len(L, -1);
    for (i = 1; i <= n; i++) {
      vouch_task_t *w;
      lua_rawgeti(L, -1, i);
      w = lua_touserdata(L, -1);
      lua_pop(L, 1);
      if (w && w->state == TASK_WAITING && w->op == NULL) {
        w->nargs = 0;
        make_ready(s, w);
      }
    }
  }
  lua_pop(L, 2);
}


static void unlink_live(loop_state *s, vouch_task_t *t) {
  if (t->live_prev) t->live_prev->live_next = t->live_next;
  else s->live_head = t->live_next;
  if (t->live_next) t->live_next->live_prev = t->live_prev;
  t->live_prev = t->live_next = NULL;
  s->live--;
}


static void finish(lua_State *L, vouch_task_t *t, int state) {
  loop_state *s = state_of(L);
  t->state = state;
  unlink_live(s, t);
  wake_waiters(L, t);
  luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
  t->ref = LUA_NOREF;
}


static void resume(lua_State *L, vouch_task_t *t) {
  vouch_host_t *h = vouch_host(L);
  int nres, status;
  lua_State *prev = h->running;
  t->state = TASK_RUNNING;
  h->running = t->co;
  vouch_limits_hook(t->co);
  status = lua_resume(t->co, L, t->nargs, &nres);
  h->running = prev;
  t->nargs = 0;
  if (status == LUA_YIELD) {
    lua_pop(t->co, nres);
    t->state = TASK_WAITING;
    return;
  }
  if (status == LUA_OK) {
    /* keep the results in the coroutine's stack for whoever waits */
    finish(L, t, TASK_DONE);
    return;
  }
  /* An error: vouch.exit() raises a sentinel that is not reported. */
  if (lua_touserdata(t->co, -1) == (void *)&h->exit_code) {
    lua_settop(t->co, 0);
    finish(L, t, TASK_DONE);
    uv_stop(&h->loop);
    return;
  }
  if (h->limit_hit != VOUCH_LIMIT_NONE && h->limit_hit != VOUCH_LIMIT_INTERRUPT) {
    lua_pushstring(t->co, vouch_limit_message(h));
  } else {
    const char *msg = lua_tostring(t->co, -1);
    if (msg && strstr(msg, "stack overflow") != NULL) h->limit_hit = VOUCH_LIMIT_STACK;
    if (msg == NULL) msg = lua_pushfstring(t->co, "(error object is a %s value)",
                                           luaL_typename(t->co, -1));
    luaL_traceback(t->co, t->co, msg, 0);
  }
  lua_xmove(t->co, L, 1);
  {
    char what[32];
    snprintf(what, sizeof what, "task %d", t->id);
    vouch_report(L, t->main ? NULL : what);
  }
  h->failed = 1;
  lua_settop(t->co, 0);
  finish(L, t, TASK_FAILED);
  /* A failed run stops here: the other tasks are abandoned, not awaited. */
  uv_stop(&h->loop);
}


/*
** {======================================================
** Operations: what a task waits for
** =======================================================
*/

/*
** Attach `op` to the running task and to the loop's list. The caller then
** starts the work and returns vouch_op_wait(L). `op->cancel` must stop the
** work and, like the completion, end with vouch_op_done (or _free).
*/
void vouch_op_start(lua_State *L, vouch_op_t *op) {
  loop_state *s = state_of(L);
  vouch_task_t *t = vouch_task_current(L);
  if (t == NULL || t->co != L)
    luaL_error(L, "attempt to wait outside a task (use vouch.spawn)");
  op->task = t;
  op->L = L;
  op->next = s->ops.next;
  op->prev = &s->ops;
  s->ops.next->prev = op;
  s->ops.next = op;
  t->op = op;
}


int vouch_op_wait(lua_State *L) {
  return lua_yield(L, 0);
}


/* Unlink `op`; its task (if any) is no longer waiting on it. */
void vouch_op_unlink(vouch_op_t *op) {
  if (op->next) {
    op->prev->next = op->next;
    op->next->prev = op->prev;
    op->next = op->prev = NULL;
  }
  if (op->task) op->task->op = NULL;
  op->task = NULL;
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


/* Cancel every pending operation (the host is shutting down). */
static void cancel_all(loop_state *s) {
  while (s->ops.next != &s->ops) {
    vouch_op_t *op = s->ops.next;
    vouch_op_unlink(op);
    op->L = NULL;
    if (op->cancel) op->cancel(op);
  }
}

/* }====================================================== */


/*
** {======================================================
** vouch.sleep
** =======================================================
*/

typedef struct sleep_op {
  vouch_op_t op;            /* must be first */
  uv_timer_t timer;
} sleep_op;

static void sleep_closed(uv_handle_t *handle) {
  free(handle->data);
}

static void sleep_fired(uv_timer_t *timer) {
  sleep_op *sp = timer->data;
  uv_close((uv_handle_t *)timer, sleep_closed);
  vouch_op_done(&sp->op, 0);
}

static void sleep_cancel(vouch_op_t *op) {
  sleep_op *sp = (sleep_op *)op;
  uv_timer_stop(&sp->timer);
  uv_close((uv_handle_t *)&sp->timer, sleep_closed);
}

/* vouch.sleep(ms): let the loop run other tasks for at least `ms`. */
static int loop_sleep(lua_State *L) {
  lua_Number ms = luaL_checknumber(L, 1);
  vouch_host_t *h = vouch_host(L);
  sleep_op *sp;
  luaL_argcheck(L, ms >= 0, 1, "must not be negative");
  sp = calloc(1, sizeof *sp);
  if (sp == NULL) return luaL_error(L, "not enough memory");
  vouch_op_start(L, &sp->op);
  sp->op.cancel = sleep_cancel;
  uv_timer_init(&h->loop, &sp->timer);
  sp->timer.data = sp;
  uv_timer_start(&sp->timer, sleep_fired, (uint64_t)ms, 0);
  return vouch_op_wait(L);
}

/* }====================================================== */


/*
** {======================================================
** vouch.spawn, task:wait, vouch.exit
** =======================================================
*/

/* vouch.spawn(fn, ...): start fn(...) as a task; returns the task. */
static int loop_spawn(lua_State *L) {
  int nargs = lua_gettop(L) - 1;
  luaL_checktype(L, 1, LUA_TFUNCTION);
  task_new(L, nargs);
  return 1;
}


static int wait_k(lua_State *L, int status, lua_KContext ctx);

/* task:wait(): the task's results, or raises its error. */
static int task_wait(lua_State *L) {
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  vouch_task_t *me = vouch_task_current(L);
  if (t->state != TASK_DONE && t->state != TASK_FAILED) {
    if (me == NULL || me->co != L)
      return luaL_error(L, "attempt to wait outside a task (use vouch.spawn)");
    if (me == t) return luaL_error(L, "a task cannot wait for itself");
    if (lua_getiuservalue(L, 1, 2) != LUA_TTABLE) {
      lua_pop(L, 1);
      lua_newtable(L);
      lua_pushvalue(L, -1);
      lua_setiuservalue(L, 1, 2);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, me->ref);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    lua_pop(L, 1);
    me->state = TASK_WAITING;
    return lua_yieldk(L, 0, 0, wait_k);
  }
  return wait_k(L, LUA_YIELD, 0);
}


static int wait_k(lua_State *L, int status, lua_KContext ctx) {
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  int n;
  (void)status; (void)ctx;
  if (t->state == TASK_FAILED)
    return luaL_error(L, "task %d failed", t->id);
  if (t->state != TASK_DONE)
    return luaL_error(L, "task %d is still running", t->id);
  n = lua_gettop(t->co);
  luaL_checkstack(L, n, "too many results");
  lua_settop(L, 0);
  lua_xmove(t->co, L, n);  /* hand the results over, then put copies back */
  {
    int i;
    for (i = 1; i <= n; i++) lua_pushvalue(L, i);
    lua_xmove(L, t->co, n);
  }
  return n;
}


static int task_status(lua_State *L) {
  static const char *const names[] = {"ready", "running", "waiting", "done", "failed"};
  vouch_task_t *t = luaL_checkudata(L, 1, TASK_MT);
  lua_pushstring(L, names[t->state]);
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


int vouch_task_start(lua_State *L, int nargs) {
  task_new(L, nargs)->main = 1;
  lua_pop(L, 1);
  return LUA_OK;
}


/*
** Run the loop until nothing is left to do. A task still waiting then waits
** for something that will never come: report it and fail the run.
*/
static void deadline_fired(uv_timer_t *timer) {
  vouch_host_t *h = timer->data;
  /* No Lua runs now (the watchdog's signal may have tripped the limit
  ** already, with nothing to stop): report it here. */
  if (h->limit_hit == VOUCH_LIMIT_NONE || h->limit_hit == VOUCH_LIMIT_INTERRUPT)
    h->limit_hit = VOUCH_LIMIT_TIME;
  fprintf(stderr, "vouch: %s\n", vouch_limit_message(h));
  h->failed = 1;
  uv_stop(&h->loop);
}

static void deadline_closed(uv_handle_t *handle) {
  free(handle);
}

int vouch_run_loop(vouch_host_t *h) {
  loop_state *s = state_of(h->L);
  uv_timer_t *deadline = NULL;
  if (h->deadline) {
    /* Tasks that all wait (a long sleep, a stalled server) still end on time. */
    uint64_t now = uv_hrtime();
    deadline = malloc(sizeof *deadline);
    if (deadline) {
      uv_timer_init(&h->loop, deadline);
      deadline->data = h;
      uv_timer_start(deadline, deadline_fired,
                     h->deadline > now ? (h->deadline - now) / 1000000 + 1 : 0, 0);
      uv_unref((uv_handle_t *)deadline);
    }
  }
  uv_run(&h->loop, UV_RUN_DEFAULT);
  if (deadline) uv_close((uv_handle_t *)deadline, deadline_closed);
  if (h->exit_code < 0 && !h->failed && s->live > 0) {
    fprintf(stderr, "vouch: %d task%s blocked forever (waiting for a task that "
            "never finishes)\n", s->live, s->live == 1 ? " is" : "s are");
    h->failed = 1;
  }
  cancel_all(s);
  uv_run(&h->loop, UV_RUN_NOWAIT);  /* let cancelled work close */
  /* Tasks left now are abandoned: the next run starts with none. */
  s->head = s->tail = NULL;
  while (s->live_head) {
    vouch_task_t *t = s->live_head;
    unlink_live(s, t);
    t->state = TASK_FAILED;
    luaL_unref(h->L, LUA_REGISTRYINDEX, t->ref);
    t->ref = LUA_NOREF;
  }
  return h->failed ? LUA_ERRRUN : LUA_OK;
}


static const char all_race[] =
  "local spawn = ...\n"
  "local M = {}\n"
  "function M.all(fns)\n"
  "  local tasks, out = {}, {}\n"
  "  for i, f in ipairs(fns) do tasks[i] = spawn(f) end\n"
  "  for i, t in ipairs(tasks) do out[i] = t:wait() end\n"
  "  return table.unpack(out, 1, #tasks)\n"
  "end\n"
  "return M\n";


int luaopen_vouch_loop(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  loop_state *s;
  static const luaL_Reg task_m[] = {
    {"wait", task_wait}, {"status", task_status}, {NULL, NULL}
  };
  static const luaL_Reg funcs[] = {
    {"sleep", loop_sleep}, {"spawn", loop_spawn}, {"exit", loop_exit}, {NULL, NULL}
  };
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

  luaL_newlib(L, funcs);
  if (luaL_loadbufferx(L, all_race, sizeof all_race - 1, "=[vouch]/loop", "t") != LUA_OK)
    return lua_error(L);
  lua_getfield(L, -2, "spawn");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "all");
  lua_setfield(L, -3, "all");
  lua_pop(L, 1);
  return 1;
}
