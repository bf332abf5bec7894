/*
** test-host.c: the host's C interface: sizes, capabilities, and a host's
** whole life (create, run, free) ending with the loop closed clean.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vouch.h"

static void test_parse_size(void **state) {
  size_t n;
  (void)state;
  assert_int_equal(vouch_parse_size("64M", &n), 0);
  assert_int_equal(n, 64u << 20);
  assert_int_equal(vouch_parse_size("1GiB", &n), 0);
  assert_int_equal(n, 1u << 30);
  assert_int_equal(vouch_parse_size("512k", &n), 0);
  assert_int_equal(n, 512u << 10);
  assert_int_equal(vouch_parse_size("1000", &n), 0);
  assert_int_equal(n, 1000);
  assert_int_equal(vouch_parse_size("lots", &n), -1);
  assert_int_equal(vouch_parse_size("-1M", &n), -1);
  assert_int_equal(vouch_parse_size("3Q", &n), -1);
}

static vouch_host_t *host(const char *read, const char *write) {
  vouch_opts_t o;
  memset(&o, 0, sizeof o);
  o.allow_read = read;
  o.allow_write = write;
  o.db_path = "/tmp/vouch-test-host.db";
  return vouch_host_new(&o);
}

static void test_capabilities(void **state) {
  vouch_host_t *h = host("/usr/share", "/tmp/vouch-cap");
  char *r = NULL;
  (void)state;
  mkdir("/tmp/vouch-cap", 0700);
  assert_non_null(h);
  assert_true(vouch_allowed(h, "/usr/share/../share/doc", VOUCH_READ, &r));
  assert_string_equal(r, "/usr/share/doc");
  free(r);
  /* `..` is resolved before the check */
  assert_false(vouch_allowed(h, "/usr/share/../bin/sh", VOUCH_READ, NULL));
  assert_false(vouch_allowed(h, "/usr/share/x", VOUCH_WRITE, NULL));
  /* a prefix of a name is not a directory prefix */
  assert_false(vouch_allowed(h, "/usr/shared", VOUCH_READ, NULL));
  /* write implies read; files that do not exist yet are allowed by parent */
  assert_true(vouch_allowed(h, "/tmp/vouch-cap/new.db", VOUCH_READ, NULL));
  assert_true(vouch_allowed(h, "/tmp/vouch-cap/new.db", VOUCH_WRITE, NULL));
  /* the database and its companions are reachable only through vouch.db,
  ** and their names grant nothing beside them */
  assert_false(vouch_allowed(h, "/tmp/vouch-test-host.db", VOUCH_WRITE, NULL));
  assert_false(vouch_allowed(h, "/tmp/vouch-test-host.db-wal", VOUCH_WRITE, NULL));
  assert_false(vouch_allowed(h, "/tmp/vouch-test-host.db-x", VOUCH_WRITE, NULL));
  assert_false(vouch_allowed(h, "/tmp/vouch-test-host.dbx", VOUCH_WRITE, NULL));
  assert_false(vouch_net_allowed(h, "example.org"));
  vouch_host_free(h);
}

static void test_symlink_escape(void **state) {
  char dir[] = "/tmp/vouch-test-XXXXXX", link[64], inside[64];
  vouch_host_t *h;
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(inside, sizeof inside, "%s/in", dir);
  snprintf(link, sizeof link, "%s/in/etc", dir);
  assert_int_equal(mkdir(inside, 0700), 0);
  assert_int_equal(symlink("/etc", link), 0);
  h = host(inside, NULL);
  assert_non_null(h);
  snprintf(link, sizeof link, "%s/in/etc/passwd", dir);
  assert_false(vouch_allowed(h, link, VOUCH_READ, NULL));
  vouch_host_free(h);
  snprintf(link, sizeof link, "%s/in/etc", dir);
  unlink(link);
  rmdir(inside);
  rmdir(dir);
}

static void test_run_and_close_clean(void **state) {
  vouch_host_t *h = host(NULL, NULL);
  (void)state;
  assert_non_null(h);
  assert_int_equal(vouch_host_run_string(h,
    "local t = vouch.spawn(function(x) vouch.sleep(5) return x end, 3)\n"
    "assert(t:wait() == 3)\n", "=test"), VOUCH_EXIT_OK);
  assert_int_equal(vouch_host_run_string(h, "error('x')", "=test"), VOUCH_EXIT_SCRIPT);
  vouch_host_free(h);  /* warns if the loop does not close clean */
}

static void test_limits_reset_between_runs(void **state) {
  vouch_host_t *h = host(NULL, NULL);
  (void)state;
  assert_non_null(h);
  h->timeout = 0.2;
  assert_int_equal(vouch_host_run_string(h, "while true do end", "=spin"), VOUCH_EXIT_LIMIT);
  h->timeout = 0;
  assert_int_equal(vouch_host_run_string(h, "local x = 1", "=calm"), VOUCH_EXIT_OK);
  vouch_host_free(h);
}

/* Found by fuzz_sandbox: tasks abandoned by a failed run must not make the
** next run in the same host report them as blocked forever. */
static void test_abandoned_tasks_do_not_leak_into_next_run(void **state) {
  vouch_host_t *h = host(NULL, NULL);
  (void)state;
  assert_non_null(h);
  assert_int_equal(vouch_host_run_string(h,
    "for i = 1, 50 do vouch.spawn(function() vouch.sleep(i % 3) end) end\n"
    "prnit('x')\n", "=fails"), VOUCH_EXIT_SCRIPT);
  assert_int_equal(vouch_host_run_string(h, "vouch.sleep(1)", "=next"), VOUCH_EXIT_OK);
  vouch_host_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_size),
    cmocka_unit_test(test_capabilities),
    cmocka_unit_test(test_symlink_escape),
    cmocka_unit_test(test_run_and_close_clean),
    cmocka_unit_test(test_limits_reset_between_runs),
    cmocka_unit_test(test_abandoned_tasks_do_not_leak_into_next_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
