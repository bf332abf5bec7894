-- A database written by vouch at schema version 7, when a scorecard's hash
-- was FNV-1a of its source: made in a directory (@DIR@ here) holding
-- examples/partners.csv and two small scorecards of its own, by
--   vouch vet partners.csv --rules ./card.lua       run 1, scorecard mine
--   vouch vet partners.csv --rules ./other.lua      run 2, scorecard other
--   vouch run inline.lua                            run 3, scorecard inline, made in the
--                                                   script and stored without its source
--   vouch schedule add nightly @daily cmd:vet partners.csv --rules ./card.lua \
--     --alert file:@DIR@/alerts.jsonl
--   vouch schedule run nightly                      run 4, scorecard mine
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE partners(id TEXT PRIMARY KEY, name TEXT, kind TEXT,
  attrs TEXT NOT NULL DEFAULT '{}',
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE loads(id INTEGER PRIMARY KEY, source TEXT NOT NULL,
  format TEXT NOT NULL, hash TEXT, rows INTEGER NOT NULL DEFAULT 0,
  bad_rows INTEGER NOT NULL DEFAULT 0, target TEXT, loaded_at TEXT NOT NULL, size INTEGER, columns TEXT);
INSERT INTO loads VALUES(1,'@DIR@/partners.csv','csv','f590d2930132f830793f8a4a75cc96b0',22,0,NULL,'2026-12-03T10:26:29Z',3461,'["id","name","kind","country","followers","engagement_rate","audience_overlap","values_alignment","values_alignment_prev","review_count","review_avg","sentiment","controversy_count","endorsements_total","endorsements_used","price_quote","market_price","self_mention_ratio","collabs_past","collabs_successful","response_hours","community_events","years_active","verified","mutual_connections","audience_quality","follower_growth","category","audience"]');
CREATE TABLE runs(id INTEGER PRIMARY KEY, scorecard TEXT NOT NULL,
  scorecard_hash TEXT NOT NULL, inputs TEXT NOT NULL DEFAULT '[]',
  started_at TEXT NOT NULL, ended_at TEXT,
  status TEXT NOT NULL DEFAULT 'running'
    CHECK (status IN ('running','ok','failed','aborted')),
  started_by TEXT NOT NULL DEFAULT 'cli',
  pid INTEGER, partners INTEGER, error TEXT);
INSERT INTO runs VALUES(1,'mine','34558b851ad54ef3','["partners.csv"]','2026-12-03T10:26:29Z','2026-12-03T10:26:29Z','ok','cli',1445,22,NULL);
INSERT INTO runs VALUES(2,'other','38b2565d356239fa','["partners.csv"]','2026-12-03T10:26:29Z','2026-12-03T10:26:29Z','ok','cli',1457,22,NULL);
INSERT INTO runs VALUES(3,'inline','349332df2aa9c379','["partners.csv"]','2026-12-03T10:26:29Z','2026-12-03T10:26:29Z','ok','cli',1471,22,NULL);
INSERT INTO runs VALUES(4,'mine','34558b851ad54ef3','["partners.csv"]','2026-12-03T10:26:30Z','2026-12-03T10:26:30Z','ok','cli',1491,22,NULL);
CREATE TABLE reasons(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  partner_id TEXT NOT NULL, code TEXT NOT NULL, dimension TEXT,
  outcome TEXT NOT NULL,
  points REAL,
  rank INTEGER,
  evidence TEXT NOT NULL DEFAULT '{}');
CREATE TABLE schedules(name TEXT PRIMARY KEY, expr TEXT NOT NULL,
  tz TEXT NOT NULL DEFAULT 'UTC', script TEXT NOT NULL,
  args TEXT NOT NULL DEFAULT '[]',
  missed TEXT NOT NULL DEFAULT 'skip' CHECK (missed IN ('skip','once','each')),
  missed_cap INTEGER NOT NULL DEFAULT 10,
  overlap TEXT NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip','queue','replace')),
  jitter INTEGER NOT NULL DEFAULT 0,
  paused INTEGER NOT NULL DEFAULT 0,
  alerts TEXT NOT NULL DEFAULT '[]',
  threshold REAL NOT NULL DEFAULT 10,
  dir TEXT,
  created_at TEXT NOT NULL, last_run TEXT, next_run TEXT, grants TEXT, keep INTEGER NOT NULL DEFAULT 0, keep_days REAL NOT NULL DEFAULT 0);
INSERT INTO schedules VALUES('nightly','@daily','UTC','cmd:vet','["partners.csv","--rules","./card.lua"]','skip',10,'skip',0,0,'["file:@DIR@/alerts.jsonl"]',10.0,'@DIR@','2026-12-03T10:26:29Z','2026-12-03T10:26:30Z','2026-12-04T00:00:00Z','{"read":["@DIR@","@DIR@/add","@DIR@/nightly","@DIR@/@daily","@DIR@/cmd:vet","@DIR@/partners.csv","@DIR@/card.lua","@DIR@/file:@DIR@/alerts.jsonl"],"write":["@DIR@"],"net":[],"env":[],"memory":1073741824,"timeout":600.0,"trusted":false}',0,0.0);
CREATE TABLE schedule_runs(id INTEGER PRIMARY KEY,
  schedule TEXT NOT NULL, scheduled_for TEXT,
  trigger TEXT NOT NULL DEFAULT 'time',
  status TEXT NOT NULL CHECK (status IN ('running','ok','failed','limit',
    'crashed','aborted','replaced','skipped')),
  started_at TEXT NOT NULL, ended_at TEXT, duration REAL, exit_code INTEGER,
  error TEXT, output TEXT, pid INTEGER, run_id INTEGER, alert TEXT);
INSERT INTO schedule_runs VALUES(1,'nightly','2026-12-03T10:26:30Z','manual','ok','2026-12-03T10:26:30Z','2026-12-03T10:26:30Z',0.057414671999999999929,0,NULL,replace(' #  partner  name                    kind        total  verdict  weakest   principal reasons\n--  -------  ----------------------  ----------  -----  -------  --------  -----------------\n 1  I003     Nok Travels             influencer   88.1  approve  goodwill\n 2  I004     Ploy Eats               influencer   85.1  approve  goodwill\n 3  B001     Lotus Foods             brand        83.0  approve  goodwill\n 4  I005     Kai Builds              influencer   81.8  approve  trust\n 5  K001     Dr. Anan Skincare       kol          81.5  approve  goodwill\n 6  B005     Lotus Wellness          brand        78.8  approve  goodwill\n 7  K003     Ana Costa               kol          77.9  approve  goodwill\n 8  B007     Zen Garden Tea          brand        77.4  approve  goodwill\n 9  B003     Maple & Pine Outdoor    brand        77.2  approve  goodwill\n10  I001     Mia Lifestyle           influencer   76.5  approve  goodwill\n11  I002     Blaze Fitness           influencer   75.8  approve  goodwill\n12  B002     Siam Craft Coffee       brand        75.4  approve  goodwill\n13  A003     Bright Picks            affiliate    75.3  approve  goodwill\n14  B006     Coral Reef Swimwear     brand        73.9  approve  goodwill  PRICE_OUTLIER\n15  A002     Green Cart              affiliate    73.0  approve  goodwill\n16  I006     Luna Beauty Lab         influencer   71.4  approve  goodwill  PRICE_OUTLIER\n17  B004     Echo Studio             brand        71.3  approve  goodwill\n18  K002     Prof. Kenji Sato        kol          70.1  approve  goodwill\n19  K004     Dr. Priya Raman         kol          68.1  approve  goodwill  SENTIMENT\n20  A001     DealHub                 affiliate    65.8  review   trust     LOW_EVIDENCE, PRICE_OUTLIER\n21  I007     Tom Reviews Everything  influencer   60.5  review   goodwill  TRUST_REVIEWS\n22  A004     Orbit Coupons           affiliate    57.2  review   goodwill  SENTIMENT\n\nrun 4: 22 partners: 19 approve, 3 review, 0 reject (scorecard mine)\nexplain one: vouch --db @DIR@/old.db explain PARTNER --run 4\n','\n',char(10)),1491,4,NULL);
CREATE TABLE schedule_triggers(id INTEGER PRIMARY KEY,
  schedule TEXT NOT NULL, partner_id TEXT, reason TEXT,
  created_at TEXT NOT NULL, fired_at TEXT);
CREATE TABLE scorecards(hash TEXT PRIMARY KEY, name TEXT NOT NULL,
  dimensions TEXT NOT NULL DEFAULT '[]', weights TEXT NOT NULL DEFAULT '[]',
  source TEXT, rules TEXT NOT NULL DEFAULT '{}') WITHOUT ROWID;
INSERT INTO scorecards VALUES('34558b851ad54ef3','mine','["trust","goodwill"]','[0.6,0.4]',replace('-- card.lua: a small scorecard of the test''s own, its source stored in the\n-- record with its hash.\nlocal sc = require "vouch.scorecard"\nreturn sc.scorecard {\n  name = "mine",\n  dimensions = { trust = 0.6, goodwill = 0.4 },\n  order = { "trust", "goodwill" },\n  bands = { reject = 40, approve = 65 },\n  rules = {\n    { id = "TRUST_REVIEWS", dimension = "trust", reads = { "review_avg", "review_count" },\n      says = "reviews average {review_avg} over {review_count}",\n      score = function(avg, n) return 100 * ((avg * n + 70) / (n + 20) - 1) / 4 end },\n    { id = "SENTIMENT", dimension = "goodwill", reads = { "sentiment" },\n      score = "50 * (sentiment + 1)" },\n    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },\n      when = function(n) return n >= 3 end },\n    { id = "LOW_EVIDENCE", flag = "review", reads = { "review_count" },\n      when = function(n) return n < 5 end },\n  },\n  portfolio = {\n    { id = "PRICE_OUTLIER", flag = "penalty", points = 5, reads = { "price_quote" },\n      says = "quotes {price_quote}, above {limit}",\n      check = function(set, raise)\n        for _, e in ipairs(set) do\n          if e.partner.price_quote > 10000 then raise(e, { limit = 10000 }) end\n        end\n      end },\n  },\n}\n','\n',char(10)),'{"SENTIMENT":"goodwill","TRUST_REVIEWS":"trust"}');
INSERT INTO scorecards VALUES('349332df2aa9c379','inline','["trust"]','[1]',NULL,'{"REVIEWS":"trust"}');
INSERT INTO scorecards VALUES('38b2565d356239fa','other','["trust","goodwill"]','[0.5,0.5]',replace('-- card.lua: a small scorecard of the test''s own, its source stored in the\n-- record with its hash.\nlocal sc = require "vouch.scorecard"\nreturn sc.scorecard {\n  name = "other",\n  dimensions = { trust = 0.5, goodwill = 0.5 },\n  order = { "trust", "goodwill" },\n  bands = { reject = 40, approve = 65 },\n  rules = {\n    { id = "TRUST_REVIEWS", dimension = "trust", reads = { "review_avg", "review_count" },\n      says = "reviews average {review_avg} over {review_count}",\n      score = function(avg, n) return 100 * ((avg * n + 70) / (n + 20) - 1) / 4 end },\n    { id = "SENTIMENT", dimension = "goodwill", reads = { "sentiment" },\n      score = "50 * (sentiment + 1)" },\n    { id = "CONTROVERSY", flag = "veto", reads = { "controversy_count" },\n      when = function(n) return n >= 3 end },\n    { id = "LOW_EVIDENCE", flag = "review", reads = { "review_count" },\n      when = function(n) return n < 5 end },\n  },\n  portfolio = {\n    { id = "PRICE_OUTLIER", flag = "penalty", points = 5, reads = { "price_quote" },\n      says = "quotes {price_quote}, above {limit}",\n      check = function(set, raise)\n        for _, e in ipairs(set) do\n          if e.partner.price_quote > 10000 then raise(e, { limit = 10000 }) end\n        end\n      end },\n  },\n}\n','\n',char(10)),'{"SENTIMENT":"goodwill","TRUST_REVIEWS":"trust"}');
CREATE TABLE run_loads(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  load_id INTEGER NOT NULL REFERENCES loads(id), PRIMARY KEY (run_id, load_id))
  WITHOUT ROWID;
INSERT INTO run_loads VALUES(1,1);
INSERT INTO run_loads VALUES(2,1);
INSERT INTO run_loads VALUES(3,1);
INSERT INTO run_loads VALUES(4,1);
CREATE TABLE inputs(load_id INTEGER NOT NULL REFERENCES loads(id) ON DELETE CASCADE,
  row INTEGER NOT NULL, vals TEXT NOT NULL, PRIMARY KEY (load_id, row)) WITHOUT ROWID;
INSERT INTO inputs VALUES(1,1,'["B001","Lotus Foods","brand","TH",174781,0.0579,0.49,0.66,null,420,4.6,0.49,0,8,4,1725.25,1815.18,0.15,3,3,11.5,4,12,1,69,null,null,"food",null]');
INSERT INTO inputs VALUES(1,2,'["B002","Siam Craft Coffee","brand","TH",333955,0.0433,0.37,0.81,null,45,4.8,0.22,0,2,1,5124.92,5483.88,0.17,4,4,13.9,12,7,1,38,null,null,"beverages",null]');
INSERT INTO inputs VALUES(1,3,'["B003","Maple & Pine Outdoor","brand","US",56081,0.0419,0.37,0.67,null,125,4.3,0.47,0,12,12,1449.31,1471.21,0.18,11,7,22.3,8,7,1,38,null,null,"outdoor",null]');
INSERT INTO inputs VALUES(1,4,'["B004","Echo Studio","brand","GB",264583,0.055,0.61,0.73,null,57,4.0,0.41,0,12,9,7265.12,6501.42,0.78,9,3,11.3,13,4,0,88,null,null,"design",null]');
INSERT INTO inputs VALUES(1,5,'["B005","Lotus Wellness","brand","TH",309032,0.0519,0.37,0.48,0.86,158,4.3,0.53,0,0,0,8598.1,8513.32,0.28,6,3,16.2,13,10,1,64,null,null,"wellness",null]');
INSERT INTO inputs VALUES(1,6,'["B006","Coral Reef Swimwear","brand","BR",325297,0.0247,0.37,0.86,null,86,4.6,0.4,0,7,6,10286.61,8889.03,0.12,9,8,10.8,7,5,0,85,null,null,"fashion",null]');
INSERT INTO inputs VALUES(1,7,'["B007","Zen Garden Tea","brand","JP",204460,0.0583,0.4,0.7,null,138,4.7,0.21,0,9,7,6991.75,6462.05,0.15,6,4,2.1,9,11,1,87,null,null,"beverages",null]');
INSERT INTO inputs VALUES(1,8,'["I001","Mia Lifestyle","influencer","TH",540000,0.041,0.61,0.77,null,220,4.3,0.4,0,34,4,736.21,801.91,0.26,2,1,6.2,6,10,1,58,0.88,0.03,null,"TH;women 18-34;beauty;lifestyle"]');
INSERT INTO inputs VALUES(1,9,'["I002","Blaze Fitness","influencer","US",860000,0.23,0.56,0.67,null,126,4.5,0.27,0,4,3,3071.33,3357.19,0.34,11,9,10.0,4,4,0,74,0.44,0.9,null,"US;men 18-34;fitness"]');
INSERT INTO inputs VALUES(1,10,'["I003","Nok Travels","influencer","TH",120000,0.052,0.62,0.88,null,180,4.7,0.72,0,8,6,3522.06,3806.94,0.12,12,11,13.9,14,8,1,80,0.93,0.04,null,"TH;travel;food;adults 25-44"]');
INSERT INTO inputs VALUES(1,11,'["I004","Ploy Eats","influencer","TH",98000,0.055,0.66,0.86,null,150,4.6,0.65,0,12,11,3206.72,3715.61,0.15,10,9,7.3,12,7,1,70,0.91,0.05,null,"TH;food;travel;adults 25-44"]');
INSERT INTO inputs VALUES(1,12,'["I005","Kai Builds","influencer","SG",45000,0.061,0.52,0.7,null,196,4.3,0.67,0,5,3,7427.08,5917.34,0.34,7,7,3.8,4,6,1,58,0.95,0.02,null,"SG;diy;home"]');
INSERT INTO inputs VALUES(1,13,'["I006","Luna Beauty Lab","influencer","VN",310000,0.038,0.58,0.87,null,63,4.7,0.26,0,6,3,10054.78,8558.56,0.3,14,14,6.4,5,9,0,57,0.82,0.06,null,"VN;beauty;women 18-34"]');
INSERT INTO inputs VALUES(1,14,'["I007","Tom Reviews Everything","influencer","GB",75000,0.03,0.68,null,null,null,null,0.21,0,9,6,4552.54,5295.94,0.33,14,12,16.4,12,null,null,59,0.8,0.01,null,"GB;tech;gadgets"]');
INSERT INTO inputs VALUES(1,15,'["K001","Dr. Anan Skincare","kol","TH",1200000,0.035,0.05,0.6,null,242,4.8,0.3,0,3,2,1537.17,1299.42,0.11,5,2,8.4,6,12,1,84,0.9,0.02,null,"TH;medical;adults 45+"]');
INSERT INTO inputs VALUES(1,16,'["K002","Prof. Kenji Sato","kol","JP",210000,0.028,0.64,0.79,null,276,4.0,0.28,0,8,5,5508.36,4682.64,0.1,9,6,19.1,12,3,0,34,0.92,0.01,null,"JP;finance;adults 35+"]');
INSERT INTO inputs VALUES(1,17,'["K003","Ana Costa","kol","BR",640000,0.044,0.59,0.79,null,267,4.6,0.25,0,8,4,4991.8,4434.64,0.11,5,3,8.1,15,4,1,86,0.86,0.03,null,"BR;sustainability;adults 25-44"]');
INSERT INTO inputs VALUES(1,18,'["K004","Dr. Priya Raman","kol","IN",380000,0.05,0.42,0.72,null,280,4.4,-0.1,2,3,2,3906.53,3391.03,0.27,6,6,22.3,6,10,1,30,0.9,0.02,null,"IN;health;nutrition"]');
INSERT INTO inputs VALUES(1,19,'["A001","DealHub","affiliate","US",229572,0.0229,0.58,0.86,null,3,5.0,0.52,0,5,4,10919.7,8916.95,0.14,4,2,23.3,6,1,0,65,0.7,0.1,null,"US;deals;shoppers"]');
INSERT INTO inputs VALUES(1,20,'["A002","Green Cart","affiliate","DE",89654,0.0483,0.7,0.76,null,235,4.1,0.36,0,11,10,4395.14,5000.55,0.19,7,6,14.2,10,14,1,57,0.85,0.02,null,"DE;sustainability;shoppers"]');
INSERT INTO inputs VALUES(1,21,'["A003","Bright Picks","affiliate","FR",124828,0.0589,0.39,0.72,null,40,4.7,0.29,0,12,11,4842.09,4855.82,0.13,8,8,20.7,13,7,1,83,0.8,0.04,null,"FR;home;shoppers"]');
INSERT INTO inputs VALUES(1,22,'["A004","Orbit Coupons","affiliate","IN",151309,0.0223,0.59,0.76,null,57,4.1,-0.35,0,1,1,3935.13,3581.04,0.3,6,1,90,6,4,1,30,0.66,0.2,null,"IN;deals;students"]');
CREATE TABLE http_cache(key TEXT PRIMARY KEY, url TEXT NOT NULL,
  status INTEGER NOT NULL, etag TEXT, last_modified TEXT,
  headers BLOB NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL,
  stored_at TEXT NOT NULL, used_at TEXT NOT NULL,
  hits INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS "scores"(run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  partner_id TEXT NOT NULL, name TEXT, kind TEXT, total REAL,
  verdict TEXT NOT NULL
    CHECK (verdict = 'approve' OR verdict = 'review' OR verdict = 'reject'),
  dims TEXT NOT NULL DEFAULT '[]', reasons TEXT NOT NULL DEFAULT '[]',
  load_id INTEGER, row INTEGER,
  PRIMARY KEY (run_id, partner_id)) WITHOUT ROWID;
INSERT INTO scores VALUES(1,'A001','DealHub','affiliate',65.834782608695661563,'review','[67.3913,76]','[["LOW_EVIDENCE","review",0,1],["PRICE_OUTLIER","penalty",-5,2,{"limit":10000,"price_quote":10919.7}]]',1,19);
INSERT INTO scores VALUES(1,'A002','Green Cart','affiliate',72.994117647058828881,'approve','[76.32353,68]','[]',1,20);
INSERT INTO scores VALUES(1,'A003','Bright Picks','affiliate',75.299999999999997156,'approve','[82.5,64.5]','[]',1,21);
INSERT INTO scores VALUES(1,'A004','Orbit Coupons','affiliate',57.162337662337662893,'review','[73.6039,32.5]','[["SENTIMENT","score",32.5,1]]',1,22);
INSERT INTO scores VALUES(1,'B001','Lotus Foods','brand',83.049999999999997157,'approve','[88.75,74.5]','[]',1,1);
INSERT INTO scores VALUES(1,'B002','Siam Craft Coffee','brand',75.400000000000005685,'approve','[85,61]','[]',1,2);
INSERT INTO scores VALUES(1,'B003','Maple & Pine Outdoor','brand',77.244827586206881164,'approve','[79.74138,73.5]','[]',1,3);
INSERT INTO scores VALUES(1,'B004','Echo Studio','brand',71.251948051948062355,'approve','[71.75325,70.5]','[]',1,4);
INSERT INTO scores VALUES(1,'B005','Lotus Wellness','brand',78.751685393258412659,'approve','[80.25281,76.5]','[]',1,5);
INSERT INTO scores VALUES(1,'B006','Coral Reef Swimwear','brand',73.886792452830178492,'approve','[84.81132,70]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10286.61}]]',1,6);
INSERT INTO scores VALUES(1,'B007','Zen Garden Tea','brand',77.421518987341784168,'approve','[88.70253,60.5]','[]',1,7);
INSERT INTO scores VALUES(1,'I001','Mia Lifestyle','influencer',76.5,'approve','[80.83333,70]','[]',1,8);
INSERT INTO scores VALUES(1,'I002','Blaze Fitness','influencer',75.845205479452062037,'approve','[84.07534,63.5]','[]',1,9);
INSERT INTO scores VALUES(1,'I003','Nok Travels','influencer',88.099999999999994313,'approve','[89.5,86]','[]',1,10);
INSERT INTO scores VALUES(1,'I004','Ploy Eats','influencer',85.058823529411768053,'approve','[86.76471,82.5]','[]',1,11);
INSERT INTO scores VALUES(1,'I005','Kai Builds','influencer',81.788888888888877206,'approve','[80.64815,83.5]','[]',1,12);
INSERT INTO scores VALUES(1,'I006','Luna Beauty Lab','influencer',71.362650602409644306,'approve','[85.27108,63]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10054.78}]]',1,13);
INSERT INTO scores VALUES(1,'I007','Tom Reviews Everything','influencer',60.500000000000007105,'review','[null,60.5]','[["TRUST_REVIEWS","indeterminate",null,1]]',1,14);
INSERT INTO scores VALUES(1,'K001','Dr. Anan Skincare','kol',81.511450381679381397,'approve','[92.51908,65]','[]',1,15);
INSERT INTO scores VALUES(1,'K002','Prof. Kenji Sato','kol',70.093243243243250617,'approve','[74.15541,64]','[]',1,16);
INSERT INTO scores VALUES(1,'K003','Ana Costa','kol',77.850174216027852478,'approve','[88.08362,62.5]','[]',1,17);
INSERT INTO scores VALUES(1,'K004','Dr. Priya Raman','kol',68.099999999999994313,'approve','[83.5,45]','[["SENTIMENT","score",45,1]]',1,18);
INSERT INTO scores VALUES(2,'A001','DealHub','affiliate',66.695652173913046569,'review','[67.3913,76]','[["LOW_EVIDENCE","review",0,1],["PRICE_OUTLIER","penalty",-5,2,{"limit":10000,"price_quote":10919.7}]]',1,19);
INSERT INTO scores VALUES(2,'A002','Green Cart','affiliate',72.161764705882347923,'approve','[76.32353,68]','[]',1,20);
INSERT INTO scores VALUES(2,'A003','Bright Picks','affiliate',73.499999999999999999,'approve','[82.5,64.5]','[]',1,21);
INSERT INTO scores VALUES(2,'A004','Orbit Coupons','affiliate',53.051948051948052409,'review','[73.6039,32.5]','[["SENTIMENT","score",32.5,1]]',1,22);
INSERT INTO scores VALUES(2,'B001','Lotus Foods','brand',81.625000000000000003,'approve','[88.75,74.5]','[]',1,1);
INSERT INTO scores VALUES(2,'B002','Siam Craft Coffee','brand',73.0,'approve','[85,61]','[]',1,2);
INSERT INTO scores VALUES(2,'B003','Maple & Pine Outdoor','brand',76.620689655172412812,'approve','[79.74138,73.5]','[]',1,3);
INSERT INTO scores VALUES(2,'B004','Echo Studio','brand',71.126623376623371087,'approve','[71.75325,70.5]','[]',1,4);
INSERT INTO scores VALUES(2,'B005','Lotus Wellness','brand',78.376404494382015284,'approve','[80.25281,76.5]','[]',1,5);
INSERT INTO scores VALUES(2,'B006','Coral Reef Swimwear','brand',72.405660377358486813,'approve','[84.81132,70]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10286.61}]]',1,6);
INSERT INTO scores VALUES(2,'B007','Zen Garden Tea','brand',74.601265822784810664,'approve','[88.70253,60.5]','[]',1,7);
INSERT INTO scores VALUES(2,'I001','Mia Lifestyle','influencer',75.416666666666657193,'approve','[80.83333,70]','[]',1,8);
INSERT INTO scores VALUES(2,'I002','Blaze Fitness','influencer',73.787671232876718362,'approve','[84.07534,63.5]','[]',1,9);
INSERT INTO scores VALUES(2,'I003','Nok Travels','influencer',87.749999999999999996,'approve','[89.5,86]','[]',1,10);
INSERT INTO scores VALUES(2,'I004','Ploy Eats','influencer',84.632352941176463897,'approve','[86.76471,82.5]','[]',1,11);
INSERT INTO scores VALUES(2,'I005','Kai Builds','influencer',82.074074074074076182,'approve','[80.64815,83.5]','[]',1,12);
INSERT INTO scores VALUES(2,'I006','Luna Beauty Lab','influencer',69.13554216867470359,'approve','[85.27108,63]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10054.78}]]',1,13);
INSERT INTO scores VALUES(2,'I007','Tom Reviews Everything','influencer',60.500000000000000001,'review','[null,60.5]','[["TRUST_REVIEWS","indeterminate",null,1]]',1,14);
INSERT INTO scores VALUES(2,'K001','Dr. Anan Skincare','kol',78.759541984732820197,'approve','[92.51908,65]','[]',1,15);
INSERT INTO scores VALUES(2,'K002','Prof. Kenji Sato','kol',69.077702702702708848,'approve','[74.15541,64]','[]',1,16);
INSERT INTO scores VALUES(2,'K003','Ana Costa','kol',75.291811846689881805,'approve','[88.08362,62.5]','[]',1,17);
INSERT INTO scores VALUES(2,'K004','Dr. Priya Raman','kol',64.250000000000000001,'review','[83.5,45]','[["SENTIMENT","score",45,1]]',1,18);
INSERT INTO scores VALUES(3,'A001','DealHub','affiliate',100.0,'approve','[100]','[]',1,19);
INSERT INTO scores VALUES(3,'A002','Green Cart','affiliate',82.0,'approve','[82]','[]',1,20);
INSERT INTO scores VALUES(3,'A003','Bright Picks','affiliate',94.0,'approve','[94]','[]',1,21);
INSERT INTO scores VALUES(3,'A004','Orbit Coupons','affiliate',82.0,'approve','[82]','[]',1,22);
INSERT INTO scores VALUES(3,'B001','Lotus Foods','brand',92.0,'approve','[92]','[]',1,1);
INSERT INTO scores VALUES(3,'B002','Siam Craft Coffee','brand',96.0,'approve','[96]','[]',1,2);
INSERT INTO scores VALUES(3,'B003','Maple & Pine Outdoor','brand',86.0,'approve','[86]','[]',1,3);
INSERT INTO scores VALUES(3,'B004','Echo Studio','brand',80.0,'approve','[80]','[]',1,4);
INSERT INTO scores VALUES(3,'B005','Lotus Wellness','brand',86.0,'approve','[86]','[]',1,5);
INSERT INTO scores VALUES(3,'B006','Coral Reef Swimwear','brand',92.0,'approve','[92]','[]',1,6);
INSERT INTO scores VALUES(3,'B007','Zen Garden Tea','brand',94.0,'approve','[94]','[]',1,7);
INSERT INTO scores VALUES(3,'I001','Mia Lifestyle','influencer',86.0,'approve','[86]','[]',1,8);
INSERT INTO scores VALUES(3,'I002','Blaze Fitness','influencer',90.0,'approve','[90]','[]',1,9);
INSERT INTO scores VALUES(3,'I003','Nok Travels','influencer',94.0,'approve','[94]','[]',1,10);
INSERT INTO scores VALUES(3,'I004','Ploy Eats','influencer',92.0,'approve','[92]','[]',1,11);
INSERT INTO scores VALUES(3,'I005','Kai Builds','influencer',86.0,'approve','[86]','[]',1,12);
INSERT INTO scores VALUES(3,'I006','Luna Beauty Lab','influencer',94.0,'approve','[94]','[]',1,13);
INSERT INTO scores VALUES(3,'I007','Tom Reviews Everything','influencer',NULL,'review','[null]','[["REVIEWS","indeterminate",null,1]]',1,14);
INSERT INTO scores VALUES(3,'K001','Dr. Anan Skincare','kol',96.0,'approve','[96]','[]',1,15);
INSERT INTO scores VALUES(3,'K002','Prof. Kenji Sato','kol',80.0,'approve','[80]','[]',1,16);
INSERT INTO scores VALUES(3,'K003','Ana Costa','kol',92.0,'approve','[92]','[]',1,17);
INSERT INTO scores VALUES(3,'K004','Dr. Priya Raman','kol',88.0,'approve','[88]','[]',1,18);
INSERT INTO scores VALUES(4,'A001','DealHub','affiliate',65.834782608695661563,'review','[67.3913,76]','[["LOW_EVIDENCE","review",0,1],["PRICE_OUTLIER","penalty",-5,2,{"limit":10000,"price_quote":10919.7}]]',1,19);
INSERT INTO scores VALUES(4,'A002','Green Cart','affiliate',72.994117647058828881,'approve','[76.32353,68]','[]',1,20);
INSERT INTO scores VALUES(4,'A003','Bright Picks','affiliate',75.299999999999997156,'approve','[82.5,64.5]','[]',1,21);
INSERT INTO scores VALUES(4,'A004','Orbit Coupons','affiliate',57.162337662337662893,'review','[73.6039,32.5]','[["SENTIMENT","score",32.5,1]]',1,22);
INSERT INTO scores VALUES(4,'B001','Lotus Foods','brand',83.049999999999997157,'approve','[88.75,74.5]','[]',1,1);
INSERT INTO scores VALUES(4,'B002','Siam Craft Coffee','brand',75.400000000000005685,'approve','[85,61]','[]',1,2);
INSERT INTO scores VALUES(4,'B003','Maple & Pine Outdoor','brand',77.244827586206881164,'approve','[79.74138,73.5]','[]',1,3);
INSERT INTO scores VALUES(4,'B004','Echo Studio','brand',71.251948051948062355,'approve','[71.75325,70.5]','[]',1,4);
INSERT INTO scores VALUES(4,'B005','Lotus Wellness','brand',78.751685393258412659,'approve','[80.25281,76.5]','[]',1,5);
INSERT INTO scores VALUES(4,'B006','Coral Reef Swimwear','brand',73.886792452830178492,'approve','[84.81132,70]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10286.61}]]',1,6);
INSERT INTO scores VALUES(4,'B007','Zen Garden Tea','brand',77.421518987341784168,'approve','[88.70253,60.5]','[]',1,7);
INSERT INTO scores VALUES(4,'I001','Mia Lifestyle','influencer',76.5,'approve','[80.83333,70]','[]',1,8);
INSERT INTO scores VALUES(4,'I002','Blaze Fitness','influencer',75.845205479452062037,'approve','[84.07534,63.5]','[]',1,9);
INSERT INTO scores VALUES(4,'I003','Nok Travels','influencer',88.099999999999994313,'approve','[89.5,86]','[]',1,10);
INSERT INTO scores VALUES(4,'I004','Ploy Eats','influencer',85.058823529411768053,'approve','[86.76471,82.5]','[]',1,11);
INSERT INTO scores VALUES(4,'I005','Kai Builds','influencer',81.788888888888877206,'approve','[80.64815,83.5]','[]',1,12);
INSERT INTO scores VALUES(4,'I006','Luna Beauty Lab','influencer',71.362650602409644306,'approve','[85.27108,63]','[["PRICE_OUTLIER","penalty",-5,1,{"limit":10000,"price_quote":10054.78}]]',1,13);
INSERT INTO scores VALUES(4,'I007','Tom Reviews Everything','influencer',60.500000000000007105,'review','[null,60.5]','[["TRUST_REVIEWS","indeterminate",null,1]]',1,14);
INSERT INTO scores VALUES(4,'K001','Dr. Anan Skincare','kol',81.511450381679381397,'approve','[92.51908,65]','[]',1,15);
INSERT INTO scores VALUES(4,'K002','Prof. Kenji Sato','kol',70.093243243243250617,'approve','[74.15541,64]','[]',1,16);
INSERT INTO scores VALUES(4,'K003','Ana Costa','kol',77.850174216027852478,'approve','[88.08362,62.5]','[]',1,17);
INSERT INTO scores VALUES(4,'K004','Dr. Priya Raman','kol',68.099999999999994313,'approve','[83.5,45]','[["SENTIMENT","score",45,1]]',1,18);
CREATE INDEX reasons_run ON reasons(run_id, partner_id);
CREATE INDEX reasons_code ON reasons(code);
CREATE INDEX schedule_runs_schedule ON schedule_runs(schedule, id);
CREATE INDEX loads_hash ON loads(hash);
CREATE INDEX http_cache_used ON http_cache(used_at);
CREATE INDEX scores_partner ON scores(partner_id, run_id);
COMMIT;
PRAGMA user_version = 7;
