/*
** fuzz_cron.c: the cron parser and next-fire search, and time parsing, on
** arbitrary text. The input is up to four lines: an expression, a zone, a
** time as text, and a start in Unix seconds (as vouch.cron.next takes from
** a script). Whatever the text, nothing may crash or overflow, a fire time
** must lie after its start, and in UTC it must match the expression.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vouch.h"
#include "cron.h"

/* The next line of `*p` (up to `end`), NUL-terminated in `buf`. */
static const char *line(const char **p, const char *end, char *buf, size_t n) {
  size_t k = 0;
  while (*p < end && **p != '\n') {
    if (k + 1 < n) buf[k++] = **p;
    (*p)++;
  }
  if (*p < end) (*p)++;
  buf[k] = '\0';
  return buf;
}

/* In UTC a fire time falls on a whole minute the expression allows. */
static void check_utc(const vouch_cron_t *c, int64_t t) {
  struct tm tm;
  time_t tt = (time_t)t;
  int dom, dow, day;
  if (c->interval > 0) {
    if (t % c->interval != 0) abort();
    return;
  }
  if (gmtime_r(&tt, &tm) == NULL) abort();
  dom = (c->dom >> tm.tm_mday) & 1;
  dow = (c->dow >> tm.tm_wday) & 1;
  day = (c->dom_star || c->dow_star) ? dom && dow : dom || dow;
  if (tm.tm_sec != 0 || !((c->minute >> tm.tm_min) & 1) || !((c->hour >> tm.tm_hour) & 1)
      || !((c->month >> (tm.tm_mon + 1)) & 1) || !day)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  char expr[512], tz[128], when[128], from_s[64], err[256], buf[64];
  vouch_cron_t c;
  int64_t from, next, t;
  char *e;
  line(&p, end, expr, sizeof expr);
  line(&p, end, tz, sizeof tz);
  line(&p, end, when, sizeof when);
  line(&p, end, from_s, sizeof from_s);
  if (vouch_tz_check(tz, err, sizeof err) != 0) tz[0] = '\0';
  if (vouch_time_parse(when, tz[0] ? tz : NULL, 1700000000, &t) == 0) {
    vouch_time_utc(t, buf);
    vouch_time_local(t, tz[0] ? tz : NULL, buf, sizeof buf);
  } else {
    t = 1700000000;
  }
  from = strtoll(from_s, &e, 10);
  if (e == from_s) from = t;
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0) {
    if (memchr(err, '\0', sizeof err) == NULL) abort();
    return 0;
  }
  if (vouch_cron_next(&c, NULL, from, &next) == 0) {
    if (next <= from) abort();
    check_utc(&c, next);
    vouch_time_utc(next, buf);
  }
  if (tz[0] && vouch_cron_next(&c, tz, from, &next) == 0) {
    if (next <= from) abort();
    vouch_time_local(next, tz, buf, sizeof buf);
  }
  return 0;
}
