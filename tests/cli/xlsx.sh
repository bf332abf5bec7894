#!/bin/sh
# xlsx.sh: vouch.load.xlsx on workbooks made here (tests/data/xlsx/make.py),
# hostile ones among them: each a clear error naming the file and the
# sheet, in bounded memory; `vouch vet` of a workbook written by LibreOffice
# against the CSV it came from; vet and report --format xlsx read back, of
# runs in a file's record, or in a server's under pg_xlsx.sh.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
MAKE="python3 $ROOT/tests/data/xlsx/make.py"
DB="${VOUCH_TEST_DB:-$TMP/xlsx.db}"

for k in good no_sst broken_xml dtd not_zip bomb_cell bomb_tag wide bomb_sst; do
  $MAKE $k $k.xlsx || echo "not ok - make.py $k"
done

# Peak memory of a command, in MiB (its output is dropped).
peak() {
  python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)' "$@"
}

cat > rows.lua <<'LUA'
local path, sheet = ...
local src = vouch.load.xlsx(path, sheet and { sheet = tonumber(sheet) or sheet })
print(table.concat(src.columns, ","))
for r in src:rows() do
  local t = {}
  for _, c in ipairs(src.columns) do
    local v = r[c]
    t[#t + 1] = v == nil and "-" or (math.type(v) or type(v)) .. ":" .. tostring(v)
  end
  print(src.line .. " " .. table.concat(t, " "))
end
LUA
check "xlsx: header, typed cells, shared and inline strings, dates as ISO text" 0 \
  '^id,name,score,since,ok
2 integer:1 string:Acme Ltd float:2.5 string:2024-03-01 boolean:true
4 integer:2 string:B&B string:two string:2024-03-01T12:00:00 boolean:false$' -- \
  "$VOUCH" rows.lua good.xlsx
check "xlsx: a sheet by name" 0 '^k
2 integer:7$' -- "$VOUCH" rows.lua good.xlsx Other
check "xlsx: a sheet by position" 0 '^k$' -- "$VOUCH" rows.lua good.xlsx 2
check "xlsx: no such sheet names the sheets there are" 1 \
  "good.xlsx: no sheet named 'Nope' \(the sheets: 'Partners', 'Other'\)" -- \
  "$VOUCH" rows.lua good.xlsx Nope
check "xlsx: into() stores typed columns" 0 '^2	1\|Acme Ltd\|2.5\|2024-03-01\|1$' -- \
  "$VOUCH" -e 'local db = vouch.db.open(":memory:")
    local n = vouch.load.xlsx("good.xlsx"):into(db, "t")
    local r = db:one("SELECT * FROM t WHERE id = 1")
    print(n, table.concat({ r.id, r.name, r.score, r.since, r.ok }, "|"))'

# Hostile workbooks: a clear error naming the file and the sheet (exit 1,
# not the memory limit's 3), within --max-memory=32M.
check "xlsx: a missing sharedStrings part" 1 \
  "no_sst.xlsx:Partners!A1: the cell refers to shared string 0, but the workbook has no shared-strings part" -- \
  "$VOUCH" --max-memory 32M rows.lua no_sst.xlsx
check "xlsx: broken XML names the cell, the part, line and column" 1 \
  'broken_xml.xlsx:Partners!E4: xl/worksheets/sheet1.xml:1:[0-9]+: broken XML: mismatched tag' -- \
  "$VOUCH" --max-memory 32M rows.lua broken_xml.xlsx
check "xlsx: a DTD is refused" 1 'dtd.xlsx:Partners!A1: a DTD, which no workbook part has' -- \
  "$VOUCH" --max-memory 32M rows.lua dtd.xlsx
check "xlsx: not a zip" 1 'not_zip.xlsx: not a workbook \(not a zip file\)' -- \
  "$VOUCH" --max-memory 32M rows.lua not_zip.xlsx
check "xlsx: zip bomb, one cell of 128 MiB" 1 \
  'bomb_cell.xlsx:Partners!A2: a cell of more than 128 KiB of text' -- \
  "$VOUCH" --max-memory 32M rows.lua bomb_cell.xlsx
check "xlsx: zip bomb, a tag of 128 MiB" 1 \
  'bomb_tag.xlsx:Partners!A1: an XML token of more than 4 MiB in xl/worksheets/sheet1.xml' -- \
  "$VOUCH" --max-memory 32M rows.lua bomb_tag.xlsx
check "xlsx: zip bomb, 128 MiB of shared strings over --max-memory" 1 \
  'bomb_sst.xlsx:xl/sharedStrings.xml: the shared strings take more than the memory allowed' -- \
  "$VOUCH" --max-memory 32M rows.lua bomb_sst.xlsx
check "xlsx: a million empty columns" 1 \
  'wide.xlsx:Partners!XFE2: a cell past column XFD, the last a sheet can have' -- \
  "$VOUCH" --max-memory 32M rows.lua wide.xlsx
for k in bomb_cell bomb_tag bomb_sst wide; do
  case "${VALGRIND:-0}:$VOUCH" in
    1:*|*-san*|*/vg/*)
      echo "ok - xlsx: $k peak memory # SKIP not measured under sanitizers/valgrind"; continue ;;
  esac
  mib=$(peak "$VOUCH" --max-memory 32M rows.lua $k.xlsx)
  if [ "$mib" -lt 100 ]; then echo "ok - xlsx: $k peaks at $mib MiB"
  else echo "not ok - xlsx: $k peaks at $mib MiB (the part inflates to 128 MiB)"; fi
done

# vet and report --format xlsx, read back with vouch.load.xlsx.
cp "$ROOT/examples/partners.csv" partners.csv
check "vet --format xlsx needs --out" 2 'writes the stored run to --out FILE' -- \
  "$VOUCH" --db "$DB" vet partners.csv --format xlsx
check "vet --format xlsx --out" 0 '^run 1: 22 partners written to vet.xlsx$' -- \
  "$VOUCH" --db "$DB" vet partners.csv --format xlsx --out vet.xlsx
"$VOUCH" --db "$DB" vet partners.csv --format csv > vet.csv
cat > back.lua <<'LUA'
-- The workbook's ranking against vet's CSV of the same run: rank, partner,
-- verdict and total; and the reasons sheet against the principal reasons.
local book, csv = ...
local want = {}
for r in vouch.load.csv(csv):rows() do want[r.rank] = r end
local n = 0
for r in vouch.load.xlsx(book, { sheet = "Ranking" }):rows() do
  n = n + 1
  local w = want[r.rank]
  assert(w and w.partner_id == r.partner and w.verdict == r.verdict, "rank " .. r.rank)
  assert(math.abs(w.total - r.total) < 1e-6, "total of " .. r.partner)
  assert((w.reasons or ""):gsub(";", ", ") == (r["principal reasons"] or ""), "reasons of " .. r.partner)
end
local reasons = 0
for r in vouch.load.xlsx(book, { sheet = "Reasons" }):rows() do
  if r["reason rank"] then reasons = reasons + 1 end
end
print(n, reasons)
LUA
check "vet --format xlsx reads back as the ranking" 0 '^22	[1-9][0-9]*$' -- \
  "$VOUCH" back.lua vet.xlsx vet.csv
check "report --format xlsx of the latest run" 0 '^wrote rep.xlsx \(xlsx of run #2, 22 partners\)$' -- \
  "$VOUCH" --db "$DB" report --out rep.xlsx
check "report --format xlsx reads back" 0 '^22	' -- "$VOUCH" back.lua rep.xlsx vet.csv
check "vet --format xlsx into a folder that is not there: an error, no traceback" 1 \
  '^vouch: vet: .*nodir/x.xlsx: ' -- "$VOUCH" --db "$DB" vet partners.csv --format xlsx --out nodir/x.xlsx
check "report --format xlsx needs --out" 2 '--format xlsx writes one run' -- \
  "$VOUCH" --db "$DB" report --format xlsx

# A workbook written by a spreadsheet program: the same verdicts as the CSV.
if command -v libreoffice >/dev/null 2>&1; then
  # A profile of its own; on a loaded machine a first start may give up,
  # so it has three tries. LibreOffice's launcher reads VALGRIND (as the
  # name of a tool to run it under): it must not see ours.
  n=0
  while [ $n -lt 3 ] && [ ! -s lo/partners.xlsx ]; do
    n=$((n + 1))
    env -u VALGRIND HOME="$TMP/lohome" timeout 300 libreoffice \
      -env:UserInstallation="file://$TMP/lohome" \
      --headless --convert-to xlsx --outdir lo partners.csv >>lo.log 2>&1
  done
  ok "LibreOffice converts the example CSV" test -s lo/partners.xlsx
  [ -s lo/partners.xlsx ] || sed 's/^/# /' lo.log | tail -n 10
  "$VOUCH" vet partners.csv --no-store --format csv > from_csv.csv
  check "vet of LibreOffice's partners.xlsx" 0 '' -- \
    "$VOUCH" vet lo/partners.xlsx --no-store --format csv
  "$VOUCH" vet lo/partners.xlsx --no-store --format csv > from_xlsx.csv 2>&1
  ok "LibreOffice's workbook gets the same verdicts as the CSV" cmp from_csv.csv from_xlsx.csv
else
  echo "ok - vet of LibreOffice's partners.xlsx # SKIP libreoffice is not installed"
fi
