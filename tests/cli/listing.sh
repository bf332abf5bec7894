#!/bin/sh
# listing.sh: db:print, the host's writer of long listings, and the piped
# `vouch vet` table it prints: every partner, lined up exactly as the table
# printed in Lua (the path a terminal takes) lines them up, whatever is in
# the names (wide characters, control characters, long names, ties in the
# totals that SQL's printf would round otherwise).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

cat > print.lua <<'LUA'
local db = vouch.db.open()
db:exec("CREATE TABLE t(i INTEGER, s TEXT)")
db:exec("INSERT INTO t VALUES (1, 'one'), (2, NULL), (3, 'three'), (4, '')")
local n = db:print("SELECT s || ':' || ?1 AS line, i FROM t ORDER BY i", {
  number = 4, first = 7,
  fallback = function(row) return " [" .. row.i .. " from Lua]" end }, "x")
print("rows " .. n)
print("plain " .. db:print("SELECT s FROM t WHERE s IS NOT NULL AND i > ?", nil, 2))
print("none " .. db:print("SELECT s FROM t WHERE 0"))
local ok, err = pcall(db.print, db, "SELECT s FROM t", { fallback = function() error("boom") end })
print("fallback error: " .. tostring(ok) .. " " .. tostring(err):gsub("^.-: ", ""))
db:exec("DROP TABLE t")   -- raises if the statement were left open
print(pcall(db.print, db, "SELECT nosuch FROM u"))
print(pcall(db.print, db, "SELECT 1", { number = 99 }))
db:exec("CREATE TABLE c(a TEXT, b TEXT, x TEXT)")
db:exec("INSERT INTO c VALUES ('id', 'tab\there', '1.5'), ('é😀', 'สยาม', NULL), " ..
        "(NULL, '', ''), ('long name', 'x', 'y')")
print("cells " .. db:print("SELECT a, b, x FROM c ORDER BY rowid",
                           { number = 2, widths = { 4, 9, 5 }, right = { [1] = true } }))
print(pcall(db.print, db, "SELECT a, b FROM c", { widths = { 4, 9, 5 } }))
print(pcall(db.print, db, "SELECT a, b FROM c", { widths = { 4, -1 } }))
LUA
"$VOUCH" --db "$TMP/p.db" run print.lua >out.txt 2>&1
cat > want.txt <<'TXT'
   7one:x
   8 [2 from Lua]
   9three:x
  10:x
rows 4
three

plain 2
none 0
one
fallback error: false boom
TXT
check "db:print: numbered lines, the fallback in its place, parameters bound" 0 '' -- \
  sh -c "head -n 11 out.txt | cmp - want.txt"
check "db:print: an SQL error names the statement" 0 'no such table: u' -- sed -n 12p out.txt
check "db:print: options are checked" 0 "'number' is too wide" -- sed -n 13p out.txt
cat > want.txt <<'TXT'
 1    id  tab\there  1.5
 2    é😀  สยาม
 3
 4  long name  x          y
cells 4
false	'widths' has 3 widths for 2 columns
TXT
check "db:print: cells escaped, padded by characters, the line's end trimmed" 0 '' -- \
  sh -c "sed -n '14,19p' out.txt | cmp - want.txt"
check "db:print: a width that is not one" 0 "'widths' holds other than widths" -- sed -n 20p out.txt

# Partners whose cells SQL cannot measure, beside plain ones; totals of the
# plain ones cover every decimal. The piped table (SQL's lines) must equal
# the table the terminal path prints (with colour, then without its codes).
DATA=$ROOT/examples/partners.csv
awk -F, -v OFS=, 'NR == 1 { print; next }
  NR == 2 { $2 = "\"Zürich Wide Name For Tests\"" }
  NR == 3 { $2 = "\"東京パートナーズ株式会社グループ\"" }
  NR == 8 { $2 = "Ünïcödé Pärtnérs Wïth À Nämé Lóngér Thän Ït Shöüld Bé" }
  NR == 4 { $2 = "\"Tab\tIn Name\"" }
  NR == 5 { $2 = "A Very Long Partner Name That Goes On And On" }
  NR == 6 { $1 = "P-ß-6" }
  NR == 7 { $3 = "kölsch" }
  { print }' "$DATA" >odd.csv
"$VOUCH" --db "$TMP/v.db" vet odd.csv >piped.txt 2>&1
"$VOUCH" --db "$TMP/v.db" --color=always vet odd.csv >styled.txt 2>&1
sed 's/\x1b\[[0-9;]*m//g' styled.txt | sed 's/run 2:/run 1:/; s/--run 2/--run 1/' >plain.txt
check "vet, piped: every line as the terminal path prints it" 0 '' -- cmp piped.txt plain.txt
check "vet, piped: a long name of accented letters is cut to 28 characters" 0 \
  'Ünïcödé Pärtnérs Wïth À Näm…  brand' -- cat piped.txt
check "vet, piped: a long name is cut at 28 columns" 0 'A Very Long Partner Name Th…' -- cat piped.txt

