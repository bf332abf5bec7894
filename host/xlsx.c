/*
** xlsx.c: luaopen_vouch_xlsx, writing Excel workbooks with libxlsxwriter.
**
**   local wb = vouch.xlsx.new(path)      -- checked against --allow-write now
**   local sh = wb:sheet("Ranking")
**   sh:header({"#", "partner", ...})     -- bold, frozen above the rows
**   sh:row({1, "p1", 0.82, true})        -- numbers, text, booleans; nil empty
**   sh:widths({4, 12, ...})
**   assert(wb:close())                   -- true, or nil, message, code
**
** Rows go out as they are given (libxlsxwriter's constant-memory mode keeps
** one row per sheet in memory and the rest in a temporary file), so a
** workbook of a million partners takes no more memory than one of ten. The
** workbook is built in a temporary file and, at close, copied beside `path`
** and renamed into place through the directory opened beneath the grant,
** as vouch.file.write does: nothing half-written is ever at `path`. A
** workbook collected without close() leaves nothing behind.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "vouch.h"
#include "dl.h"

#define WORKBOOK_MT "vouch.xlsx.workbook"
#define SHEET_MT "vouch.xlsx.sheet"

typedef struct xwb {
  lxw_workbook *wb;         /* NULL once closed */
  lxw_format *bold;         /* owned by wb */
  char *path;               /* where it goes; owned */
  char tmp[64];             /* the temporary it is built in */
  int nsheets;
} xwb;

typedef struct xsheet {
  lxw_worksheet *ws;        /* owned by the workbook */
  lxw_row_t next;           /* the next row to write */
  int wbref;                /* registry ref keeping the workbook alive */
} xsheet;


static xwb *check_wb(lua_State *L) {
  xwb *w = luaL_checkudata(L, 1, WORKBOOK_MT);
  if (w->wb == NULL) luaL_error(L, "attempt to use a closed workbook");
  return w;
}


/* vouch.xlsx.new(path): a workbook to be written at `path`. */
static int xlsx_new(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lxw_workbook_options opts = {LXW_TRUE, NULL, LXW_FALSE};
  const char *why;
  const char *dir = getenv("TMPDIR");
  vouch_path_t *p = vouch_path_check(vouch_host(L), path, VOUCH_WRITE, &why);
  xwb *w;
  int fd;
  if (p == NULL && why == NULL) return luaL_error(L, "not enough memory");
  if (p == NULL) return luaL_error(L, "%s: %s", path, why);
  vouch_path_free(p);
  if (vouch_dl_load(&vouch_dl_xlsxwriter) != 0)
    return luaL_error(L, "cannot write workbooks: %s", vouch_dl_xlsxwriter.error);
  w = lua_newuserdatauv(L, sizeof *w, 0);
  memset(w, 0, sizeof *w);
  luaL_setmetatable(L, WORKBOOK_MT);
  if (dir == NULL || *dir == '\0' || strlen(dir) > 40) dir = "/tmp";
  snprintf(w->tmp, sizeof w->tmp, "%s/vouch-xlsx-XXXXXX", dir);
  if ((fd = mkstemp(w->tmp)) < 0) {
    w->tmp[0] = '\0';
    return vouch_fail_errno(L, path, errno);
  }
  close(fd);
  if ((w->path = strdup(path)) == NULL) return luaL_error(L, "not enough memory");
  w->wb = workbook_new_opt(w->tmp, &opts);
  if (w->wb == NULL) return luaL_error(L, "%s: cannot start a workbook", path);
  w->bold = workbook_add_format(w->wb);
  format_set_bold(w->bold);
  return 1;
}


/* wb:sheet(name): a new sheet, last in the workbook. */
static int wb_sheet(lua_State *L) {
  xwb *w = check_wb(L);
  const char *name = luaL_checkstring(L, 2);
  lxw_error err = workbook_validate_sheet_name(w->wb, name);
  xsheet *s;
  if (err != LXW_NO_ERROR)
    return luaL_argerror(L, 2, lua_pushfstring(L, "sheet name '%s': %s", name, lxw_strerror(err)));
  s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  s->wbref = LUA_NOREF;
  luaL_setmetatable(L, SHEET_MT);
  s->ws = workbook_add_worksheet(w->wb, name);
  if (s->ws == NULL) return luaL_error(L, "not enough memory");
  lua_pushvalue(L, 1);
  s->wbref = luaL_ref(L, LUA_REGISTRYINDEX);
  w->nsheets++;
  return 1;
}


static xsheet *check_sheet(lua_State *L) {
  xsheet *s = luaL_checkudata(L, 1, SHEET_MT);
  xwb *w;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->wbref);
  w = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (w == NULL || w->wb == NULL) luaL_error(L, "attempt to use a sheet of a closed workbook");
  return s;
}


static lxw_format *bold_of(lua_State *L, xsheet *s) {
  xwb *w;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->wbref);
  w = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return w->bold;
}


/* Write the array at index 2 as the next row, in `fmt`. */
static int put_row(lua_State *L, xsheet *s, lxw_format *fmt) {
  lua_Integer n, i;
  luaL_checktype(L, 2, LUA_TTABLE);
  n = lua_isnoneornil(L, 3) ? (lua_Integer)lua_rawlen(L, 2) : luaL_checkinteger(L, 3);
  if (n > LXW_COL_MAX) return luaL_argerror(L, 2, "more columns than a sheet can have");
  if (s->next >= LXW_ROW_MAX) return luaL_error(L, "more rows than a sheet can have (%d)",
                                                (int)LXW_ROW_MAX);
  for (i = 1; i <= n; i++) {
    lxw_error err = LXW_NO_ERROR;
    lxw_col_t col = (lxw_col_t)(i - 1);
    switch (lua_rawgeti(L, 2, i)) {
      case LUA_TNIL: break;
      case LUA_TNUMBER:
        err = worksheet_write_number(s->ws, s->next, col, lua_tonumber(L, -1), fmt);
        break;
      case LUA_TBOOLEAN:
        err = worksheet_write_boolean(s->ws, s->next, col, lua_toboolean(L, -1), fmt);
        break;
      case LUA_TSTRING: {
        size_t len;
        const char *t = lua_tolstring(L, -1, &len);
        if (len == 0) break;
        if (strlen(t) != len) return luaL_error(L, "cell %d: text with a NUL byte", (int)i);
        err = worksheet_write_string(s->ws, s->next, col, t, fmt);
        break;
      }
      default:
        return luaL_argerror(L, 2, lua_pushfstring(L, "cell %d: number, string, boolean or nil "
                             "expected, got %s", (int)i, luaL_typename(L, -1)));
    }
    lua_pop(L, 1);
    if (err != LXW_NO_ERROR) return luaL_error(L, "cell %d: %s", (int)i, lxw_strerror(err));
  }
  s->next++;
  return 0;
}


/* sh:row(values [, n]): the next row; values[1..n] (n defaults to #values). */
static int sheet_row(lua_State *L) {
  xsheet *s = check_sheet(L);
  put_row(L, s, NULL);
  return 0;
}


/* sh:header(names): the next row in bold, the rows below it scrolling under it. */
static int sheet_header(lua_State *L) {
  xsheet *s = check_sheet(L);
  lxw_row_t at = s->next;
  put_row(L, s, bold_of(L, s));
  worksheet_freeze_panes(s->ws, at + 1, 0);
  return 0;
}


/* sh:widths({w1, w2, ...}): column widths in characters. */
static int sheet_widths(lua_State *L) {
  xsheet *s = check_sheet(L);
  lua_Integer i, n;
  luaL_checktype(L, 2, LUA_TTABLE);
  n = (lua_Integer)lua_rawlen(L, 2);
  for (i = 1; i <= n && i <= LXW_COL_MAX; i++) {
    lua_rawgeti(L, 2, i);
    if (lua_isnumber(L, -1))
      worksheet_set_column(s->ws, (lxw_col_t)(i - 1), (lxw_col_t)(i - 1), lua_tonumber(L, -1), NULL);
    lua_pop(L, 1);
  }
  return 0;
}


static int sheet_gc(lua_State *L) {
  xsheet *s = luaL_checkudata(L, 1, SHEET_MT);
  luaL_unref(L, LUA_REGISTRYINDEX, s->wbref);
  s->wbref = LUA_NOREF;
  return 0;
}


/*
** Copy the finished temporary to `path`: into a temporary beside it,
** renamed into place, through the directory opened beneath the grant.
** 0, or an errno.
*/
static int install(lua_State *L, xwb *w, const char **why) {
  vouch_path_t *p = vouch_path_check(vouch_host(L), w->path, VOUCH_WRITE, why);
  const char *base;
  char *tmp = NULL, buf[65536];
  int dirfd = -1, in = -1, out = -1, err = 0;
  struct stat st;
  if (p == NULL) return *why ? EACCES : ENOMEM;
  *why = NULL;
  if ((dirfd = vouch_path_open_dir(p, &base, why)) < 0) { err = *why ? EACCES : errno; goto done; }
  if ((tmp = malloc(strlen(base) + 32)) == NULL) { err = ENOMEM; goto done; }
  sprintf(tmp, "%s.tmp%ld", base, (long)getpid());
  if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) { err = EISDIR; goto done; }
  if ((in = open(w->tmp, O_RDONLY | O_CLOEXEC)) < 0) { err = errno; goto done; }
  out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (out < 0) { err = errno; goto done; }
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf), off = 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    if (n == 0) break;
    while (off < n && err == 0) {
      ssize_t m = write(out, buf + off, (size_t)(n - off));
      if (m >= 0) off += m;
      else if (errno != EINTR) err = errno;
    }
    if (err) break;
  }
  if (close(out) != 0 && err == 0) err = errno;
  out = -1;
  if (err == 0 && renameat(dirfd, tmp, dirfd, base) != 0) err = errno;
  if (err != 0) unlinkat(dirfd, tmp, 0);
done:
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (dirfd >= 0) close(dirfd);
  free(tmp);
  vouch_path_free(p);
  return err;
}


/* Close the workbook (writing it out) and remove the temporary. */
static lxw_error finish(xwb *w) {
  lxw_error err = LXW_NO_ERROR;
  if (w->wb) {
    if (w->nsheets == 0) workbook_add_worksheet(w->wb, NULL);  /* a workbook needs one */
    err = workbook_close(w->wb);
    w->wb = NULL;
  }
  return err;
}


/* wb:close(): write the workbook to its path. true, or nil, message, code. */
static int wb_close(lua_State *L) {
  xwb *w = check_wb(L);
  const char *why = NULL;
  lxw_error lerr = finish(w);
  int err;
  if (lerr != LXW_NO_ERROR) {
    unlink(w->tmp);
    w->tmp[0] = '\0';
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", w->path, lxw_strerror(lerr));
    lua_pushliteral(L, "EIO");
    return 3;
  }
  err = install(L, w, &why);
  unlink(w->tmp);
  w->tmp[0] = '\0';
  if (why) return luaL_error(L, "%s: %s", w->path, why);
  if (err) return vouch_fail_errno(L, w->path, err);
  lua_pushboolean(L, 1);
  return 1;
}


static int wb_gc(lua_State *L) {
  xwb *w = luaL_checkudata(L, 1, WORKBOOK_MT);
  finish(w);
  if (w->tmp[0]) unlink(w->tmp);
  w->tmp[0] = '\0';
  free(w->path);
  w->path = NULL;
  return 0;
}


int luaopen_vouch_xlsx(lua_State *L) {
  static const luaL_Reg wb_methods[] = {{"sheet", wb_sheet}, {"close", wb_close}, {NULL, NULL}};
  static const luaL_Reg sheet_methods[] = {
    {"row", sheet_row}, {"header", sheet_header}, {"widths", sheet_widths}, {NULL, NULL}
  };
  static const luaL_Reg funcs[] = {{"new", xlsx_new}, {NULL, NULL}};
  luaL_newmetatable(L, WORKBOOK_MT);
  luaL_newlib(L, wb_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, wb_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, SHEET_MT);
  luaL_newlib(L, sheet_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, sheet_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}
