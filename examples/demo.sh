#!/bin/sh
# make demo: the main job on the bundled example data.
set -eu
cd "$(dirname "$0")/.."
./vouch run examples/hello.lua
sh examples/report.sh
