/*
** test-loop.c: the loop's lifetimes. Each test runs a script through the
** host, then closes the Lua state the way vouch_host_free does and asserts
** that no libuv handle is left open and that uv_loop_close succeeds:
** timers, polls and idles were all closed by their owners, not by the
** host's last-resort walk.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "vouch.h"

static void count_open(uv_handle_t *handle, void *arg) {
  if (!uv_is_closing(handle)) (*(int *)arg)++;
}


/* Run `code`; return its exit status and check the loop closes clean. */
static int run_clean(const char *code, const char *allow_net) {
  vouch_opts_t o;
  vouch_host_t *h;
  int status, open = 0;
  memset(&o, 0, sizeof o);
  o.timeout = 60;
  o.allow_net = allow_net;
  h = vouch_host_new(&o);
  assert_non_null(h);
  status = vouch_host_run_string(h, code, "=test");
  /* What vouch_host_free does, with the checks in between. */
  vouch_limits_disarm(h);
  h->max_memory = 0;
  lua_close(h->L);
  uv_walk(&h->loop, count_open, &open);
  assert_int_equal(open, 0);
  assert_int_equal(uv_run(&h->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  vouch_list_free(&h->allow_read);
  vouch_list_free(&h->allow_write);
  vouch_list_free(&h->allow_net);
  free(h->db_path);
  free(h->script_dir);
  free(h);
  return status;
}


static void test_tasks_close_clean(void **state) {
  (void)state;
  assert_int_equal(run_clean(
    "local t = vouch.spawn(function() vouch.sleep(60000) end)\n"
    "assert(vouch.all{function() vouch.sleep(1) return 1 end, function() return 2 end} == 1)\n"
    "assert(vouch.race{function() vouch.sleep(60000) end, function() return 'w' end} == 'w')\n"
    "assert(vouch.sleep(60000, {timeout = 1}) == nil)\n"
    "local co = coroutine.wrap(function() vouch.sleep(60000, {timeout = 1}) end)\n"
    "co()\n"
    "t:cancel()\n", NULL), VOUCH_EXIT_OK);
}


static void test_failed_run_closes_clean(void **state) {
  (void)state;
  assert_int_equal(run_clean(
    "for i = 1, 10 do vouch.spawn(function() vouch.sleep(60000, {timeout = 50000}) end) end\n"
    "vouch.sleep(1)\n"
    "error('failing with work pending')\n", NULL), VOUCH_EXIT_SCRIPT);
}


static void test_blocked_run_closes_clean(void **state) {
  (void)state;
  assert_int_equal(run_clean(
    "local a, b\n"
    "a = vouch.spawn(function() vouch.sleep(1) assert(b:wait{timeout = 20} == nil) end)\n"
    "b = vouch.spawn(function() vouch.sleep(1) a:wait() end)\n"
    "vouch.sleep(5)\n", NULL), VOUCH_EXIT_OK);
  assert_int_equal(run_clean(
    "local a, b\n"
    "a = vouch.spawn(function() vouch.sleep(1) b:wait() end)\n"
    "b = vouch.spawn(function() vouch.sleep(1) a:wait() end)\n"
    "a:wait()\n", NULL), VOUCH_EXIT_SCRIPT);
}


static void test_exit_closes_clean(void **state) {
  (void)state;
  assert_int_equal(run_clean(
    "vouch.spawn(function() vouch.sleep(60000) end)\n"
    "vouch.sleep(1)\n"
    "vouch.exit(4)\n", NULL), 4);
}


/*
** HTTP without the test server: a port nobody listens on (refused), and a
** socket that listens but never accepts (the request stalls and times out,
** or is left in flight when the run ends).
*/
static void test_http_closes_clean(void **state) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), refused;
  char code[2048];
  (void)state;
  assert_true(fd >= 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 64), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  /* a second socket, bound and closed: its port refuses connections */
  {
    struct sockaddr_in b;
    socklen_t blen = sizeof b;
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    memset(&b, 0, sizeof b);
    b.sin_family = AF_INET;
    b.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd2, (struct sockaddr *)&b, sizeof b), 0);
    assert_int_equal(getsockname(fd2, (struct sockaddr *)&b, &blen), 0);
    refused = ntohs(b.sin_port);
    close(fd2);
  }
  snprintf(code, sizeof code,
    "local r, msg, c = vouch.http.get('http://127.0.0.1:%d/')\n"
    "assert(r == nil and c == 'ECONNREFUSED', msg)\n"
    "r, msg, c = vouch.http.get('http://127.0.0.1:%d/', {timeout = 50})\n"
    "assert(r == nil and c == 'ETIMEDOUT', msg)\n"
    "vouch.http.limit(1)\n"
    "for i = 1, 3 do vouch.spawn(function() vouch.http.get('http://127.0.0.1:%d/') end) end\n"
    "vouch.sleep(20)\n"
    "vouch.exit(0)\n", refused, ntohs(a.sin_port), ntohs(a.sin_port));
  assert_int_equal(run_clean(code, "127.0.0.1"), VOUCH_EXIT_OK);
  close(fd);
}


int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tasks_close_clean),
    cmocka_unit_test(test_failed_run_closes_clean),
    cmocka_unit_test(test_blocked_run_closes_clean),
    cmocka_unit_test(test_exit_closes_clean),
    cmocka_unit_test(test_http_closes_clean),
  };
  return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
