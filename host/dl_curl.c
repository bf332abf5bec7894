/*
** dl_curl.c: libcurl, loaded on the first call into it (see dl.h), for
** http.c and sched.c.
*/
#define CURL_DISABLE_TYPECHECK  /* its macros would rename the functions below */
#include <stdarg.h>

#include <curl/curl.h>

#include "dl.h"

#define CURL_FUNCTIONS(X, V, N) \
  X(curl, CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT) \
  V(curl, curl_global_cleanup, (void), ()) \
  X(curl, CURL *, curl_easy_init, (void), (), NULL) \
  X(curl, CURLcode, curl_easy_perform, (CURL *e), (e), CURLE_FAILED_INIT) \
  V(curl, curl_easy_reset, (CURL *e), (e)) \
  V(curl, curl_easy_cleanup, (CURL *e), (e)) \
  X(curl, const char *, curl_easy_strerror, (CURLcode c), (c), "libcurl is not loaded") \
  X(curl, CURLM *, curl_multi_init, (void), (), NULL) \
  X(curl, CURLMcode, curl_multi_add_handle, (CURLM *m, CURL *e), (m, e), CURLM_BAD_HANDLE) \
  X(curl, CURLMcode, curl_multi_remove_handle, (CURLM *m, CURL *e), (m, e), \
    CURLM_BAD_HANDLE) \
  X(curl, CURLMcode, curl_multi_assign, (CURLM *m, curl_socket_t s, void *p), (m, s, p), \
    CURLM_BAD_HANDLE) \
  X(curl, CURLMcode, curl_multi_socket_action, (CURLM *m, curl_socket_t s, int ev, int *n), \
    (m, s, ev, n), CURLM_BAD_HANDLE) \
  X(curl, CURLMsg *, curl_multi_info_read, (CURLM *m, int *n), (m, n), NULL) \
  X(curl, CURLMcode, curl_multi_cleanup, (CURLM *m), (m), CURLM_BAD_HANDLE) \
  X(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s), \
    (l, s), NULL) \
  V(curl, curl_slist_free_all, (struct curl_slist *l), (l)) \
  X(curl, CURLU *, curl_url, (void), (), NULL) \
  X(curl, CURLUcode, curl_url_get, (CURLU *u, CURLUPart w, char **p, unsigned int f), \
    (u, w, p, f), CURLUE_BAD_HANDLE) \
  X(curl, CURLUcode, curl_url_set, (CURLU *u, CURLUPart w, const char *p, unsigned int f), \
    (u, w, p, f), CURLUE_BAD_HANDLE) \
  V(curl, curl_url_cleanup, (CURLU *u), (u)) \
  V(curl, curl_free, (void *p), (p)) \
  X(curl, time_t, curl_getdate, (const char *p, const time_t *unused), (p, unused), -1) \
  N(curl, curl_easy_setopt) \
  N(curl, curl_multi_setopt) \
  N(curl, curl_easy_getinfo)

/* The ABI name: libcurl has kept it since 7.16 (2006). */
VOUCH_DL_LIBRARY(curl, "libcurl.so.4", CURL_FUNCTIONS)
VOUCH_DL_STUBS(CURL_FUNCTIONS)

/*
** The variadic ones. An option's number says the type of its argument
** (curl.h, CURLOPTTYPE_*), and curl reads it so; the multi options are
** numbered the same way. Every CURLINFO is given a pointer.
*/
#define FORWARD(rc, f, h, opt, ap) \
  if (opt < CURLOPTTYPE_OBJECTPOINT) rc = f(h, opt, va_arg(ap, long)); \
  else if (opt < CURLOPTTYPE_FUNCTIONPOINT) rc = f(h, opt, va_arg(ap, void *)); \
  else if (opt < CURLOPTTYPE_OFF_T) rc = f(h, opt, va_arg(ap, vouch_dl_fn)); \
  else if (opt < CURLOPTTYPE_BLOB) rc = f(h, opt, va_arg(ap, curl_off_t)); \
  else rc = f(h, opt, va_arg(ap, void *))

CURLcode curl_easy_setopt(CURL *e, CURLoption opt, ...) {
  CURLcode rc;
  va_list ap;
  if (vouch_dl_load(&vouch_dl_curl) != 0) return CURLE_FAILED_INIT;
  va_start(ap, opt);
  FORWARD(rc, vouch_dl_call(curl, curl_easy_setopt, CURLcode (*)(CURL *, CURLoption, ...)),
          e, opt, ap);
  va_end(ap);
  return rc;
}

CURLMcode curl_multi_setopt(CURLM *m, CURLMoption opt, ...) {
  CURLMcode rc;
  va_list ap;
  if (vouch_dl_load(&vouch_dl_curl) != 0) return CURLM_BAD_HANDLE;
  va_start(ap, opt);
  FORWARD(rc, vouch_dl_call(curl, curl_multi_setopt, CURLMcode (*)(CURLM *, CURLMoption, ...)),
          m, opt, ap);
  va_end(ap);
  return rc;
}

CURLcode curl_easy_getinfo(CURL *e, CURLINFO info, ...) {
  void *p;
  va_list ap;
  if (vouch_dl_load(&vouch_dl_curl) != 0) return CURLE_FAILED_INIT;
  va_start(ap, info);
  p = va_arg(ap, void *);
  va_end(ap);
  return vouch_dl_call(curl, curl_easy_getinfo, CURLcode (*)(CURL *, CURLINFO, ...))(e, info, p);
}
