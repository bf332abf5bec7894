/*
** file.c: luaopen_vouch_file, writing files a command was asked to write
** (reports and their charts), handing a written file to the desktop's
** browser, standard output for a report printed whole, and the hash of a
** file's bytes. Every path is checked against --allow-write (--allow-read
** for the hash) first.
*/
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vouch.h"

extern char **environ;


/* Check `path` for writing and open its directory; raises when refused. */
static int open_dir(lua_State *L, const char *path, vouch_path_t **pp, const char **base) {
  const char *why;
  int dirfd;
  *pp = vouch_path_check(vouch_host(L), path, VOUCH_WRITE, &why);
  if (*pp == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (*pp == NULL) return luaL_error(L, "%s: %s", path, why);
  dirfd = vouch_path_open_dir(*pp, base, &why);
  if (dirfd < 0) {
    int err = errno;
    vouch_path_free(*pp);
    *pp = NULL;
    if (why != NULL) return luaL_error(L, "%s: %s", path, why);
    errno = err;
  }
  return dirfd;
}


/*
** vouch.file.write(path, text) -> true | nil, message, code.
** Writes through a temporary file renamed into place, so a reader (a
** browser reloading the report) never sees half a file. Both are done in
** the directory opened beneath the grant, by descriptor: a symlink swapped
** in for a directory on the way cannot send the file out of the grant, and
** the rename replaces a symlink at the name rather than following it.
*/
static int file_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len, off = 0;
  const char *text = luaL_checklstring(L, 2, &len);
  const char *base;
  vouch_path_t *p;
  char *tmp;
  struct stat st;
  int dirfd, fd, err = 0;
  if ((dirfd = open_dir(L, path, &p, &base)) < 0) return vouch_fail_errno(L, path, errno);
  tmp = malloc(strlen(base) + 32);
  if (tmp == NULL) {
    close(dirfd);
    vouch_path_free(p);
    return luaL_error(L, "not enough memory");
  }
  sprintf(tmp, "%s.tmp%ld", base, (long)getpid());
  if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) err = EISDIR;
  else if ((fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                        0666)) < 0)
    err = errno;
  else {
    while (off < len && err == 0) {
      ssize_t n = write(fd, text + off, len - off);
      if (n >= 0) off += (size_t)n;
      else if (errno != EINTR) err = errno;
    }
    if (close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && renameat(dirfd, tmp, dirfd, base) != 0) err = errno;
    if (err != 0) unlinkat(dirfd, tmp, 0);
  }
  free(tmp);
  close(dirfd);
  vouch_path_free(p);
  if (err != 0) return vouch_fail_errno(L, path, err);
  lua_pushboolean(L, 1);
  return 1;
}


/* vouch.file.mkdir(path) -> true (also when it exists) | nil, message, code */
static int file_mkdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *base;
  vouch_path_t *p;
  struct stat st;
  int dirfd, err = 0;
  if ((dirfd = open_dir(L, path, &p, &base)) < 0) return vouch_fail_errno(L, path, errno);
  if (mkdirat(dirfd, base, 0777) != 0) {
    err = errno;
    if (err == EEXIST && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
      err = 0;
    else if (err == EEXIST) err = ENOTDIR;
  }
  close(dirfd);
  vouch_path_free(p);
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


/* Why no browser can be shown here (no display on a Unix desktop), or NULL. */
static const char *no_display(void) {
#ifdef __APPLE__
  return NULL;
#else
  const char *x = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
  if ((x && *x) || (w && *w)) return NULL;
  return "no display to show a browser on (DISPLAY and WAYLAND_DISPLAY are not set)";
#endif
}


/*
** How the opener `pid` ended: its exit status if it ended within a few
** seconds (xdg-open exits non-zero when it finds no browser), 0 if it
** still runs (a browser it started in the foreground).
*/
static int opener_status(pid_t pid) {
  struct timespec tick = { 0, 20 * 1000 * 1000 };
  int i, st;
  for (i = 0; i < 250; i++) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0 && errno != EINTR) return 0;
    nanosleep(&tick, NULL);
  }
  return 0;
}


/*
** vouch.file.show(path) -> opener | nil, message, "ENOENT".
** Opens the file the user named with --out (and no other: a script that
** may write files must not also get to launch a browser on them) with
** xdg-open or sensible-browser, in a session of its own, without waiting
** for it longer than it takes to find a browser. The opener's name is
** returned so the command can say what it did; no display, no opener or
** an opener that found no browser is nil and why.
*/
static int file_show(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *resolved = NULL;
  const char *opener;
  char *argv[3];
  posix_spawnattr_t attr;
  pid_t pid;
  int err, status;
  const char *why;
  vouch_host_t *h = vouch_host(L);
  vouch_check_path(L, path, VOUCH_WRITE, &resolved);
  if (!h->trusted && (h->out_path == NULL || strcmp(resolved, h->out_path) != 0)) {
    free(resolved);
    return luaL_error(L, "%s: only the file named by --out can be opened", path);
  }
  if ((why = no_display()) != NULL || (opener = find_opener()) == NULL) {
    free(resolved);
    luaL_pushfail(L);
    lua_pushstring(L, why ? why : "no browser opener found (looked for xdg-open and "
                                  "sensible-browser on PATH)");
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
  if ((status = opener_status(pid)) > 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s found no browser to open it (it exited with %d)", opener, status);
    lua_pushliteral(L, "ENOENT");
    return 3;
  }
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


/*
** vouch.file.tty(["stdout" | "stderr" | "stdin"]): whether that stream is a
** terminal, so a command can print for a person there and everything when
** piped (as ls and git do).
*/
static int file_tty(lua_State *L) {
  static const char *const names[] = { "stdin", "stdout", "stderr", NULL };
  int fd = luaL_checkoption(L, 1, "stdout", names);
  lua_pushboolean(L, isatty(fd));
  return 1;
}


/*
** vouch.file.hash(path) -> hex | nil, message, code: XXH3-64 of the bytes
** of a file the sandbox lets the script read, as vouch.hash gives it of a
** text, read 64 KiB at a time (any size, in bounded memory). Processes on
** several machines tell by it that they were given the same input.
*/
static int file_hash(lua_State *L) {
  const char *path = luaL_checkstring(L, 1), *why;
  vouch_path_t *p = vouch_path_check(vouch_host(L), path, VOUCH_READ, &why);
  char hex[VOUCH_HASH_HEX];
  int fd, err;
  if (p == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (p == NULL) return luaL_error(L, "%s: %s", path, why);
  fd = vouch_path_open(p, O_RDONLY | O_CLOEXEC, 0, &why);
  err = fd < 0 ? errno : 0;
  vouch_path_free(p);
  if (fd < 0 && why != NULL) return luaL_error(L, "%s: %s", path, why);
  if (fd >= 0) {
    err = vouch_hash_fd_hex(fd, hex);
    close(fd);
  }
  if (err == ENOMEM) return luaL_error(L, "not enough memory");
  if (err != 0) return vouch_fail_errno(L, path, err);
  lua_pushstring(L, hex);
  return 1;
}


static const luaL_Reg file_funcs[] = {
  {"hash", file_hash},
  {"stdout", file_stdout},
  {"tty", file_tty},
  {"write", file_write},
  {"mkdir", file_mkdir},
  {"show", file_show},
  {NULL, NULL}
};

int luaopen_vouch_file(lua_State *L) {
  luaL_newlib(L, file_funcs);
  return 1;
}
