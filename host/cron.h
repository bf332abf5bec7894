/*
** cron.h: cron expressions, intervals, and times in named zones.
**
** A schedule's expression is five cron fields with Vixie/cronie semantics,
** an @-nickname, or a plain interval ("every 15m"). vouch_cron_next gives the
** first fire time strictly after a moment, in UTC or an IANA zone.
*/
#ifndef VOUCH_CRON_H
#define VOUCH_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct vouch_cron {
  uint64_t minute;          /* bit m set: minute m (0-59) matches */
  uint32_t hour;            /* bits 0-23 */
  uint32_t dom;             /* bits 1-31 */
  uint16_t month;           /* bits 1-12 */
  uint8_t dow;              /* bits 0-6, Sunday = 0 (7 is folded into 0) */
  int dom_star, dow_star;   /* the field began with '*': Vixie's OR rule is off */
  int wild;                 /* the minute or hour field began with '*' (cronie's
                               "wildcard job"): see vouch_cron_next on DST */
  int64_t interval;         /* seconds for "every N", 0 for a cron expression */
} vouch_cron_t;

/* Parse `expr`; 0 on success, -1 with a message naming the field in `err`. */
int vouch_cron_parse(const char *expr, vouch_cron_t *c, char *err, size_t errlen);

/*
** The first fire time strictly after `from` (Unix seconds) with wall times
** read in `tz` (NULL or "UTC": UTC). Daylight-saving changes follow cronie:
** a fixed-time job (minute and hour fields without '*') whose wall time falls
** in a gap fires once at the end of the gap, and one whose wall time happens
** twice fires at the first occurrence only; a wildcard job ("0 * * * *",
** a step on "*" in the minute field) skips the times in a gap and fires at both occurrences of a
** repeated time. Returns 0, or -1 if the expression never fires within
** eight years.
*/
int vouch_cron_next(const vouch_cron_t *c, const char *tz, int64_t from, int64_t *next);

/* The same for an expression not yet parsed: 0, or -1 when it does not
** parse or never fires again. */
int vouch_cron_next_of(const char *expr, const char *tz, int64_t from, int64_t *next);

/* 0 if `tz` names an installed IANA zone (or is UTC), else -1 and a message. */
int vouch_tz_check(const char *tz, char *err, size_t errlen);

/* Keep `tz` in force until vouch_tz_release, so that many vouch_cron_next
** calls in that zone do not each switch zones (they still work without). */
void vouch_tz_hold(const char *tz);
void vouch_tz_release(void);

/*
** Parse a time: "now", Unix seconds ("@1700000000"), or
** "YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM]"; without a zone suffix it is a wall
** time in `tz`. Returns 0 or -1.
*/
int vouch_time_parse(const char *s, const char *tz, int64_t now, int64_t *out);

/* Write `t` as "YYYY-MM-DDTHH:MM:SSZ" (buf of at least 21 bytes). */
char *vouch_time_utc(int64_t t, char *buf);

/* Write `t` as the wall time in `tz`: "Sun 2026-03-08 03:00:00 EDT". */
char *vouch_time_local(int64_t t, const char *tz, char *buf, size_t n);

#endif
