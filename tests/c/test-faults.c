/*
** test-faults.c: the host under faults a fuzzer or a long-lived process
** met: signals arriving after a host is gone, hosts made and freed in a
** loop. Each test ends with every host freed and the process intact.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vouch.h"

static volatile sig_atomic_t alarms;
static void count_alarm(int sig) { (void)sig; alarms++; }

static vouch_host_t *timed_host(void) {
  vouch_opts_t o;
  memset(&o, 0, sizeof o);
  o.timeout = 30;
  o.db_path = ":memory:";
  return vouch_host_new(&o);
}

/*
** Found by fuzz_csv: the time limit's SIGALRM handler kept a pointer to the
** last host, so an alarm after vouch_host_free used freed memory, and the
** process's own SIGALRM handler (libFuzzer's) was gone for good.
*/
static void test_alarm_after_host_free(void **state) {
  struct sigaction sa, old;
  vouch_host_t *h;
  (void)state;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = count_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  alarms = 0;
  h = timed_host();
  assert_non_null(h);
  assert_int_equal(vouch_host_run_string(h, "local x = 1", "=t"), VOUCH_EXIT_OK);
  vouch_host_free(h);
  raise(SIGALRM);
  assert_int_equal(alarms, 1);   /* ours again, and no freed host touched */
  sigaction(SIGALRM, &old, NULL);
}

/*
** Found by fuzz_csv too: any SIGALRM during a run (libFuzzer's timer, a
** library's alarm(), kill -ALRM) ended the script as "time limit exceeded"
** although its deadline was far away. A stray alarm now goes to the
** handler that was there before and the script carries on.
*/
static void test_stray_alarm_is_not_a_timeout(void **state) {
  struct sigaction sa, old;
  vouch_host_t *h;
  (void)state;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = count_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &old);
  alarms = 0;
  h = timed_host();
  assert_non_null(h);
  {
    struct itimerval every = {{0, 10000}, {0, 10000}}, off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_REAL, &every, NULL);   /* SIGALRM every 10 ms */
    assert_int_equal(vouch_host_run_string(h,
      "local n = 0\n"
      "for i = 1, 10 do vouch.sleep(20); n = n + 1 end\n"
      "assert(n == 10)", "=t"), VOUCH_EXIT_OK);
    setitimer(ITIMER_REAL, &off, NULL);
  }
  assert_true(alarms > 0);   /* they came, and went to the old handler */
  vouch_host_free(h);
  sigaction(SIGALRM, &old, NULL);
}

/* Many hosts in one process, each with a limit: no handler or thread left over. */
static void test_hosts_in_a_loop(void **state) {
  int i;
  (void)state;
  for (i = 0; i < 50; i++) {
    vouch_host_t *h = timed_host();
    assert_non_null(h);
    assert_int_equal(vouch_host_run_string(h, "vouch.spawn(function() vouch.sleep(1) end)", "=t"),
                     VOUCH_EXIT_OK);
    vouch_host_free(h);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alarm_after_host_free),
    cmocka_unit_test(test_stray_alarm_is_not_a_timeout),
    cmocka_unit_test(test_hosts_in_a_loop),
  };
  return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
