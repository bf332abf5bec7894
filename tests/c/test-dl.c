/*
** test-dl.c: libraries loaded on first use (host/dl.c): a missing library
** or function is an error that names it, decided once; threads racing to
** load one all see the same table; the stubs reach the real libcurl,
** workbook libraries and libh2o, whose token table too; without libh2o,
** vouch.serve.listen says so.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <expat.h>

#include "dl_h2o.h"
#include "vouch.h"

static void test_missing_library(void **state) {
  static const char *const names[] = {"cos"};
  static vouch_dl_fn fns[1];
  vouch_dl_t lib = {"libvouch-absent.so.9", names, fns, 1, 0, ""};
  (void)state;
  assert_int_equal(vouch_dl_load(&lib), -1);
  assert_non_null(strstr(lib.error, "libvouch-absent.so.9"));
  assert_int_equal(vouch_dl_load(&lib), -1);  /* decided once */
}

static void test_missing_function(void **state) {
  static const char *const names[] = {"cos", "vouch_no_such_function"};
  static vouch_dl_fn fns[2];
  vouch_dl_t lib = {"libm.so.6", names, fns, 2, 0, ""};
  (void)state;
  assert_int_equal(vouch_dl_load(&lib), -1);
  assert_string_equal(lib.error, "libm.so.6: no function vouch_no_such_function (too old?)");
}

static const char *const race_names[] = {"cos", "sin"};
static vouch_dl_fn race_fns[2];
static vouch_dl_t race_lib = {"libm.so.6", race_names, race_fns, 2, 0, ""};

static void *race(void *arg) {
  (void)arg;
  return vouch_dl_load(&race_lib) == 0 && race_fns[1] != NULL ? &race_lib : NULL;
}

static void test_threads_race(void **state) {
  pthread_t t[8];
  void *r;
  int i;
  (void)state;
  for (i = 0; i < 8; i++) assert_int_equal(pthread_create(&t[i], NULL, race, NULL), 0);
  for (i = 0; i < 8; i++) {
    assert_int_equal(pthread_join(t[i], &r), 0);
    assert_ptr_equal(r, &race_lib);
  }
  assert_float_equal(((double (*)(double))race_fns[0])(0.0), 1.0, 0.0);
}

static void test_stubs_reach_libraries(void **state) {
  CURLU *u;
  char *host = NULL;
  XML_Parser p;
  (void)state;
  assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  assert_int_equal(vouch_dl_curl.state, 1);
  u = curl_url();
  assert_non_null(u);
  assert_int_equal(curl_url_set(u, CURLUPART_URL, "https://example.org:8443/x", 0), CURLUE_OK);
  assert_int_equal(curl_url_get(u, CURLUPART_HOST, &host, 0), CURLUE_OK);
  assert_string_equal(host, "example.org");
  curl_free(host);
  curl_url_cleanup(u);
  curl_global_cleanup();
  p = XML_ParserCreate(NULL);
  assert_non_null(p);
  assert_int_equal(XML_Parse(p, "<a>", 3, 1), XML_STATUS_ERROR);
  assert_int_equal(XML_GetErrorCode(p), XML_ERROR_NO_ELEMENTS);
  XML_ParserFree(p);
}

/* Before anything loads the real libh2o: it is put back as never tried. */
static void test_missing_libh2o(void **state) {
  const char *soname = vouch_dl_h2o.soname;
  vouch_opts_t o;
  vouch_host_t *h;
  (void)state;
  memset(&o, 0, sizeof o);
  o.db_path = ":memory:";
  vouch_dl_h2o.soname = "libvouch-absent.so.9";
  h = vouch_host_new(&o);
  assert_non_null(h);
  assert_int_equal(vouch_host_run_string(h,
    "local s, e, code = vouch.serve.listen{handler = print}\n"
    "assert(s == nil and code == 'ELIBACC', e)\n"
    "assert(e:find('^cannot load libh2o: libvouch%-absent%.so%.9: '), e)\n", "=serve"),
    VOUCH_EXIT_OK);
  vouch_host_free(h);
  vouch_dl_h2o.soname = soname;
  vouch_dl_h2o.state = 0;
}

static void test_stubs_reach_libh2o(void **state) {
  h2o_globalconf_t c;
  h2o_hostconf_t *hc;
  (void)state;
  h2o_config_init(&c);
  assert_int_equal(vouch_dl_h2o.state, 1);
  hc = h2o_config_register_host(&c, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  assert_non_null(hc);
  assert_non_null(h2o_create_handler(h2o_config_register_path(hc, "/", 0), sizeof(h2o_handler_t)));
  /* H2O_TOKEN_* name the loaded library's own table */
  assert_int_equal(H2O_TOKEN_COOKIE->buf.len, 6);
  assert_memory_equal(H2O_TOKEN_COOKIE->buf.base, "cookie", 6);
  assert_int_equal(H2O_TOKEN_SET_COOKIE->buf.len, 10);
  assert_memory_equal(H2O_TOKEN_SET_COOKIE->buf.base, "set-cookie", 10);
  h2o_config_dispose(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_missing_library),
    cmocka_unit_test(test_missing_function),
    cmocka_unit_test(test_threads_race),
    cmocka_unit_test(test_stubs_reach_libraries),
    cmocka_unit_test(test_missing_libh2o),
    cmocka_unit_test(test_stubs_reach_libh2o),
  };
  return cmocka_run_group_tests_name("dl", tests, NULL, NULL);
}
