/*
** sched.c: schedules in the database, the daemon that runs them, and the
** monitoring that compares a schedule's scorecard runs (vouch.schedule).
*/
#include <stdio.h>
#include <string.h>

#include "vouch.h"
#include "cron.h"

/* vouch.eprint(...): write the arguments to stderr, tab-separated, and a newline. */
static int sched_eprint(lua_State *L) {
  int i, n = lua_gettop(L);
  fflush(stdout);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', stderr);
    fwrite(s, 1, len, stderr);
    lua_pop(L, 1);
  }
  fputc('\n', stderr);
  fflush(stderr);
  return 0;
}

int luaopen_vouch_sched(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"eprint", sched_eprint}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}
