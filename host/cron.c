/*
** cron.c: cron expressions with Vixie/cronie semantics, plain intervals,
** and next-fire times in UTC or a named IANA zone (vouch.cron).
**
** Zones are read by the C library from tzdata: TZ is set around each
** computation and put back afterwards, so os.date and the rest of the host
** keep the process's own zone. Wall times are handled as "naive" seconds
** (the wall clock read as if it were UTC) and mapped back to instants by
** resolve(), which is where the DST rules of the schedules live.
*/
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vouch.h"
#include "cron.h"

#define SEARCH_SPAN (8 * 366 * 86400LL)   /* how far next() looks ahead */
/* Times the search handles: years 1 to 9999. Beyond them broken-down times
** fail and the epoch arithmetic overflows, so nothing fires there. */
#define TIME_MIN (-62135596800LL)
#define TIME_MAX 253402300799LL

static const char *const month_names[] = {
  "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const dow_names[] = {
  "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

typedef struct field_def {
  const char *name;
  int low, high;
  const char *const *names;   /* names for low, low+1, ...; or NULL */
} field_def;

static const field_def fields[5] = {
  {"minute", 0, 59, NULL},
  {"hour", 0, 23, NULL},
  {"day-of-month", 1, 31, NULL},
  {"month", 1, 12, month_names},
  {"day-of-week", 0, 7, dow_names},
};


/*
** {======================================================
** Parsing
** =======================================================
*/

/* Read a number or a name at *p; 0 on success, -1 with a message. */
static int parse_value(const char **p, const field_def *f, int *out,
                       char *err, size_t errlen) {
  const char *s = *p;
  if (isdigit((unsigned char)*s)) {
    long v = 0;
    while (isdigit((unsigned char)*s)) {
      v = v * 10 + (*s++ - '0');
      if (v > 1000) break;
    }
    while (isdigit((unsigned char)*s)) s++;
    if (v < f->low || v > f->high) {
      snprintf(err, errlen, "%ld is out of range %d-%d", v, f->low, f->high);
      return -1;
    }
    *out = (int)v;
  } else if (isalpha((unsigned char)*s)) {
    char name[8];
    size_t n = 0;
    int i;
    while (isalpha((unsigned char)s[n]) && n < sizeof name - 1) {
      name[n] = (char)tolower((unsigned char)s[n]);
      n++;
    }
    name[n] = '\0';
    if (f->names == NULL && n == 1 && strchr("lw", name[0])) {
      snprintf(err, errlen, "unexpected '%c' (L, W, # and ? are not supported)", *s);
      return -1;
    }
    if (f->names == NULL) {
      snprintf(err, errlen, "names are not allowed here (got '%s')", name);
      return -1;
    }
    for (i = 0; f->names[i]; i++)
      if (strcmp(f->names[i], name) == 0) break;
    if (f->names[i] == NULL || isalpha((unsigned char)s[n])) {
      snprintf(err, errlen, "unknown name '%.*s' (use %s, %s, ...)",
               (int)strcspn(s, ",-/ \t"), s, f->names[0], f->names[1]);
      return -1;
    }
    *out = f->low + i;
    s += n;
  } else if (*s == '\0') {
    snprintf(err, errlen, "a value is missing");
    return -1;
  } else {
    snprintf(err, errlen, "unexpected '%c'%s", *s,
             strchr("LW#?", *s) ? " (L, W, # and ? are not supported)" : "");
    return -1;
  }
  *p = s;
  return 0;
}


/* Parse one field's text into a bit set; 0, or -1 with a message. */
static int parse_field(const char *text, const field_def *f, uint64_t *bits,
                       char *err, size_t errlen) {
  const char *p = text;
  *bits = 0;
  for (;;) {
    int a, b, step = 1, v;
    if (*p == '*') {
      a = f->low; b = f->high;
      p++;
    } else {
      if (parse_value(&p, f, &a, err, errlen) != 0) return -1;
      b = a;
      if (*p == '-') {
        p++;
        if (parse_value(&p, f, &b, err, errlen) != 0) return -1;
        if (b < a) {
          snprintf(err, errlen, "range %d-%d runs backwards", a, b);
          return -1;
        }
      } else if (*p == '/') {
        snprintf(err, errlen, "a step needs a range or '*' (write %d-%d/...)", a, f->high);
        return -1;
      }
    }
    if (*p == '/') {
      long s = 0;
      p++;
      if (!isdigit((unsigned char)*p)) {
        snprintf(err, errlen, "a step must be a number");
        return -1;
      }
      while (isdigit((unsigned char)*p)) {
        s = s * 10 + (*p++ - '0');
        if (s > 1000) s = 1000;
      }
      if (s == 0 || s > f->high) {
        snprintf(err, errlen, "step %ld is out of range 1-%d", s, f->high);
        return -1;
      }
      step = (int)s;
    }
    for (v = a; v <= b; v += step) *bits |= (uint64_t)1 << v;
    if (*p == ',') { p++; continue; }
    if (*p == '\0') break;
    snprintf(err, errlen, "unexpected '%c'%s", *p,
             strchr("LW#?", *p) ? " (L, W, # and ? are not supported)" : "");
    return -1;
  }
  return 0;
}


/* "every 15m", "every 1h30m", "every 30s", "every 2d": seconds, or -1. */
static int parse_interval(const char *s, int64_t *out, char *err, size_t errlen) {
  int64_t total = 0;
  int parts = 0;
  while (*s) {
    int64_t n = 0, unit;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '\0') break;
    if (!isdigit((unsigned char)*s)) {
      snprintf(err, errlen, "interval: expected a number at '%s' (e.g. every 15m)", s);
      return -1;
    }
    while (isdigit((unsigned char)*s)) {
      n = n * 10 + (*s++ - '0');
      if (n > 100000000) {
        snprintf(err, errlen, "interval: number too large");
        return -1;
      }
    }
    while (isspace((unsigned char)*s)) s++;
    switch (*s) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default:
        snprintf(err, errlen, "interval: unit must be s, m, h or d (got '%.8s')",
                 *s ? s : "nothing");
        return -1;
    }
    s++;
    total += n * unit;
    parts++;
  }
  if (parts == 0 || total <= 0) {
    snprintf(err, errlen, "interval: must be at least 1s (e.g. every 15m)");
    return -1;
  }
  *out = total;
  return 0;
}


int vouch_cron_parse(const char *expr, vouch_cron_t *c, char *err, size_t errlen) {
  static const struct { const char *nick, *expr; } nicks[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"}, {NULL, NULL}
  };
  char buf[256], *tok[6], *save = NULL, *t;
  uint64_t bits[5];
  int n = 0, i;
  memset(c, 0, sizeof *c);
  while (isspace((unsigned char)*expr)) expr++;
  if (strncmp(expr, "every", 5) == 0 && (expr[5] == '\0' || isspace((unsigned char)expr[5])))
    return parse_interval(expr + 5, &c->interval, err, errlen);
  if (*expr == '@') {
    size_t len = strcspn(expr, " \t");
    for (i = 0; nicks[i].nick; i++)
      if (strlen(nicks[i].nick) == len && strncmp(expr, nicks[i].nick, len) == 0) break;
    if (nicks[i].nick == NULL) {
      snprintf(err, errlen, "%.*s: %s", (int)len, expr,
               strncmp(expr, "@reboot", 7) == 0 ? "not supported (schedules are time-based)"
               : "unknown nickname (use @hourly, @daily, @weekly, @monthly or @yearly)");
      return -1;
    }
    if (expr[len + strspn(expr + len, " \t")] != '\0') {
      snprintf(err, errlen, "%s takes nothing after it", nicks[i].nick);
      return -1;
    }
    expr = nicks[i].expr;
  }
  if (strlen(expr) >= sizeof buf) {
    snprintf(err, errlen, "expression too long");
    return -1;
  }
  strcpy(buf, expr);
  for (t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
    if (n == 6) break;
    tok[n++] = t;
  }
  if (n != 5) {
    snprintf(err, errlen, "expected 5 fields (minute hour day-of-month month "
             "day-of-week), got %d%s", n, n > 5 ? " or more" : "");
    return -1;
  }
  for (i = 0; i < 5; i++) {
    char why[160];
    if (parse_field(tok[i], &fields[i], &bits[i], why, sizeof why) != 0) {
      snprintf(err, errlen, "%s field '%s': %s", fields[i].name, tok[i], why);
      return -1;
    }
  }
  c->minute = bits[0];
  c->hour = (uint32_t)bits[1];
  c->dom = (uint32_t)bits[2];
  c->month = (uint16_t)bits[3];
  c->dow = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f);  /* 7 is Sunday */
  c->dom_star = tok[2][0] == '*';
  c->dow_star = tok[4][0] == '*';
  c->wild = tok[0][0] == '*' || tok[1][0] == '*';
  {
    int64_t next;
    if (vouch_cron_next(c, NULL, 946684800, &next) != 0) {  /* from 2000-01-01 */
      snprintf(err, errlen, "never fires: the day-of-month and month fields never "
               "meet (like 30 February)");
      return -1;
    }
  }
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Zones
** =======================================================
*/

static char *saved_tz;        /* the process's TZ before the first switch */
static int saved_tz_known;
static char cur_tz[128];      /* the zone set while depth > 0 */
static int depth;             /* nested tz_enter calls in force */


/*
** Make `tz` the C library's zone; undo with tz_leave. Calls nest: an inner
** call for the zone already in force costs nothing, which is what makes
** vouch_tz_hold worth having around a loop of vouch_cron_next calls.
*/
static void tz_enter(const char *tz) {
  if (tz == NULL || *tz == '\0') tz = "UTC";
  if (depth > 0 && strcmp(cur_tz, tz) == 0) { depth++; return; }
  if (!saved_tz_known) {
    const char *e = getenv("TZ");
    saved_tz = e ? strdup(e) : NULL;
    saved_tz_known = 1;
  }
  if (depth == 0) snprintf(cur_tz, sizeof cur_tz, "%s", tz);
  depth++;
  setenv("TZ", tz, 1);
  tzset();
}

static void tz_leave(void) {
  if (depth > 0 && --depth > 0) {
    /* back to the zone of the enclosing call */
    const char *e = getenv("TZ");
    if (e == NULL || strcmp(e, cur_tz) != 0) { setenv("TZ", cur_tz, 1); tzset(); }
    return;
  }
  if (saved_tz) setenv("TZ", saved_tz, 1);
  else unsetenv("TZ");
  tzset();
}


void vouch_tz_hold(const char *tz) { tz_enter(tz); }
void vouch_tz_release(void) { tz_leave(); }


int vouch_tz_check(const char *tz, char *err, size_t errlen) {
  char path[PATH_MAX];
  const char *dir = getenv("TZDIR");
  struct stat st;
  if (tz == NULL || *tz == '\0' || strcmp(tz, "UTC") == 0) return 0;
  if (tz[0] == '/' || tz[0] == ':' || strstr(tz, "..") != NULL) {
    snprintf(err, errlen, "bad time zone '%s' (use a name like Europe/Berlin)", tz);
    return -1;
  }
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "unknown time zone '%s' (is tzdata installed?)", tz);
    return -1;
  }
  return 0;
}


static long gmtoff_at(int64_t t) {
  struct tm tm;
  time_t tt = (time_t)t;
  localtime_r(&tt, &tm);
  return tm.tm_gmtoff;
}

/* The wall time at instant t, as naive seconds. */
static int64_t naive_of(int64_t t) {
  return t + gmtoff_at(t);
}


/*
** The instant of the wall time `wn` (naive seconds) in the current zone. A
** wall time that happens twice maps to its first occurrence; one that does
** not exist (a gap) maps to the first instant after the gap.
*/
static int64_t resolve(int64_t wn) {
  long oa = gmtoff_at(wn - 86400), ob = gmtoff_at(wn + 86400);
  int64_t ea = wn - oa, eb = wn - ob, best = INT64_MAX;
  if (naive_of(ea) == wn) best = ea;
  if (naive_of(eb) == wn && eb < best) best = eb;
  if (best != INT64_MAX) return best;
  {
    /* A gap: find the transition between eb (old offset) and ea (new one). */
    int64_t lo = eb < ea ? eb : ea, hi = eb < ea ? ea : eb;
    long after = gmtoff_at(hi);
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      if (gmtoff_at(mid) == after) hi = mid;
      else lo = mid;
    }
    return hi;
  }
}

/* }====================================================== */


/* The day matches: both day fields with Vixie's OR rule when both restricted. */
static int day_matches(const vouch_cron_t *c, const struct tm *tm) {
  int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
  if (c->dom_star || c->dow_star) return dom && dow;
  return dom || dow;
}


/*
** The instants at which the wall time `wn` (naive seconds) happens in the
** current zone, earliest first: 1 normally, 2 when the clock falls back over
** it. 0 when it falls in a gap; then at[0] is the first instant after the gap.
*/
static int occurrences(int64_t wn, int64_t at[2]) {
  long oa = gmtoff_at(wn - 86400), ob = gmtoff_at(wn + 86400);
  int64_t ea = wn - oa, eb = wn - ob;
  int n = 0;
  if (naive_of(ea) == wn) at[n++] = ea;
  if (eb != ea && naive_of(eb) == wn) at[n++] = eb;
  if (n == 2 && at[1] < at[0]) { int64_t t = at[0]; at[0] = at[1]; at[1] = t; }
  if (n == 0) at[0] = resolve(wn);
  return n;
}


/*
** Wall times are walked in order and each matching one is turned into the
** instants it fires at, with cronie's rules for the changes (its "virtual
** time"): in a gap, fixed-time jobs run once at its end and wildcard jobs not
** at all; in a repeat, wildcard jobs run in both passes and fixed-time jobs
** in the first. Because a repeat makes the wall clock go back, the walk
** starts early enough to see the second pass (when the clock falls back
** within a day of `from`), and stops only at the wall time past which no
** instant can come before the best one found.
*/
static int next_in_zone(const vouch_cron_t *c, int64_t from, int64_t *next) {
  long off_from = gmtoff_at(from), off_later = gmtoff_at(from + 86400);
  int64_t wn = naive_of(from), end, best = INT64_MAX, stop = INT64_MAX;
  if (off_later < off_from) wn -= off_from - off_later;  /* a repeat ahead */
  wn -= (wn % 60 + 60) % 60;                             /* a whole minute */
  end = wn + SEARCH_SPAN + 86400;
  while (wn < end && wn < stop) {
    struct tm tm;
    time_t tt = (time_t)wn;
    gmtime_r(&tt, &tm);
    if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
      tm.tm_mon++; tm.tm_mday = 1; tm.tm_hour = 0; tm.tm_min = 0; tm.tm_sec = 0;
      wn = (int64_t)timegm(&tm);
      continue;
    }
    if (!day_matches(c, &tm)) {
      wn = (wn / 86400 + 1) * 86400;
      continue;
    }
    if (!((c->hour >> tm.tm_hour) & 1)) {
      wn = (wn / 3600 + 1) * 3600;
      continue;
    }
    if (!((c->minute >> tm.tm_min) & 1)) {
      wn += 60;
      continue;
    }
    {
      int64_t at[2];
      int n = occurrences(wn, at), i, count;
      if (n == 0) count = c->wild ? 0 : 1;     /* in a gap */
      else count = c->wild ? n : 1;            /* a repeat: both passes or the first */
      for (i = 0; i < count; i++)
        if (at[i] > from && at[i] < best) {
          long off_best = gmtoff_at(at[i]);
          best = at[i];
          /* An instant before `best` has a wall time below this. */
          stop = best + (off_best > off_from ? off_best : off_from) + 1;
        }
    }
    wn += 60;
  }
  if (best == INT64_MAX) return -1;
  *next = best;
  return 0;
}


int vouch_cron_next(const vouch_cron_t *c, const char *tz, int64_t from, int64_t *next) {
  int r;
  if (from < TIME_MIN || from > TIME_MAX - SEARCH_SPAN) return -1;
  if (c->interval > 0) {
    /* Intervals are aligned to the epoch, so they never depend on a zone. */
    int64_t q = from / c->interval;
    if (from < 0 && from % c->interval) q--;
    *next = (q + 1) * c->interval;
    return 0;
  }
  tz_enter(tz);
  r = next_in_zone(c, from, next);
  tz_leave();
  return r;
}


int vouch_cron_next_of(const char *expr, const char *tz, int64_t from, int64_t *next) {
  vouch_cron_t c;
  char err[256];
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0) return -1;
  return vouch_cron_next(&c, tz, from, next);
}


/*
** {======================================================
** Times as text
** =======================================================
*/

int vouch_time_parse(const char *s, const char *tz, int64_t now, int64_t *out) {
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, consumed = 0;
  struct tm tm;
  int64_t naive;
  if (strcmp(s, "now") == 0) { *out = now; return 0; }
  if (s[0] == '@') {
    char *end;
    long long v = strtoll(s + 1, &end, 10);
    if (end == s + 1 || *end) return -1;
    *out = v;
    return 0;
  }
  if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return -1;
  s += n;
  if (*s == 'T' || *s == ' ') {
    if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &consumed) != 2) return -1;
    s += 1 + consumed;
    if (*s == ':') {
      if (sscanf(s + 1, "%2d%n", &sec, &consumed) != 1) return -1;
      s += 1 + consumed;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
  memset(&tm, 0, sizeof tm);
  tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d;
  tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = sec;
  naive = (int64_t)timegm(&tm);
  if (*s == 'Z' && s[1] == '\0') { *out = naive; return 0; }
  if ((*s == '+' || *s == '-') && strlen(s) == 6 && s[3] == ':') {
    int oh, om;
    if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2) return -1;
    *out = naive - (*s == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    return 0;
  }
  if (*s != '\0') return -1;
  tz_enter(tz);
  *out = resolve(naive);
  tz_leave();
  return 0;
}


char *vouch_time_utc(int64_t t, char *buf) {
  struct tm tm;
  time_t tt = (time_t)t;
  if (t < TIME_MIN || t > TIME_MAX || gmtime_r(&tt, &tm) == NULL
      || strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) buf[0] = '\0';
  return buf;
}


char *vouch_time_local(int64_t t, const char *tz, char *buf, size_t n) {
  struct tm tm;
  time_t tt = (time_t)t;
  tz_enter(tz);
  if ((t < TIME_MIN || t > TIME_MAX || localtime_r(&tt, &tm) == NULL
       || strftime(buf, n, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0) && n) buf[0] = '\0';
  tz_leave();
  return buf;
}

/* }====================================================== */


/*
** {======================================================
** vouch.cron
** =======================================================
*/

static void push_bits(lua_State *L, uint64_t bits, int low, int high) {
  int v, i = 0;
  lua_newtable(L);
  for (v = low; v <= high; v++)
    if ((bits >> v) & 1) {
      lua_pushinteger(L, v);
      lua_rawseti(L, -2, ++i);
    }
}

/* vouch.cron.parse(expr) -> table describing it, or nil, message */
static int cron_parse(lua_State *L) {
  const char *expr = luaL_checkstring(L, 1);
  vouch_cron_t c;
  char err[256];
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", expr, err);
    return 2;
  }
  lua_newtable(L);
  if (c.interval) {
    lua_pushinteger(L, c.interval);
    lua_setfield(L, -2, "interval");
    return 1;
  }
  push_bits(L, c.minute, 0, 59); lua_setfield(L, -2, "minute");
  push_bits(L, c.hour, 0, 23); lua_setfield(L, -2, "hour");
  push_bits(L, c.dom, 1, 31); lua_setfield(L, -2, "dom");
  push_bits(L, c.month, 1, 12); lua_setfield(L, -2, "month");
  push_bits(L, c.dow, 0, 6); lua_setfield(L, -2, "dow");
  lua_pushboolean(L, !c.dom_star && !c.dow_star);
  lua_setfield(L, -2, "dom_or_dow");
  return 1;
}


/* A time argument: nil (now), Unix seconds, or text. */
static int64_t check_time(lua_State *L, int idx, const char *tz) {
  int64_t now = (int64_t)time(NULL), t;
  if (lua_isnoneornil(L, idx)) return now;
  if (lua_type(L, idx) == LUA_TNUMBER) return (int64_t)luaL_checkinteger(L, idx);
  if (vouch_time_parse(luaL_checkstring(L, idx), tz, now, &t) != 0)
    luaL_argerror(L, idx, "bad time (use YYYY-MM-DDTHH:MM:SSZ)");
  return t;
}


/* vouch.cron.next(expr [, from [, count [, tz]]]) -> {utc times}, or nil, message */
static int cron_next(lua_State *L) {
  const char *expr = luaL_checkstring(L, 1);
  lua_Integer count = luaL_optinteger(L, 3, 1), i;
  const char *tz = luaL_optstring(L, 4, NULL);
  vouch_cron_t c;
  char err[256], buf[32];
  int64_t t;
  luaL_argcheck(L, count >= 1 && count <= 100000, 3, "must be between 1 and 100000");
  if (vouch_cron_parse(expr, &c, err, sizeof err) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", expr, err);
    return 2;
  }
  if (vouch_tz_check(tz, err, sizeof err) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  t = check_time(L, 2, tz);
  lua_createtable(L, (int)count, 0);
  for (i = 1; i <= count; i++) {
    if (vouch_cron_next(&c, tz, t, &t) != 0) break;
    lua_pushstring(L, vouch_time_utc(t, buf));
    lua_rawseti(L, -2, i);
  }
  return 1;
}


/* vouch.cron.localtime(time, tz) -> "Sun 2026-03-08 03:00:00 EDT" */
static int cron_localtime(lua_State *L) {
  const char *tz = luaL_optstring(L, 2, NULL);
  char err[256], buf[64];
  int64_t t;
  if (vouch_tz_check(tz, err, sizeof err) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  t = check_time(L, 1, tz);
  lua_pushstring(L, vouch_time_local(t, tz, buf, sizeof buf));
  return 1;
}


/* vouch.cron.time(text [, tz]) -> Unix seconds, or nil, message */
static int cron_time(lua_State *L) {
  const char *s = luaL_checkstring(L, 1), *tz = luaL_optstring(L, 2, NULL);
  char err[256];
  int64_t t;
  if (vouch_tz_check(tz, err, sizeof err) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (vouch_time_parse(s, tz, (int64_t)time(NULL), &t) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "bad time '%s' (use YYYY-MM-DDTHH:MM:SSZ)", s);
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)t);
  return 1;
}


/* vouch.cron.utc(seconds) -> "YYYY-MM-DDTHH:MM:SSZ" */
static int cron_utc(lua_State *L) {
  char buf[32];
  lua_pushstring(L, vouch_time_utc((int64_t)luaL_checkinteger(L, 1), buf));
  return 1;
}


int luaopen_vouch_cron(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"parse", cron_parse}, {"next", cron_next}, {"localtime", cron_localtime},
    {"time", cron_time}, {"utc", cron_utc}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}

/* }====================================================== */
