#!/bin/sh
# make demo: the main job on the bundled example data. Vets the example
# partners (CSV and JSON) with the default social-capital scorecard and
# prints the ranked table; the run is stored in a fresh database.
set -eu
cd "$(dirname "$0")/.."
db=${DEMO_DB:-${TMPDIR:-/tmp}/vouch-demo.db}
rm -f "$db" "$db-wal" "$db-shm"
echo "vouch vet examples/partners.csv examples/partners.json   (database: $db)"
echo
./vouch --db "$db" vet examples/partners.csv examples/partners.json
echo
echo "Next: ./vouch --db $db explain S001; see examples/README.md"
sh examples/report.sh "$db"
echo "The workbench, the record in a browser, live: ./vouch --db $db serve (it prints a link to open)"
