/*
** file.c: luaopen_vouch_file, writing files a command was asked to write
** (reports and their charts), handing a written file to the desktop's
** browser, and standard output for a report printed whole.
** Every path is checked against --allow-write first.
*/
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vouch.h"

extern char **environ;


/*
** vouch.file.write(path, text) -> true | nil, message, code.
** Writes through a temporary file renamed into place, so a reader (a
** browser reloading the report) never sees half a file.
*/
static int file_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *text = luaL_checklstring(L, 2, &len);
  char *resolved = NULL, *tmp;
  FILE *f;
  int err = 0;
  vouch_check_path(L, path, VOUCH_WRITE, &resolved);
  tmp = malloc(strlen(resolved) + 16);
  if (tmp == NULL) { free(resolved); return luaL_error(L, "not enough memory"); }
  sprintf(tmp, "%s.tmp%ld", resolved, (long)getpid());
  f = fopen(tmp, "wb");
  if (f == NULL) err = errno;
  else {
    if (fwrite(text, 1, len, f) != len) err = errno ? errno : EIO;
    if (fclose(f) != 0 && err == 0) err = errno;
    if (err == 0 && rename(tmp, resolved) != 0) err = errno;
    if (err != 0) remove(tmp);
  }
  free(tmp);
  free(resolved);
  if (err != 0) return vouch_fail_errno(L, path, err);
  lua_pushboolean(L, 1);
  return 1;
}


/* vouch.file.mkdir(path) -> true (also when it exists) | nil, message, code */
static int file_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *resolved = NULL;
  struct stat st;
  int err = 0;
  vouch_check_path(L, path, VOUCH_WRITE, &resolved);
  if (mkdir(resolved, 0777) != 0) {
    err = errno;
    if (err == EEXIST && stat(resolved, &st) == 0 && S_ISDIR(st.st_mode)) err = 0;
    else if (err == EEXIST) err = ENOTDIR;
  }
  free(resolved);
  if (err != 0) return vouch_fail_errno(L, path, err);
  lua_pushboolean(L, 1);
  return 1;
}


/* The first of the desktop's openers found on PATH, or NULL. */
static const char *find_opener(void) {
  static const char *const openers[] = { "xdg-open", "sensible-browser", NULL };
  static char found[4096];
  const char *path = getenv("PATH");
  int i;
  if (path == NULL) return NULL;
  for (i = 0; openers[i]; i++) {
    const char *p = path, *e;
    while (*p) {
      e = strchr(p, ':');
      if (e == NULL) e = p + strlen(p);
      if (e > p && snprintf(found, sizeof found, "%.*s/%s", (int)(e - p), p, openers[i]) < (int)sizeof found &&
          access(found, X_OK) == 0)
        return openers[i];
      p = *e ? e + 1 : e;
    }
  }
  return NULL;
}


/*
** vouch.file.show(path) -> opener | nil, message, "ENOENT".
** Opens the file the user named with --out (and no other: a script that
** may write files must not also get to launch a browser on them) with
** xdg-open or sensible-browser, in a session of its own, without waiting
** for it. The opener's name is returned so the command can say what it did.
*/
static int file_show(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *resolved = NULL;
  const char *opener;
  char *argv[3];
  posix_spawnattr_t attr;
  pid_t pid;
  int err;
  vouch_host_t *h = vouch_host(L);
  vouch_check_path(L, path, VOUCH_WRITE, &resolved);
  if (!h->trusted && (h->out_path == NULL || strcmp(resolved, h->out_path) != 0)) {
    free(resolved);
    return luaL_error(L, "%s: only the file named by --out can be opened", path);
  }
  if ((opener = find_opener()) == NULL) {
    free(resolved);
    luaL_pushfail(L);
    lua_pushliteral(L, "no browser opener found (looked for xdg-open and sensible-browser on PATH)");
    lua_pushliteral(L, "ENOENT");
    return 3;
  }
  argv[0] = (char *)opener;
  argv[1] = resolved;
  argv[2] = NULL;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  err = posix_spawnp(&pid, opener, NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  free(resolved);
  if (err != 0) return vouch_fail_errno(L, opener, err);
  lua_pushstring(L, opener);
  return 1;
}


/* Write all of `text` to `f` and flush; raise if the stream failed. */
static int put(lua_State *L, FILE *f, const char *name) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  if (fwrite(text, 1, len, f) != len || fflush(f) != 0)
    return luaL_error(L, "cannot write to %s: %s", name, strerror(errno));
  return 0;
}

/* vouch.file.stdout(text): exactly `text`, no newline (print adds one). */
static int file_stdout(lua_State *L) { return put(L, stdout, "stdout"); }


static const luaL_Reg file_funcs[] = {
  {"stdout", file_stdout},
  {"write", file_write},
  {"mkdir", file_mkdir},
  {"show", file_show},
  {NULL, NULL}
};

int luaopen_vouch_file(lua_State *L) {
  luaL_newlib(L, file_funcs);
  return 1;
}
