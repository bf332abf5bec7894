#!/bin/sh
# vouch cron next: fire times, zones, and errors that name the field.
. "$(dirname "$0")/lib.sh"

check "cron next: steps" 0 '^2026-01-01T10:15:00Z  Thu 2026-01-01 10:15:00 UTC$' -- \
  "$VOUCH" cron next '*/15 * * * *' --from 2026-01-01T10:07:00Z --count 2
check "cron next: count" 0 '' -- sh -c "'$VOUCH' cron next '@hourly' --from 2026-01-01T00:00:00Z --count 7 | wc -l | grep -qx 7"
check "cron next: DST gap in New York runs right after the gap" 0 \
  '^2026-03-08T07:00:00Z  Sun 2026-03-08 03:00:00 EDT$' -- \
  "$VOUCH" cron next '30 2 * * *' --tz America/New_York --from '2026-03-07 12:00' --count 2
check "cron next: repeated hour in Berlin runs once" 0 \
  '^2026-10-25T00:30:00Z  Sun 2026-10-25 02:30:00 CEST$' -- \
  "$VOUCH" cron next '30 2 * * *' --tz Europe/Berlin --from 2026-10-24T12:00:00Z --count 2
out=$("$VOUCH" cron next '30 2 * * *' --tz Europe/Berlin --from 2026-10-24T12:00:00Z --count 2)
check "cron next: the second 02:30 CET does not run" 0 '' -- sh -c "! printf '%s\n' '$out' | grep -q 2026-10-25T01:30"
check "cron next: OR of the day fields" 0 '^2026-01-13T00:00:00Z' -- \
  "$VOUCH" cron next '0 0 13 * fri' --from 2026-01-10T00:00:00Z --count 1
check "cron next: interval" 0 '^2026-01-01T00:00:30Z' -- \
  "$VOUCH" cron next 'every 30s' --from 2026-01-01T00:00:00Z --count 1
check "cron next: bad field" 2 "^vouch: cron: 61 \* \* \* \*: minute field '61': 61 is out of range 0-59$" -- \
  "$VOUCH" cron next '61 * * * *'
check "cron next: bad weekday name" 2 "day-of-week field 'fry': unknown name 'fry'" -- \
  "$VOUCH" cron next '0 0 * * fry'
check "cron next: too many fields" 2 "expected 5 fields" -- "$VOUCH" cron next '0 0 * * * /bin/true'
check "cron next: unknown zone" 2 "unknown time zone 'Mars/Base'" -- \
  "$VOUCH" cron next '@daily' --tz Mars/Base
check "cron next: bad time" 2 "bad time 'tomorrow'" -- "$VOUCH" cron next '@daily' --from tomorrow
check "cron: help" 0 "DST|daylight" -- "$VOUCH" help cron
check "cron: from Lua" 0 '^2026-01-01T01:00:00Z	2$' -- \
  "$VOUCH" -e 'local t = vouch.cron.next("@hourly", "2026-01-01T00:00:00Z", 2) print(t[1], #t)'
check "cron: parse from Lua" 0 '^0 15 30 45	true$' -- \
  "$VOUCH" -e 'local c = vouch.cron.parse("*/15 * 1 * mon") print(table.concat(c.minute, " "), c.dom_or_dow)'
check "cron: parse error from Lua" 0 "^nil	x: expected 5 fields" -- "$VOUCH" -e 'print(vouch.cron.parse("x"))'
# Daylight-saving changes as cronie: fixed-time jobs once, wildcard jobs in
# both passes of the repeat and without catch-up in the gap. The whole
# output is compared.
same() {
  _name=$1 _want=$2; shift 2
  _got=$("$@" 2>&1)
  if [ "$_got" = "$_want" ]; then echo "ok - $_name"
  else echo "not ok - $_name"; printf '%s\n' "$_got" | sed 's/^/# /'; fi
}
same "cron next: wildcard hour runs in both passes in New York" \
'2026-11-01T05:00:00Z  Sun 2026-11-01 01:00:00 EDT
2026-11-01T06:00:00Z  Sun 2026-11-01 01:00:00 EST
2026-11-01T07:00:00Z  Sun 2026-11-01 02:00:00 EST' \
  "$VOUCH" cron next '0 * * * *' --tz America/New_York --from 2026-11-01T04:30:00Z --count 3
same "cron next: fixed time in New York's repeat runs once" \
'2026-11-01T05:30:00Z  Sun 2026-11-01 01:30:00 EDT
2026-11-02T06:30:00Z  Mon 2026-11-02 01:30:00 EST' \
  "$VOUCH" cron next '30 1 * * *' --tz America/New_York --from 2026-10-31T12:00:00Z --count 2
same "cron next: wildcard hour in New York's gap gets no catch-up" \
'2026-03-08T06:30:00Z  Sun 2026-03-08 01:30:00 EST
2026-03-08T07:30:00Z  Sun 2026-03-08 03:30:00 EDT' \
  "$VOUCH" cron next '30 * * * *' --tz America/New_York --from 2026-03-08T06:00:00Z --count 2
same "cron next: wildcard minute in Berlin's missing hour does not catch up" \
'2026-03-30T00:00:00Z  Mon 2026-03-30 02:00:00 CEST' \
  "$VOUCH" cron next '*/15 2 * * *' --tz Europe/Berlin --from 2026-03-28T12:00:00Z --count 1
same "cron next: every minute through Berlin's repeat" \
'2026-10-25T00:59:00Z  Sun 2026-10-25 02:59:00 CEST
2026-10-25T01:00:00Z  Sun 2026-10-25 02:00:00 CET' \
  "$VOUCH" cron next '* * * * *' --tz Europe/Berlin --from 2026-10-25T00:58:00Z --count 2
