# partners.py N FILE: N partners with every field the default scorecard
# reads, the same bytes every time (CLI tests' data: vet_scale.sh, pg_shard.sh).
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
kinds = ["brand", "influencer", "kol", "supplier", "sponsor", "affiliate"]
with open(path, "w") as f:
    f.write("id,name,kind,followers,engagement_rate,audience_overlap,values_alignment,"
            "review_count,review_avg,sentiment,controversy_count,endorsements_total,"
            "endorsements_used,price_quote,market_price,self_mention_ratio,collabs_past,"
            "collabs_successful,response_hours,community_events,years_active,verified,"
            "mutual_connections\n")
    for i in range(1, n + 1):
        et = rng.randint(0, 40); cp = rng.randint(0, 30); m = round(rng.uniform(100, 20000), 2)
        f.write("P%07d,Partner %d,%s,%d,%.5f,%.4f,%.4f,%d,%.2f,%.4f,%d,%d,%d,%.2f,%.2f,%.4f,%d,%d,%.1f,%d,%d,%d,%d\n" % (
            i, i, rng.choice(kinds), int(10 ** rng.uniform(2, 7.5)), rng.uniform(0, 0.2),
            rng.random(), rng.random(), rng.randint(0, 200), rng.uniform(1, 5),
            rng.uniform(-1, 1), rng.randint(0, 4), et, rng.randint(0, et),
            m * rng.uniform(0.6, 2.2), m, rng.random(), cp, rng.randint(0, cp),
            rng.uniform(1, 96), rng.randint(0, 24), rng.randint(0, 20), rng.randint(0, 1),
            rng.randint(0, 80)))
