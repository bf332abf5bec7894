#!/usr/bin/env python3
"""Change the example partners the way the world does, one round at a time:
  mutate.py partners.csv ROUND
round 1: a scandal breaks around one brand (controversies, sentiment falls);
round 2: audiences drift: engagement halves and values alignment drops for all;
round 3: a second partner gets into trouble."""
import csv
import sys

path, rnd = sys.argv[1], int(sys.argv[2])
with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
    fields = list(rows[0].keys())


def num(v, default=0.0):
    try:
        return float(v)
    except ValueError:
        return default


for r in rows:
    if rnd == 1 and r["id"] == "B002":
        r["controversy_count"] = "4"
        r["sentiment"] = "-0.6"
        r["review_avg"] = "2.1"
    if rnd == 2:
        if r["engagement_rate"]:
            r["engagement_rate"] = "%.4f" % (num(r["engagement_rate"]) * 0.5)
        if r["values_alignment"]:
            r["values_alignment_prev"] = r["values_alignment"]
            r["values_alignment"] = "%.2f" % max(0.0, num(r["values_alignment"]) - 0.3)
        if r["sentiment"]:
            r["sentiment"] = "%.2f" % (num(r["sentiment"]) - 0.3)
    if rnd == 3 and r["id"] == rows[-1]["id"]:
        r["controversy_count"] = "3"
        r["sentiment"] = "-0.5"

with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
print("round %d: %s changed" % (rnd, path))
