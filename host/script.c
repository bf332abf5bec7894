/*
** script.c: loading Lua files that scripts name (a scorecard's rules, an
** analyst's tests) and listing directories, both subject to the read
** capability. vouch.script(path) is loadfile for the sandbox: the chunk
** gets a fresh environment of its own, so a rules file cannot change the
** script that loaded it.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lualib.h>

#include "vouch.h"


/*
** Read the file a script named, opened beneath its grant, into a Lua string
** on the stack; 0, or an errno. Raises when the sandbox refuses it.
*/
static int push_file(lua_State *L, const char *path) {
  int fd = vouch_check_open(L, path, VOUCH_READ, O_RDONLY, 0, NULL);
  if (fd < 0) return errno;
  return vouch_read_fd(L, fd);
}


/* Push why no scorecard `name` is bundled, naming those that are. */
static void bundled(lua_State *L, const char *name) {
  luaL_Buffer b;
  int i, n = 0;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "no scorecard '%s' is bundled (the bundled ones: ", name);
  luaL_addvalue(&b);
  for (i = 0; vouch_stdlib[i].name; i++) {
    const char *s = vouch_stdlib[i].name;
    if (strncmp(s, "vouch.scripts.", 14) != 0) continue;
    if (n++ > 0) luaL_addstring(&b, ", ");
    luaL_addstring(&b, s + 14);
  }
  luaL_addstring(&b, "; or a file, e.g. --rules ./my_rules.lua)");
  luaL_pushresult(&b);
}


/*
** vouch.script(path) -> chunk, source: load a Lua text file (or, for a name
** like "vouch.scripts.social_capital", an embedded module) without running
** it. The chunk's environment is a fresh sandbox environment. A missing
** file returns nil, message, code; a file outside --allow-read raises; a
** syntax error returns nil and the message.
*/
static int script_script(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *src;
  size_t len, skip = 0;
  int i, status, embedded = -1;
  lua_settop(L, 1);
  if (strncmp(path, "vouch.", 6) == 0) {
    for (i = 0; vouch_stdlib[i].name; i++)
      if (strcmp(vouch_stdlib[i].name, path) == 0) { embedded = i; break; }
    if (embedded < 0) {
      luaL_pushfail(L);
      if (strncmp(path, "vouch.scripts.", 14) == 0) bundled(L, path + 14);
      else lua_pushfstring(L, "%s: no such embedded script", path);
      lua_pushliteral(L, "ENOENT");
      return 3;
    }
    lua_pushlstring(L, vouch_stdlib[embedded].src, vouch_stdlib[embedded].len);
    luaL_gsub(L, path + 6, ".", "/");  /* scripts.x reads as scripts/x */
    lua_pushfstring(L, "@[vouch]/%s.lua", lua_tostring(L, -1));
    lua_remove(L, -2);
  } else {
    int err;
    if ((err = push_file(L, path)) != 0) return vouch_fail_errno(L, path, err);
    lua_pushfstring(L, "@%s", path);
  }
  /* 2: source, 3: chunk name */
  src = lua_tolstring(L, 2, &len);
  if (len > 0 && src[0] == '#')  /* a #! line; keep its newline for line numbers */
    while (skip < len && src[skip] != '\n') skip++;
  status = luaL_loadbufferx(L, src + skip, len - skip, lua_tostring(L, 3), "t");
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);  /* nil below the message */
    return 2;
  }
  if (vouch_host(L)->trusted) lua_pushglobaltable(L);
  else vouch_sandbox_env(L);
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);  /* _ENV of the chunk */
  lua_pushvalue(L, 2);
  return 2;
}


static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}


/*
** vouch.dir(path) -> { name, ... }: the entries of a directory, sorted,
** without "." and "..". Subject to the read capability; a missing
** directory returns nil, message, code.
*/
static int script_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d;
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  int fd = vouch_check_open(L, path, VOUCH_READ, O_RDONLY | O_DIRECTORY, 0, NULL);
  if (fd < 0 || (d = fdopendir(fd)) == NULL) {
    int err = errno;
    if (fd >= 0) close(fd);
    return vouch_fail_errno(L, path, err);
  }
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == cap) {
      char **v = realloc(names, sizeof *names * (cap = cap ? cap * 2 : 32));
      if (v == NULL) break;
      names = v;
    }
    if ((names[n] = strdup(e->d_name)) == NULL) break;
    n++;
  }
  closedir(d);
  if (n > 0) qsort(names, n, sizeof *names, cmp_names);
  lua_createtable(L, (int)n, 0);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);  /* cannot fail short of memory; names freed below */
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (i = 0; i < n; i++) free(names[i]);
  free(names);
  return 1;
}


/* vouch.eprint(...): print to stderr, for commands' messages and warnings. */
static int script_eprint(lua_State *L) {
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


/*
** vouch.status([text]): a status line on stderr, rewritten in place (a
** progress line), when stderr is a terminal; nothing otherwise. Without
** text, the line is cleared.
*/
int vouch_status_taken = 0;

static int script_status(lua_State *L) {
  size_t len = 0;
  const char *s = luaL_optlstring(L, 1, "", &len);
  if (!isatty(STDERR_FILENO)) return 0;
  vouch_status_taken = 1;  /* the loaders' own progress lines keep quiet */
  fputc('\r', stderr);
  fwrite(s, 1, len, stderr);
  fputs("\033[K", stderr);
  fflush(stderr);
  return 0;
}


static const luaL_Reg script_funcs[] = {
  {"script", script_script},
  {"eprint", script_eprint},
  {"status", script_status},
  {"dir", script_dir},
  {NULL, NULL}
};


int luaopen_vouch_script(lua_State *L) {
  luaL_newlib(L, script_funcs);
  return 1;
}
