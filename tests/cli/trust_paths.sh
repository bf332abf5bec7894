#!/bin/sh
# trust_paths.sh: what a sandboxed script may open by path, attacked from
# the side of the host's own state. The database's files are reachable only
# through vouch.db and grant nothing beside them; a symlink inside a grant,
# pointing out, dangling, or swapped while the script reads through it,
# never leads out of the grant.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
mkdir -p d work grant outside
DB=$TMP/d/vouch.db
"$VOUCH" --db "$DB" -e 'vouch.db.open():exec("CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)")'
cp "$DB" db.copy
cd work

# The database's name is no grant: without --allow-write nothing beside it
# (or under a directory named after it) may be touched.
for name in "$DB" "$DB-x" "$DB-wal" "$DB-journal" "$DB-dir/f"; do
  check "without --allow-write, vouch.file.write($(basename "$name")) is refused" 1 \
    'write access denied \(allow it with --allow-write=PATH\)' -- \
    "$VOUCH" --db "$DB" -e "vouch.file.write('$name', 'garbage')"
done
check "without --allow-write, vouch.file.mkdir(vouch.db-dir) is refused" 1 \
  'write access denied' -- "$VOUCH" --db "$DB" -e "vouch.file.mkdir('$DB-dir')"
check "without --allow-read, a loader on vouch.db-wal is refused" 1 \
  'read access denied' -- "$VOUCH" --db "$DB" -e "vouch.load.csv('$DB-wal')"
check "without --allow-read, vouch.script on the database is refused" 1 \
  'read access denied' -- "$VOUCH" --db "$DB" -e "vouch.script('$DB')"
ok "nothing named after the database was created" \
  sh -c "! ls -d '$DB'-* 2>/dev/null | grep -q ."

# Granted the database's directory, its own files are still refused, named
# as such, while any other name there is an ordinary granted file.
for suffix in "" -wal -shm -journal; do
  check "with the database's directory writable, vouch.file.write(vouch.db$suffix) is refused" 1 \
    "vouch.db$suffix: the host's database is reachable only through vouch.db" -- \
    "$VOUCH" --db "$DB" --allow-write="$TMP/d" -e "vouch.file.write('$DB$suffix', 'garbage')"
done
check "with the database's directory writable, a loader on the database is refused" 1 \
  "the host's database is reachable only through vouch.db" -- \
  "$VOUCH" --db "$DB" --allow-write="$TMP/d" -e "vouch.load.csv('$DB')"
check "with the database's directory writable, vouch.script on vouch.db-journal is refused" 1 \
  "the host's database is reachable only through vouch.db" -- \
  "$VOUCH" --db "$DB" --allow-write="$TMP/d" -e "vouch.script('$DB-journal')"
check "with the database's directory writable, vouch.db.open(vouch.db-wal) is refused" 1 \
  "the host's database is reachable only through vouch.db" -- \
  "$VOUCH" --db "$DB" --allow-write="$TMP/d" -e "vouch.db.open('$DB-wal')"
check "vouch.db.open on the database's own path gives the host's connection" 0 '^1$' -- \
  "$VOUCH" --db "$DB" --allow-write="$TMP/d" -e "print(vouch.db.open('$DB'):one('SELECT x FROM t').x)"
check "with the database's directory writable, vouch.db-x is an ordinary file" 0 '^true	x$' -- \
  "$VOUCH" --db "$DB" --allow-write="$TMP/d" \
  -e "print(vouch.file.write('$DB-x', 'return \\'x\\''), vouch.script('$DB-x')())"
ok "the database is byte for byte as it was" cmp "$DB" ../db.copy

# A symlink inside the grant that points out of it leads nowhere.
printf 'return "OUTSIDE"\n' > ../outside/secret.lua
printf 'a\nOUTSIDE\n' > ../outside/secret.csv
ln -s "$TMP/outside/secret.lua" ../grant/link.lua
ln -s "$TMP/outside/secret.csv" ../grant/link.csv
ln -s "$TMP/outside" ../grant/dir
cp "$TMP/d/vouch.db" ../outside/other.db
ln -s "$TMP/outside/other.db" ../grant/link.db
G="--allow-read=$TMP/grant --allow-write=$TMP/grant"
check "a symlink out of the grant: vouch.script is refused" 1 'access denied' -- \
  "$VOUCH" --db "$DB" $G -e "vouch.script('$TMP/grant/link.lua')"
check "a symlink out of the grant: a loader is refused" 1 'access denied' -- \
  "$VOUCH" --db "$DB" $G -e "vouch.load.csv('$TMP/grant/link.csv'):all()"
check "a symlink out of the grant: vouch.file.write through a linked directory is refused" 1 \
  'access denied' -- "$VOUCH" --db "$DB" $G -e "vouch.file.write('$TMP/grant/dir/new.txt', 'x')"
check "a symlink out of the grant: vouch.db.open is refused" 1 'access denied' -- \
  "$VOUCH" --db "$DB" $G -e "vouch.db.open('$TMP/grant/link.db')"
ok "nothing was written out of the grant" test ! -e ../outside/new.txt

# A dangling symlink inside the write grant names a file to be created out
# of it: nothing may be created through it.
ln -s "$TMP/outside/created.db" ../grant/dangling.db
ln -s "$TMP/outside/created.txt" ../grant/dangling.txt
check "a dangling symlink out of the grant: vouch.db.open refuses it" 1 'access denied' -- \
  "$VOUCH" --db "$DB" $G -e "vouch.db.open('$TMP/grant/dangling.db', 'w')"
ok "vouch.db.open created nothing out of the grant" test ! -e ../outside/created.db
check "a dangling symlink out of the grant: vouch.file.write stays inside" 0 '' -- \
  "$VOUCH" --db "$DB" $G -e "vouch.file.write('$TMP/grant/dangling.txt', 'x')"
ok "vouch.file.write created nothing out of the grant" test ! -e ../outside/created.txt

# A symlink swapped between a file inside the grant and one outside while
# the script reads through it 2000 times with each reader: whenever a read
# succeeds it is the inside file (a check by name followed by an open by
# name let about one read in 300 through). The swapping stops after a
# bounded number of swaps, or when the script is done, and is killed at
# the end whatever happened.
printf 'return "INSIDE"\n' > ../grant/in.lua
printf 'a\nINSIDE\n' > ../grant/in.csv
python3 - "$TMP/grant" "$TMP/outside" "$TMP/swap" <<'PY' &
import os, sys
grant, outside, flag = sys.argv[1:]
for i in range(2000000):
    if i == 2:
        open(flag + ".started", "w").close()
    if i % 1000 == 0 and os.path.exists(flag + ".stop"):
        break
    for ext in ("lua", "csv"):
        target = "in." + ext if i % 2 else os.path.join(outside, "secret." + ext)
        tmp = os.path.join(grant, "swap.%s.tmp" % ext)
        os.symlink(target, tmp)
        os.replace(tmp, os.path.join(grant, "swap." + ext))
PY
swapper=$!
n=0
while [ ! -e "$TMP/swap.started" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
check "a symlink swapped during 2000 reads of each kind never shows the outside file" 0 \
  '^outside 0 inside [1-9][0-9]*$' -- \
  "$VOUCH" --db "$DB" $G -e "
    local seen = { OUTSIDE = 0, INSIDE = 0 }
    for _ = 1, 2000 do
      local ok, chunk = pcall(vouch.script, '$TMP/grant/swap.lua')
      if ok and chunk then local v = chunk(); seen[v] = seen[v] + 1 end
      local ok2, src = pcall(vouch.load.csv, '$TMP/grant/swap.csv')
      if ok2 and src then
        for _, row in ipairs(src:all()) do seen[row.a] = seen[row.a] + 1 end
      end
    end
    print('outside ' .. seen.OUTSIDE .. ' inside ' .. seen.INSIDE)"
touch "$TMP/swap.stop"
kill "$swapper" 2>/dev/null
wait "$swapper" 2>/dev/null
ok "the database is byte for byte as it was, after all" cmp "$DB" ../db.copy
