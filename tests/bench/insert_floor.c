/*
** insert_floor.c: the physical floor for bulk inserts, a plain C loop of
** one prepared INSERT on the rows the Lua benchmark inserts (the scores
** shape of the workload), on a connection set up as vouch sets up its own
** (WAL, synchronous=NORMAL, foreign keys, no mutex), in one transaction.
**   insert_floor DB NROWS  ->  prints "rows seconds" (CPU time)
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

static const char *const kinds[] = {"brand", "creator", "kol", "sponsor", "supplier"};
static const char *const verdicts[] = {"approve", "review", "reject"};

static void die(sqlite3 *db, const char *what) {
  fprintf(stderr, "insert_floor: %s: %s\n", what, sqlite3_errmsg(db));
  exit(1);
}

int main(int argc, char **argv) {
  sqlite3 *db;
  sqlite3_stmt *st;
  long n, i;
  int k;
  char (*ids)[16], (*names)[24];
  clock_t t0, t1;
  if (argc != 3) {
    fprintf(stderr, "usage: insert_floor DB NROWS\n");
    return 2;
  }
  n = atol(argv[2]);
  ids = malloc((size_t)n * sizeof *ids);
  names = malloc((size_t)n * sizeof *names);
  if (!ids || !names) return 1;
  /* The rows, made before the clock starts as the Lua side's are. */
  for (i = 0; i < n; i++) {
    snprintf(ids[i], sizeof ids[i], "P%07ld", i + 1);
    snprintf(names[i], sizeof names[i], "Partner %ld", i + 1);
  }
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL))
    die(db, "open");
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                       "PRAGMA foreign_keys = ON", NULL, NULL, NULL))
    die(db, "pragmas");
  if (sqlite3_prepare_v3(db, "INSERT INTO scores(run_id, partner_id, name, kind, total, "
                             "verdict, trust, goodwill, authority, community, empathy, "
                             "shared_values, respect, collaboration) VALUES "
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         -1, SQLITE_PREPARE_PERSISTENT, &st, NULL))
    die(db, "prepare");
  t0 = clock();
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) die(db, "begin");
  for (i = 0; i < n; i++) {
    long r = i + 1;
    sqlite3_bind_int64(st, 1, 1);
    sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, names[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, kinds[r % 5], -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, (double)(r % 10000) / 100.0);
    sqlite3_bind_text(st, 6, verdicts[r % 3], -1, SQLITE_STATIC);
    for (k = 1; k <= 8; k++) sqlite3_bind_double(st, 6 + k, (double)((r * k) % 1000) / 10.0);
    if (sqlite3_step(st) != SQLITE_DONE) die(db, "insert");
    sqlite3_reset(st);
  }
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) die(db, "commit");
  t1 = clock();
  printf("%ld %.3f\n", n, (double)(t1 - t0) / CLOCKS_PER_SEC);
  sqlite3_finalize(st);
  sqlite3_close(db);
  free(ids);
  free(names);
  return 0;
}
