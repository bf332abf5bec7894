/*
** test-cron.c: cron semantics. Each case is data: an expression, a zone, a
** start, and the fire times cronie would give (or the exact error).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cron.h"

/* Check the first fire times of `expr` after `from` against `want`. */
static void check_next(const char *expr, const char *tz, const char *from,
                       const char *const *want) {
  vouch_cron_t c;
  char err[256], buf[32];
  int64_t t;
  int i;
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0)
    fail_msg("%s: %s", expr, err);
  assert_int_equal(vouch_time_parse(from, tz, 0, &t), 0);
  for (i = 0; want[i]; i++) {
    assert_int_equal(vouch_cron_next(&c, tz, t, &t), 0);
    vouch_time_utc(t, buf);
    if (strcmp(buf, want[i]) != 0)
      fail_msg("%s (%s) fire %d: got %s, want %s", expr, tz ? tz : "UTC", i + 1,
               buf, want[i]);
  }
}

static void check_error(const char *expr, const char *want) {
  vouch_cron_t c;
  char err[256];
  if (vouch_cron_parse(expr, &c, err, sizeof err) == 0)
    fail_msg("%s: expected the error '%s', parsed fine", expr, want);
  if (strstr(err, want) == NULL)
    fail_msg("%s: expected '%s' in the error, got '%s'", expr, want, err);
}

#define TIMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_or_rule(void **state) {
  (void)state;
  /* Both day fields restricted: the 13th OR a Friday. */
  check_next("0 0 13 * fri", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z",
                   "2026-01-13T00:00:00Z", "2026-01-16T00:00:00Z"));
  /* A day field that starts with '*' turns the OR rule off (Vixie). */
  check_next("0 0 */2 * fri", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-09T00:00:00Z", "2026-01-23T00:00:00Z",
                   "2026-02-13T00:00:00Z"));
  /* Only the weekday restricted: every Monday. */
  check_next("0 12 * * 1", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-05T12:00:00Z", "2026-01-12T12:00:00Z"));
}

static void test_steps_ranges_lists(void **state) {
  (void)state;
  check_next("*/15 * * * *", NULL, "2026-01-01T10:07:30Z",
             TIMES("2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z",
                   "2026-01-01T10:45:00Z", "2026-01-01T11:00:00Z"));
  check_next("5-20/5 3 * * *", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-01T03:05:00Z", "2026-01-01T03:10:00Z",
                   "2026-01-01T03:15:00Z", "2026-01-01T03:20:00Z",
                   "2026-01-02T03:05:00Z"));
  check_next("0 8,12-13 * * *", NULL, "2026-01-01T09:00:00Z",
             TIMES("2026-01-01T12:00:00Z", "2026-01-01T13:00:00Z",
                   "2026-01-02T08:00:00Z"));
  /* The start itself never fires: next is strictly after. */
  check_next("0 * * * *", NULL, "2026-01-01T10:00:00Z", TIMES("2026-01-01T11:00:00Z"));
  /* 29 February: only in leap years. */
  check_next("0 0 29 2 *", NULL, "2026-01-01T00:00:00Z", TIMES("2028-02-29T00:00:00Z"));
}

static void test_names_and_nicknames(void **state) {
  (void)state;
  check_next("0 9 * JAN-mar Mon-Fri", NULL, "2026-03-27T10:00:00Z",
             TIMES("2026-03-30T09:00:00Z", "2026-03-31T09:00:00Z",
                   "2027-01-01T09:00:00Z"));
  check_next("0 0 * * 7", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-04T00:00:00Z"));            /* 7 is Sunday */
  check_next("0 0 * * 5-7", NULL, "2026-01-01T00:00:00Z",
             TIMES("2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
                   "2026-01-04T00:00:00Z", "2026-01-09T00:00:00Z"));
  check_next("@weekly", NULL, "2026-01-01T00:00:00Z", TIMES("2026-01-04T00:00:00Z"));
  check_next("@hourly", NULL, "2026-01-01T00:30:00Z", TIMES("2026-01-01T01:00:00Z"));
  check_next("@daily", NULL, "2026-01-01T00:30:00Z", TIMES("2026-01-02T00:00:00Z"));
  check_next("@monthly", NULL, "2026-01-01T00:30:00Z", TIMES("2026-02-01T00:00:00Z"));
  check_next("@yearly", NULL, "2026-01-01T00:30:00Z", TIMES("2027-01-01T00:00:00Z"));
}

static void test_intervals(void **state) {
  (void)state;
  check_next("every 15m", NULL, "2026-01-01T10:07:00Z",
             TIMES("2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z"));
  check_next("every 30s", NULL, "2026-01-01T10:07:10Z",
             TIMES("2026-01-01T10:07:30Z", "2026-01-01T10:08:00Z"));
  check_next("every 2h", "America/New_York", "2026-01-01T09:59:00Z",
             TIMES("2026-01-01T10:00:00Z", "2026-01-01T12:00:00Z"));
  check_next("every 1h30m", NULL, "2026-01-01T00:00:00Z", TIMES("2026-01-01T01:30:00Z"));
}

static void test_errors(void **state) {
  (void)state;
  check_error("61 * * * *", "minute field '61': 61 is out of range 0-59");
  check_error("* 24 * * *", "hour field '24': 24 is out of range 0-23");
  check_error("* * 0 * *", "day-of-month field '0': 0 is out of range 1-31");
  check_error("* * * foo *", "month field 'foo': unknown name 'foo'");
  check_error("* * * * 8", "day-of-week field '8': 8 is out of range 0-7");
  check_error("* * * * *  ls", "expected 5 fields");
  check_error("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
  check_error("1/5 * * * *", "minute field '1/5': a step needs a range or '*'");
  check_error("*/0 * * * *", "minute field '*/0': step 0 is out of range");
  check_error("5-1 * * * *", "minute field '5-1': range 5-1 runs backwards");
  check_error("* * L * *", "day-of-month field 'L': unexpected 'L' (L, W, # and ? are not supported)");
  check_error("* * * * mon#2", "day-of-week field 'mon#2': unexpected '#'");
  check_error("0 0 30 2 *", "never fires");
  check_error("@reboot", "@reboot: not supported");
  check_error("@often", "unknown nickname");
  check_error("every 0m", "at least 1s");
  check_error("every 5x", "unit must be s, m, h or d");
  check_error("", "expected 5 fields");
}

/*
** Daylight-saving changes as cronie handles them. A fixed-time job (no '*'
** starting the minute or hour field) in a gap runs once at the end of the
** gap, and in a repeated hour only in the first pass. A wildcard job gets no
** catch-up run for a gap, and runs in both passes of a repeated hour.
*/
static void test_dst_new_york(void **state) {
  const char *ny = "America/New_York";
  (void)state;
  /* 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z). */
  /* Fixed time in the gap: one catch-up run at 03:00 EDT. */
  check_next("30 2 * * *", ny, "2026-03-07T12:00:00Z",
             TIMES("2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"));
  /* Two fixed times in the gap still run once. */
  check_next("0,30 2 * * *", ny, "2026-03-07T12:00:00Z",
             TIMES("2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"));
  /* Wildcard hour: 02:30 does not exist and gets no catch-up. */
  check_next("30 * * * *", ny, "2026-03-08T05:00:00Z",
             TIMES("2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z",
                   "2026-03-08T07:30:00Z"));
  check_next("0 * * * *", ny, "2026-03-08T05:30:00Z",
             TIMES("2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
                   "2026-03-08T08:00:00Z"));
  /* Wildcard minute in the missing hour: nothing that day. */
  check_next("*/15 2 * * *", ny, "2026-03-07T12:00:00Z",
             TIMES("2026-03-09T06:00:00Z", "2026-03-09T06:15:00Z"));
  check_next("* * * * *", ny, "2026-03-08T06:58:00Z",
             TIMES("2026-03-08T06:59:00Z", "2026-03-08T07:00:00Z",
                   "2026-03-08T07:01:00Z"));
  /* 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00Z). */
  /* Fixed time in the repeat: the first pass only. */
  check_next("30 1 * * *", ny, "2026-10-31T12:00:00Z",
             TIMES("2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"));
  check_next("30 1 * * *", ny, "2026-11-01T06:10:00Z", TIMES("2026-11-02T06:30:00Z"));
  check_next("@daily", ny, "2026-10-31T12:00:00Z", TIMES("2026-11-01T04:00:00Z",
                                                          "2026-11-02T05:00:00Z"));
  /* Wildcard jobs: both passes. */
  check_next("0 * * * *", ny, "2026-11-01T04:30:00Z",
             TIMES("2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                   "2026-11-01T07:00:00Z"));
  check_next("@hourly", ny, "2026-11-01T05:45:00Z",   /* from inside the first pass */
             TIMES("2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"));
  check_next("*/15 1 * * *", ny, "2026-10-31T12:00:00Z",
             TIMES("2026-11-01T05:00:00Z", "2026-11-01T05:15:00Z",
                   "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z",
                   "2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z",
                   "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z",
                   "2026-11-02T06:00:00Z"));
  check_next("*/15 1 * * *", ny, "2026-11-01T06:10:00Z",  /* inside the second pass */
             TIMES("2026-11-01T06:15:00Z"));
  check_next("* * * * *", ny, "2026-11-01T05:58:00Z",
             TIMES("2026-11-01T05:59:00Z", "2026-11-01T06:00:00Z",
                   "2026-11-01T06:01:00Z"));
  /* The hour after the change is plain. */
  check_next("0 3 * * *", ny, "2026-03-07T12:00:00Z",
             TIMES("2026-03-08T07:00:00Z", "2026-03-09T07:00:00Z"));
}

static void test_dst_berlin(void **state) {
  const char *be = "Europe/Berlin";
  (void)state;
  /* 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). */
  check_next("30 2 * * *", be, "2026-03-28T12:00:00Z",
             TIMES("2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"));
  check_next("30 * * * *", be, "2026-03-29T00:00:00Z",
             TIMES("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"));
  check_next("0 * * * *", be, "2026-03-28T23:30:00Z",
             TIMES("2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z",
                   "2026-03-29T02:00:00Z"));
  check_next("*/15 2 * * *", be, "2026-03-28T12:00:00Z",
             TIMES("2026-03-30T00:00:00Z", "2026-03-30T00:15:00Z"));
  check_next("* * * * *", be, "2026-03-29T00:58:00Z",
             TIMES("2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z",
                   "2026-03-29T01:01:00Z"));
  /* 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00Z). */
  check_next("30 2 * * *", be, "2026-10-24T12:00:00Z",
             TIMES("2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"));
  /* Hourly: 02:00 happens twice (00:00Z and 01:00Z) and runs twice. */
  check_next("0 * * * *", be, "2026-10-24T23:30:00Z",
             TIMES("2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z",
                   "2026-10-25T02:00:00Z"));
  check_next("*/15 2 * * *", be, "2026-10-24T12:00:00Z",
             TIMES("2026-10-25T00:00:00Z", "2026-10-25T00:15:00Z",
                   "2026-10-25T00:30:00Z", "2026-10-25T00:45:00Z",
                   "2026-10-25T01:00:00Z", "2026-10-25T01:15:00Z",
                   "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z",
                   "2026-10-26T01:00:00Z"));
  check_next("* * * * *", be, "2026-10-25T00:58:00Z",
             TIMES("2026-10-25T00:59:00Z", "2026-10-25T01:00:00Z",
                   "2026-10-25T01:01:00Z"));
}

static void test_times(void **state) {
  int64_t t;
  char buf[64];
  (void)state;
  assert_int_equal(vouch_time_parse("2026-03-08 02:30", "America/New_York", 0, &t), 0);
  assert_string_equal(vouch_time_utc(t, buf), "2026-03-08T07:00:00Z");
  assert_int_equal(vouch_time_parse("2026-01-01T10:00:00+02:00", NULL, 0, &t), 0);
  assert_string_equal(vouch_time_utc(t, buf), "2026-01-01T08:00:00Z");
  assert_int_equal(vouch_time_parse("@86400", NULL, 0, &t), 0);
  assert_int_equal(t, 86400);
  assert_int_equal(vouch_time_parse("2026-13-01", NULL, 0, &t), -1);
  assert_int_equal(vouch_time_parse("yesterday", NULL, 0, &t), -1);
  vouch_time_local(1772953200, "America/New_York", buf, sizeof buf);
  assert_string_equal(buf, "Sun 2026-03-08 03:00:00 EDT");
  assert_int_equal(vouch_tz_check("Europe/Berlin", buf, sizeof buf), 0);
  assert_int_equal(vouch_tz_check("Mars/Olympus", buf, sizeof buf), -1);
  assert_int_equal(vouch_tz_check("../etc/passwd", buf, sizeof buf), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_or_rule),
    cmocka_unit_test(test_steps_ranges_lists),
    cmocka_unit_test(test_names_and_nicknames),
    cmocka_unit_test(test_intervals),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_dst_new_york),
    cmocka_unit_test(test_dst_berlin),
    cmocka_unit_test(test_times),
  };
  return cmocka_run_group_tests_name("cron", tests, NULL, NULL);
}
