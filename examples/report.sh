#!/bin/sh
# make demo's last step: the latest run in the database DB (default: vouch's
# own default) as report.html, and report.png, a screenshot of it, where
# headless Chromium is installed.
#   sh examples/report.sh [DB]
set -eu
cd "$(dirname "$0")/.."
if ! ./vouch ${1:+--db "$1"} report --out report.html; then
  echo "report: nothing to report yet (vet some partners first)" >&2
  exit 0
fi
. tests/chromium.sh
if [ -n "$(chromium_bin)" ]; then
  chromium_shot report.html report.png 1200,2400 && echo "wrote report.png (a screenshot of report.html)"
else
  echo "report: open report.html in a browser (no chromium here for report.png)"
fi
