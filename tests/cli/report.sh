#!/bin/sh
# vouch report: the command on a real database, the pages in headless
# Chromium (charts drawn, nothing fetched, no script from the data), the
# Markdown charts as well-formed SVG files, JSON as parsable data. Its
# records are files, or databases of a server under pg_report.sh.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/chromium.sh"
cd "$TMP" || exit 1
export VOUCH_PATH="$ROOT/tests/lua"
DB=$(record report)

# Usage errors need no database.
check "report: unknown argument" 2 "unknown option '--bogus'" -- "$VOUCH" report --bogus
check "report: --run needs a number" 2 "--run needs a run number, got 'x'" -- "$VOUCH" report --run x
check "report: one subject only" 2 "choose one of --run, --partner and --diff" -- \
  "$VOUCH" report --run 1 --partner p
check "report: --diff takes two" 2 "'--diff' takes 2 values: --diff A B" -- "$VOUCH" report --diff 1
check "report: unknown format" 2 "unknown format 'pdf'" -- "$VOUCH" report --format pdf
check "report: --open needs --out" 2 "--open needs --out FILE" -- "$VOUCH" report --open
check "report: help" 0 "--partner ID" -- "$VOUCH" help report

if ! "$VOUCH" -e 'assert(vouch.db and vouch.db.open)' >/dev/null 2>&1; then
  echo "not ok - report: this build has no vouch.db"
  exit 0
fi

only_file "a server's database is there before anything is stored" \
  check "report: no database yet" 4 "no database $DB: nothing has been stored there yet" -- "$VOUCH" --db "$DB" report
"$VOUCH" --db "$DB" -e 'vouch.db.open()' >/dev/null 2>&1
check "report: no run yet" 1 "no finished run in the database" -- "$VOUCH" --db "$DB" report
# The fixture writes the record's rows with fixed ids and times, as a tool with
# the file in hand would: --trusted, since a sandboxed script may not. For a
# server it writes them in a file, whose rows are then sent there (seed).
fx=$DB; if on_pg; then fx=$TMP/fixture.db; fi
check "report: fixture stored" 0 "" -- "$VOUCH" --trusted --db "$fx" -e 'require("report_fixture").insert(vouch.db.open())'
if on_pg; then check "report: fixture sent to the server" 0 "" -- seed "$fx" "$DB"; fi
check "report: missing run" 1 "no run 99 in the database" -- "$VOUCH" --db "$DB" report --run 99
check "report: unknown partner" 1 "partner 'nobody' is in no stored run" -- \
  "$VOUCH" --db "$DB" report --partner nobody

# The data the report shows equals what the fixture's rows say, computed apart.
check "report: data matches the rows" 0 "^same$" -- "$VOUCH" --db "$DB" -e '
  local report, fx = require "vouch.report", require "report_fixture"
  local db = vouch.db.open()
  local got, want = report.run(db), fx.expected_run(3)
  got.run = nil; want.run = nil
  local function same(x, y, path)
    if type(x) ~= "table" or type(y) ~= "table" then
      if x ~= y then return path .. ": " .. tostring(x) .. " ~= " .. tostring(y) end
      return nil
    end
    for k, v in pairs(x) do local d = same(v, y[k], path .. "." .. tostring(k)); if d then return d end end
    for k, v in pairs(y) do if x[k] == nil then return path .. "." .. tostring(k) .. " missing" end end
  end
  print(same(got, want, "run") or "same")'

check "report: diff data matches the rows" 0 "^9 7 0 0 ok$" -- "$VOUCH" --db "$DB" -e '
  local report, fx = require "vouch.report", require "report_fixture"
  local d = report.diff(vouch.db.open(), 1, 3)
  local a, b, want, same = {}, {}, 0, 0
  for _, e in ipairs(fx.expected_run(1).partners) do a[e.partner_id] = e.verdict end
  for _, e in ipairs(fx.expected_run(3).partners) do
    if a[e.partner_id] ~= e.verdict then want = want + 1 else same = same + 1 end
  end
  local sev, ordered = { approve = 0, review = 1, reject = 2 }, true
  for i = 2, #d.changed do
    local function s(c) return sev[c.b.verdict] - sev[c.a.verdict] end
    if s(d.changed[i]) > s(d.changed[i - 1]) then ordered = false end
  end
  for _, c in ipairs(d.changed) do if a[c.partner_id] ~= c.a.verdict then ordered = false end end
  print(table.concat({ d.changed_count, d.unchanged, d.only_a_count, d.only_b_count,
    (d.changed_count == want and d.unchanged == same and #d.changed == want and ordered) and "ok" or "differs" }, " "))'
check "report: latest run as HTML" 0 "^wrote run.html \(html report on run #3\)" -- \
  "$VOUCH" --db "$DB" report --out run.html
check "report: to stdout" 0 "^<!DOCTYPE html>" -- "$VOUCH" --db "$DB" report --run 1
check "report: partner" 0 "wrote partner.html \(html report on partner siam-foods\)" -- \
  "$VOUCH" --db "$DB" report --partner siam-foods --out partner.html
check "report: diff" 0 "wrote diff.html \(html report on run #1 against run #3\)" -- \
  "$VOUCH" --db "$DB" report --diff 1 3 --out diff.html
check "report: diff lists changed verdicts" 0 "Partners that changed verdict" -- cat diff.html
check "report: Markdown with charts" 0 "wrote run.md \(md report on run #2, 18 charts in run_files/\)" -- \
  "$VOUCH" --db "$DB" report --run 2 --out run.md
check "report: Markdown links its charts" 0 "!\[Red flags\]\(run_files/flags.svg\)" -- cat run.md
check "report: JSON" 0 "^wrote run.json \(json report on run #3\)" -- "$VOUCH" --db "$DB" report --out run.json
check "report: JSON parses, 16 partners" 0 "^16 3$" -- python3 -c '
import json; d = json.load(open("run.json")); print(len(d["partners"]), d["run"]["id"])'
check "report: --limit lists the first partners" 0 "^5 16 16$" -- sh -c "\"$VOUCH\" --db \"$DB\" report --limit 5 --format json |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(len(d[\"partners\"]), d[\"scored\"], sum(d[\"counts\"].values()))'"
check "report: --limit says what it left out" 0 "The first 5 of 16 partners by rank" -- \
  "$VOUCH" --db "$DB" report --limit 5
check "report: --limit on a diff" 0 "The 2 most serious changes are shown below" -- \
  "$VOUCH" --db "$DB" report --diff 1 3 --limit 2
check "report: bad --limit" 2 "--limit needs a count" -- "$VOUCH" --db "$DB" report --limit -3
check "report: JSON keeps empty arrays" 0 '"only_a": \[\]' -- "$VOUCH" --db "$DB" report --diff 1 3 --format json
check "report: SVG files are well-formed XML with a title" 0 "^18 ok$" -- python3 -c '
import glob, xml.dom.minidom as m
fs = sorted(glob.glob("run_files/*.svg")); bad = []
for f in fs:
    d = m.parse(f)
    if not d.getElementsByTagName("title") or not d.getElementsByTagName("desc"): bad.append(f)
print(len(fs), "ok" if not bad else bad)'
check "report: write outside --out refused" 1 "access denied" -- \
  "$VOUCH" --db "$DB" -e 'assert(vouch.file.write("elsewhere.html", "x"))'

# A scorecard of its own two dimensions: the same rows over reach and
# reputation. Its charts are bars (two dimensions span no radar), and
# nothing of the eight dimensions of the bundled scorecard shows.
DB2=$(record own)
own='{ dimensions = { "reach", "reputation" } }'
fx=$DB2; if on_pg; then fx=$TMP/fixture-own.db; fi
check "report: two-dimension fixture stored" 0 "" -- "$VOUCH" --trusted --db "$fx" -e \
  "require('report_fixture').insert(vouch.db.open(), $own)"
if on_pg; then check "report: two-dimension fixture sent to the server" 0 "" -- seed "$fx" "$DB2"; fi
check "report: own dimensions, data matches the rows" 0 "^same reach,reputation$" -- "$VOUCH" --db "$DB2" -e "
  local report, fx = require 'vouch.report', require 'report_fixture'
  local got, want = report.run(vouch.db.open()), fx.expected_run(3, $own)
  got.run = nil; want.run = nil
  local function same(x, y, path)
    if type(x) ~= 'table' or type(y) ~= 'table' then
      if x ~= y then return path .. ': ' .. tostring(x) .. ' ~= ' .. tostring(y) end
      return nil
    end
    for k, v in pairs(x) do local d = same(v, y[k], path .. '.' .. tostring(k)); if d then return d end end
    for k, v in pairs(y) do if x[k] == nil then return path .. '.' .. tostring(k) .. ' missing' end end
  end
  print((same(got, want, 'run') or 'same') .. ' ' .. table.concat(got.dimensions, ','))"
check "report: own dimensions as HTML" 0 "^wrote own.html" -- "$VOUCH" --db "$DB2" report --out own.html
check "report: own dimensions drawn as bars, no radar" 0 "^17 0$" -- sh -c \
  'echo $(grep -o "<svg class=\"chart dimbars\"" own.html | wc -l) $(grep -o "<svg class=\"chart radar\"" own.html | wc -l)'
check "report: own dimensions' median named" 0 "Portfolio median on the 2 dimensions of scorecard social_capital_v2" -- cat own.html
check "report: no dimension of the bundled scorecard" 1 "" -- grep -Eq "trust|goodwill|shared values" own.html
check "report: own dimensions, partner history" 0 "^wrote own-partner.md" -- \
  "$VOUCH" --db "$DB2" report --partner siam-foods --out own-partner.md
check "report: partner table has the card's columns" 0 "^\| run \| started \| total \| verdict \| reach \| reputation \|$" -- \
  cat own-partner.md
check "report: own dimensions, one line chart of dimensions" 0 "^2$" -- sh -c 'ls own-partner_files | wc -l'
check "report: own dimensions, diff" 0 "^wrote own-diff.html" -- "$VOUCH" --db "$DB2" report --diff 1 3 --out own-diff.html
check "report: own dimensions, diff side by side in bars" 0 "^[1-9]" -- sh -c \
  'grep -o "<svg class=\"chart dimbars\"" own-diff.html | wc -l'

# A database written at schema version 3 (a column per dimension, every
# outcome a row of reasons) migrates, and its runs report and compare as
# that version reported them (its JSON and `vouch diff` output, kept in
# tests/data; numbers equal to within 1e-9 of themselves). A server's
# record is sent its runs once the file has migrated.
sqlite3 v3.db < "$ROOT/tests/data/record-v3.sql"
V3=$(record v3)
if on_pg; then
  "$VOUCH" --db v3.db runs >/dev/null
  check "report: a schema 3 database's runs sent to the server" 0 "" -- seed v3.db "$V3"
fi
same_json='
import json, sys
def same(a, b, path):
    if isinstance(a, float) or isinstance(b, float):
        ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) <= 1e-9 * max(1, abs(a))
        return None if ok else "%s: %r != %r" % (path, a, b)
    if type(a) != type(b): return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b: return path + "." + k + " missing"
            d = same(a[k], b[k], path + "." + k)
            if d: return d
        return None
    if isinstance(a, list):
        if len(a) != len(b): return "%s: %d items, not %d" % (path, len(b), len(a))
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, "%s[%d]" % (path, i))
            if d: return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)
print(same(json.load(open(sys.argv[1])), json.load(sys.stdin), "report") or "same")'
for r in "run1:--run 1" "diff12:--diff 1 2" "A001:--partner A001"; do
  check "report: a schema 3 database, ${r#*:}, as that version reported it" 0 "^same$" -- sh -c \
    "\"$VOUCH\" --db '$V3' report ${r#*:} --format json | python3 -c '$same_json' \"$ROOT/tests/data/record-v3-report-${r%%:*}.json\""
done
"$VOUCH" --db "$V3" diff 1 2 > v3-diff.txt 2>&1
ok "report: vouch diff of a schema 3 database prints what that version printed" \
  cmp v3-diff.txt "$ROOT/tests/data/record-v3-diff12.txt"

# --open: the desktop's opener when there is one, a plain word when not.
mkdir -p bin nobin
printf '#!/bin/sh\necho "$1" > "%s/opened.txt"\n' "$TMP" > bin/xdg-open
chmod +x bin/xdg-open
check "report: --open with xdg-open" 0 "opened open.html with xdg-open" -- \
  env DISPLAY=:99 PATH="$TMP/bin:/usr/bin:/bin" "$VOUCH" --db "$DB" report --out open.html --open
i=0; while [ ! -s opened.txt ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "report: the opener got the file" 0 "/open.html$" -- cat opened.txt
check "report: --open without an opener" 0 "not opened: no browser opener found" -- \
  env DISPLAY=:99 PATH="$TMP/nobin" "$VOUCH" --db "$DB" report --out open2.html --open

# Nothing in a page points anywhere: no URL, and the policy forbids fetching.
for f in run.html partner.html diff.html; do
  check "report: $f names no URL" 1 "" -- grep -Eq "https?://|//[a-z]" "$f"
  check "report: $f has a no-fetch CSP" 0 "" -- \
    grep -q "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"" "$f"
done

if [ -z "$(chromium_bin)" ]; then
  echo "ok - report: in Chromium # SKIP chromium is not installed (apt-get install chromium)"
  exit 0
fi

# A test copy of each page runs a probe that writes what the browser drew
# into the DOM. Its policy allows inline script, so a name that escaped the
# escaping would run too and show in the title.
probe='<script>(function(){var N=String.fromCharCode(10),o=[];document.querySelectorAll("svg.chart").forEach(function(s){var b=s.getBBox(),r=s.getBoundingClientRect();o.push("chart "+s.getAttribute("class").split(" ")[1]+" "+Math.round(b.width)+" "+Math.round(b.height)+" "+Math.round(r.width)+" "+Math.round(r.height)+" "+s.querySelectorAll("polygon,rect,path,circle,line,text").length)});var p=document.createElement("pre");p.id="probe";p.textContent=N+o.join(N)+N+"resources "+performance.getEntriesByType("resource").length+N+"scripts "+document.scripts.length+N+"title "+document.title+N;document.body.appendChild(p)})();</script>'
for f in run partner diff; do
  sed -e "s|default-src 'none';|default-src 'none'; script-src 'unsafe-inline';|" \
      -e "s|</body>|$probe</body>|" "$f.html" > "$f.probe.html"
  chromium_dom "$f.probe.html" "$f.dom"
  sed -n '/<pre id="probe">/,/<\/pre>/p' "$f.dom" > "$f.probe"
  check "report: $f page loaded in Chromium" 0 "^resources 0$" -- cat "$f.probe"
  check "report: $f page ran no script of its own" 0 "^scripts 1$" -- cat "$f.probe"
  check "report: $f charts drawn with non-empty boxes" 0 "^ok [1-9]" -- awk '
    /^chart / { n++; if ($3 < 20 || $4 < 20 || $5 < 20 || $6 < 20 || $7 < 5) bad++ }
    END { print (bad ? "bad" : "ok"), n }' "$f.probe"
done
check "report: a radar per partner and the median, one bar chart" 0 "^17 1$" -- sh -c \
  'echo $(grep -c "^chart radar" run.probe) $(grep -c "^chart bars" run.probe)'
# The two-dimension card's pages, drawn: bars with a box of their own.
for f in own own-diff; do
  sed -e "s|default-src 'none';|default-src 'none'; script-src 'unsafe-inline';|" \
      -e "s|</body>|$probe</body>|" "$f.html" > "$f.probe.html"
  chromium_dom "$f.probe.html" "$f.dom"
  sed -n '/<pre id="probe">/,/<\/pre>/p' "$f.dom" > "$f.probe"
  check "report: $f page loaded in Chromium" 0 "^resources 0$" -- cat "$f.probe"
  check "report: $f charts drawn with non-empty boxes" 0 "^ok [1-9]" -- awk '
    /^chart / { n++; if ($3 < 20 || $4 < 20 || $5 < 20 || $6 < 20 || $7 < 5) bad++ }
    END { print (bad ? "bad" : "ok"), n }' "$f.probe"
done
check "report: own dimensions in Chromium: bars per partner and the median, no radar" 0 "^17 0 1$" -- sh -c \
  'echo $(grep -c "^chart dimbars" own.probe) $(grep -c "^chart radar" own.probe) $(grep -c "^chart bars" own.probe)'
check "report: partner line charts" 0 "^3$" -- grep -c "^chart lines" partner.probe
check "report: hostile names did not run" 0 "^title Partner vetting report · Run #3$" -- cat run.probe
check "report: hostile names shown as text" 0 "<script>document.title=\"pwned\"</script>" -- \
  sh -c 'sed -e "s/&lt;/</g" -e "s/&gt;/>/g" -e "s/&quot;/\"/g" -e "s/&amp;/\&/g" run.dom'

# The page itself, untouched: Chromium finds no script element in it at all.
chromium_dom run.html run.plain.dom
check "report: no script element in the page" 1 "" -- grep -qi "<script" run.plain.dom
chromium_shot run.html report.png 1200,2400
check "report: screenshot taken" 0 "" -- test -s report.png
mkdir -p "$ROOT/${BUILD:-build}"
cp report.png "$ROOT/${BUILD:-build}/report-test.png" 2>/dev/null &&
  echo "# screenshot: $ROOT/${BUILD:-build}/report-test.png"
