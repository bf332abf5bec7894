#!/bin/sh
# xlsx.sh: reading a workbook of XLSX_ROWS partners (default 100,000) with
# vouch.load.xlsx():rows() beside Node's exceljs streaming WorkbookReader
# (installed from the npm registry into BENCH_DIR/exceljs; skipped without
# npm). The workbook is LibreOffice's conversion of the workload's CSV
# (shared strings, as spreadsheet programs write them), or vouch.xlsx's
# (inline strings) when LibreOffice is not installed.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# xlsx.sh: no shared/bench kit, skipped" >&2; exit 0; }
N=${XLSX_ROWS:-100000}
csv=$(partners_csv "$N")
book=${csv%.csv}.xlsx
R="$ROOT/tests/bench/xlsx_rows.lua"
if [ ! -s "$book" ]; then
  if command -v libreoffice >/dev/null 2>&1; then
    HOME="$BENCH_DIR/lohome" libreoffice --headless --convert-to xlsx --outdir "$BENCH_DIR" \
      "$csv" >/dev/null 2>&1
  else
    "$VOUCH" run --allow-read="$BENCH_DIR" --allow-write="$BENCH_DIR" "$R" make "$csv" "$book"
  fi
fi
by=$(unzip -l "$book" 2>/dev/null | grep -q sharedStrings && echo "shared strings" || echo "inline strings")
mb=$(awk -v b="$(stat -c %s "$book")" 'BEGIN { printf "%.1f", b / 1048576 }')

measure "$VOUCH" run --allow-read="$BENCH_DIR" "$R" rows "$book"
v=$WALL
[ "$OUT" = "$N" ] || echo "# xlsx.sh: vouch read $OUT rows, not $N" >&2
row "xlsx: load.xlsx():rows(), $N rows ($mb MB, $by)" "$v" s "$PEAK"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  row "xlsx: node exceljs WorkbookReader" - s - "# SKIP npm is not installed"
  exit 0
fi
js=$BENCH_DIR/exceljs
if [ ! -d "$js/node_modules/exceljs" ]; then
  mkdir -p "$js"
  (cd "$js" && npm install --silent --no-audit --no-fund exceljs@4 >/dev/null 2>&1) || {
    row "xlsx: node exceljs WorkbookReader" - s - "# SKIP npm install exceljs failed"
    exit 0
  }
fi
cat > "$js/rows.js" <<'JS'
const ExcelJS = require('exceljs');
(async () => {
  const wb = new ExcelJS.stream.xlsx.WorkbookReader(process.argv[2], {
    sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit' });
  let n = 0;
  for await (const ws of wb) { for await (const row of ws) { n++; } break; }
  console.log(n - 1);  // the header
})();
JS
measure node "$js/rows.js" "$book"
[ "$OUT" = "$N" ] || echo "# xlsx.sh: exceljs read $OUT rows, not $N" >&2
row "xlsx: node exceljs WorkbookReader, same file" "$WALL" s "$PEAK" "vouch $(ratio "$WALL" "$v")x faster"
