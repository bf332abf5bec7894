/*
** insert_floor.c: the C floor for a bulk insert. The same rows as
** insert.lua, through one prepared statement in one transaction, with the
** pragmas vouch's databases use (WAL, synchronous=NORMAL, foreign keys).
** Prints the CPU seconds of the insert itself.
**   insert_floor DB N
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sqlite3.h>

static void check(sqlite3 *db, int rc) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "insert_floor: %s\n", sqlite3_errmsg(db));
    exit(1);
  }
}

int main(int argc, char **argv) {
  static const char *const kinds[] = {"brand", "influencer", "kol", "supplier"};
  sqlite3 *db;
  sqlite3_stmt *st;
  char id[32], name[64];
  long n, i;
  clock_t t0;
  if (argc != 3) { fprintf(stderr, "usage: insert_floor DB N\n"); return 2; }
  n = atol(argv[2]);
  check(NULL, sqlite3_open(argv[1], &db));
  check(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON; CREATE TABLE t(id TEXT, name TEXT, kind TEXT, followers INTEGER,"
    " engagement REAL, score REAL, verified INTEGER, country TEXT)", NULL, NULL, NULL));
  t0 = clock();
  check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
  check(db, sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?,?,?,?,?,?,?,?)", -1, &st, NULL));
  for (i = 1; i <= n; i++) {
    int len = snprintf(id, sizeof id, "P%07ld", i);
    int nlen = snprintf(name, sizeof name, "Partner number %ld", i);
    sqlite3_bind_text(st, 1, id, len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, nlen, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kinds[i % 4], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, i * 37 % 1000003);
    sqlite3_bind_double(st, 5, (double)(i % 1000) / 10000.0);
    sqlite3_bind_double(st, 6, (double)(i % 100) + 0.5);
    sqlite3_bind_int(st, 7, (int)(i % 2));
    sqlite3_bind_text(st, 8, "TH", 2, SQLITE_STATIC);
    check(db, sqlite3_step(st));
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
  printf("%.4f\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
  sqlite3_close(db);
  return 0;
}
