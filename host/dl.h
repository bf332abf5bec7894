/*
** dl.h: libraries loaded on first use.
**
** libcurl and the thirty libraries behind it (TLS, Kerberos, LDAP), libpq
** with much the same behind it, the workbook libraries with libcrypto
** behind them, and libh2o with libssl, libcrypto and libwslay, cost more
** to map and relocate than the rest of a start together, and most runs use
** none of them. Such a library is not linked: a file of stubs (dl_curl.c,
** dl_pq.c, dl_xlsx.c, dl_h2o.c) defines each
** function the host calls, under the library's own name, so the callers
** are unchanged; data that a header's macros name (libh2o's token table)
** is reached through an accessor the macro is pointed at (dl_h2o.h). The
** first call of any of them loads the library (from any thread) and
** resolves the whole table with dlsym; the library is never unloaded. The
** executable does not export the stubs, so a loaded library still calls
** its own functions.
**
** Before a library is loaded nothing can hold one of its objects, so a stub
** that cannot load it returns what the function returns when it fails (a
** void one does nothing). A caller that wants to say why checks
** vouch_dl_load first and reports lib->error.
*/
#ifndef VOUCH_DL_H
#define VOUCH_DL_H

typedef void (*vouch_dl_fn)(void);

typedef struct vouch_dl {
  const char *soname;        /* what dlopen is given: "libcurl.so.4" */
  const char *const *names;  /* the functions to resolve, n of them */
  vouch_dl_fn *fns;          /* where they go, in the same order */
  int n;
  _Atomic int state;         /* 0 not tried; 1 loaded; -1 failed */
  char error[256];           /* why it failed: "libcurl.so.4: cannot open ..." */
} vouch_dl_t;

extern vouch_dl_t vouch_dl_curl, vouch_dl_expat, vouch_dl_minizip, vouch_dl_xlsxwriter,
    vouch_dl_h2o, vouch_dl_pq;

/* Loads lib unless tried before; 0 when its functions can be called, -1
** when the library or one of its functions is missing (lib->error says
** which). The first call decides for the whole process. */
int vouch_dl_load(vouch_dl_t *lib);

/*
** For the stub files. LIST(X, V, N) names a library's functions:
**   X(lib, return type, name, (parameters), (arguments), value on failure)
**   V(lib, name, (parameters), (arguments))          for a void function
**   N(lib, name)      one whose stub is written by hand, or a data symbol
** VOUCH_DL_LIBRARY(lib, soname, LIST) defines vouch_dl_<lib> and its
** table; VOUCH_DL_STUBS(LIST) the functions. vouch_dl_call(lib, name, type)
** is name's entry in the table as a pointer of that type.
*/
#define VOUCH_DL_ENUM_X(lib, r, name, ...) lib##_##name,
#define VOUCH_DL_ENUM_V(lib, name, ...) lib##_##name,
#define VOUCH_DL_NAME_X(lib, r, name, ...) #name,
#define VOUCH_DL_NAME_V(lib, name, ...) #name,
#define VOUCH_DL_NONE(...)
#define VOUCH_DL_LIBRARY(lib, soname, LIST) \
  enum { LIST(VOUCH_DL_ENUM_X, VOUCH_DL_ENUM_V, VOUCH_DL_ENUM_V) lib##_n }; \
  static const char *const lib##_names[lib##_n] = { \
    LIST(VOUCH_DL_NAME_X, VOUCH_DL_NAME_V, VOUCH_DL_NAME_V) }; \
  static vouch_dl_fn lib##_fns[lib##_n]; \
  vouch_dl_t vouch_dl_##lib = { soname, lib##_names, lib##_fns, lib##_n, 0, "" };

#define vouch_dl_call(lib, name, type) ((type)lib##_fns[lib##_##name])

#define VOUCH_DL_STUB_X(lib, r, name, params, args, fail) \
  r name params { \
    if (vouch_dl_load(&vouch_dl_##lib) != 0) return fail; \
    return vouch_dl_call(lib, name, r (*) params) args; \
  }
#define VOUCH_DL_STUB_V(lib, name, params, args) \
  void name params { \
    if (vouch_dl_load(&vouch_dl_##lib) == 0) vouch_dl_call(lib, name, void (*) params) args; \
  }
#define VOUCH_DL_STUBS(LIST) LIST(VOUCH_DL_STUB_X, VOUCH_DL_STUB_V, VOUCH_DL_NONE)

#endif
