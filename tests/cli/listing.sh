#!/bin/sh
# listing.sh: db:print, the host's writer of long listings, and the piped
# `vouch vet` table it prints: every partner, lined up exactly as the table
# printed in Lua (the path a terminal takes) lines them up, whatever is in
# the names (wide characters, control characters, long names, ties in the
# totals that SQL's printf would round otherwise). The runs vetted are
# stored in files, or on a server under pg_listing.sh; db:print's own
# tables are a script's, in a file.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
V=$(record v) H=$(record h)

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

# Partners whose cells are not plain ASCII, beside plain ones; totals of
# the plain ones cover every decimal. The piped table (laid out by the
# host) must equal the table the terminal path prints (in Lua, with
# colour, then without its codes).
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
"$VOUCH" --db "$V" vet odd.csv >piped.txt 2>&1
"$VOUCH" --db "$V" --color=always vet odd.csv >styled.txt 2>&1
sed 's/\x1b\[[0-9;]*m//g' styled.txt | sed 's/run 2:/run 1:/; s/--run 2/--run 1/' >plain.txt
check "vet, piped: every line as the terminal path prints it" 0 '' -- cmp piped.txt plain.txt
check "vet, piped: a long name of accented letters is cut to 28 characters" 0 \
  'Ünïcödé Pärtnérs Wïth À Näm…  brand' -- cat piped.txt
check "vet, piped: a long name is cut at 28 columns" 0 'A Very Long Partner Name Th…' -- cat piped.txt

# Hostile names, the table checked to the byte: wide and combining
# characters, control characters (escaped), empty and long names (cut at
# 28 characters), a missing kind, an indeterminate total.
soh=$(printf '\001'); stx=$(printf '\002'); del=$(printf '\177'); tab=$(printf '\t')
acute=$(printf '\314\201')  # U+0301, combining: a character of its own
awk -F, -v OFS=, -v soh="$soh" -v stx="$stx" -v del="$del" -v tab="$tab" -v acute="$acute" '
  NR == 1 { print; next }
  NR == 2 { $2 = "😀 Smile Studio 😀" }
  NR == 3 { $2 = "Cafe" acute " Me" acute "lange Combining Marks Here" }
  NR == 4 { $2 = "Bell" soh "And" del "Del" }
  NR == 5 { $2 = "" }
  NR == 6 { $3 = "" }
  NR == 7 { $2 = "\"Two\nLines\"" }
  NR == 8 { $2 = "ความไว้วางใจทุนทางสังคมชุมชนมิตรภาพ Group" }
  NR == 9 { for (i = 5; i <= NF; i++) $i = "" }
  NR == 10 { $1 = "X" tab "Y"; $3 = "kind" stx }
  NR == 11 { $2 = "Exactly Twenty-Eight Bytes!!" }
  NR == 12 { $2 = "Exactly Twenty-Nine Bytes!!!!" }
  { print }' "$DATA" >hostile.csv
"$VOUCH" --db "$H" vet hostile.csv >hostile.txt 2>&1
cat > want.txt <<'TXT'
 #  partner  name                          kind        total  verdict  weakest        principal reasons
--  -------  ----------------------------  ----------  -----  -------  -------------  -----------------
 1  I003     Exactly Twenty-Eight Bytes!!  influencer   86.1  approve  authority
 2  A002     Green Cart                    affiliate    79.9  approve  goodwill
 3  A003     Bright Picks                  affiliate    79.6  approve  shared_values  VALUES_AUDIENCE_FIT
 4  B001     😀 Smile Studio 😀              brand        78.5  approve  shared_values  COMMUNITY_EVENTS, VALUES_AUDIENCE_FIT
 5  B002     Café Mélange Combining Ma…  brand        77.9  approve  goodwill       VALUES_AUDIENCE_FIT
 6  B007     ความไว้วางใจทุนทางสังคมชุมช…  brand        77.2  approve  goodwill       VALUES_AUDIENCE_FIT
 7  I005     Kai Builds                    influencer   76.5  approve  shared_values  COMMUNITY_EVENTS
 8  K003     Ana Costa                     kol          76.1  approve  collaboration  TRUST_TENURE
 9  I006     Luna Beauty Lab               influencer   76.1  approve  goodwill       TRUST_VERIFIED, COMMUNITY_EVENTS
10  K004     Dr. Priya Raman               kol          73.1  approve  goodwill       GOODWILL_SENTIMENT, VALUES_AUDIENCE_FIT
11  B006     Two\nLines                    brand        72.6  approve  trust          TRUST_VERIFIED, VALUES_AUDIENCE_FIT, AUTHORITY_ENGAGEMENT
12  B003     Bell\001And\127Del            brand        70.2  approve  shared_values  VALUES_AUDIENCE_FIT
13  K002     Prof. Kenji Sato              kol          67.8  approve  trust          TRUST_VERIFIED, TRUST_TENURE, AUTHORITY_ENGAGEMENT
14  I004     Exactly Twenty-Nine Bytes!!…  influencer   84.8  review   authority      AUDIENCE_OVERLAP
15  I007     Tom Reviews Everything        influencer   73.5  review   goodwill       VALUES_ALIGNMENT, TRUST_REVIEWS, TRUST_TENURE, TRUST_VERIFIED
16  B005     Lotus Wellness                             71.6  review   shared_values  VALUES_DRIFT, VALUES_AUDIENCE_FIT, VALUES_ALIGNMENT
17  A001     DealHub                       affiliate    63.8  review   trust          LOW_EVIDENCE, TRUST_TENURE, TRUST_VERIFIED, AUTHORITY_ENGAGEMENT
18  K001     Dr. Anan Skincare             kol          59.5  review   collaboration  AUDIENCE_MISMATCH, VALUES_AUDIENCE_FIT, COLLAB_TRACK_RECORD
19  B004                                   brand        55.9  review   empathy        SELF_FOCUS, EMPATHY_AUDIENCE_FOCUS, COLLAB_TRACK_RECORD, TRUST_VERIFIED
20  A004     Orbit Coupons                 affiliate    53.4  review   respect        COLLAB_TRACK_RECORD, RESPECT_RESPONSIVENESS, GOODWILL_SENTIMENT, TRUST_TENURE
21  X\tY     Blaze Fitness                 kind\002     48.3  review   trust          FAKE_ENGAGEMENT, TRUST_VERIFIED, COMMUNITY_EVENTS, TRUST_TENURE
22  I001     Mia Lifestyle                 influencer      -  review   -              CONTROVERSY, COLLAB_TRACK_RECORD, VALUES_ALIGNMENT, TRUST_REVIEWS

run 1: 22 partners: 13 approve, 9 review, 0 reject (scorecard social_capital)
TXT
check "vet, piped: hostile names laid out to the byte" 0 '' -- \
  sh -c "head -n 26 hostile.txt | cmp - want.txt"
"$VOUCH" --db "$H" --color=always vet hostile.csv 2>&1 |
  sed 's/\x1b\[[0-9;]*m//g; s/run 2:/run 1:/' | head -n 26 >hostile_plain.txt
check "vet, piped: hostile names as the terminal path lays them out" 0 '' -- \
  sh -c "head -n 26 hostile.txt | cmp - hostile_plain.txt"

# --no-store ranks the same rows in a temporary database and lays them out
# the same way: the table is the stored run's, line for line.
"$VOUCH" vet --no-store hostile.csv >bare.txt 2>&1
head -n 24 want.txt >want_table.txt
check "vet --no-store, piped: hostile names laid out as a stored run's" 0 '' -- \
  sh -c "head -n 24 bare.txt | cmp - want_table.txt"
check "vet --no-store, piped: its summary names no run" 0 '^22 partners: 13 approve, 9 review' -- \
  sed -n 26p bare.txt
"$VOUCH" vet --no-store odd.csv >bare_odd.txt 2>&1
head -n 24 piped.txt >piped_table.txt
check "vet --no-store, piped: the same table as stored, wide and accented names" 0 '' -- \
  sh -c "head -n 24 bare_odd.txt | cmp - piped_table.txt"
