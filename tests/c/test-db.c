/*
** test-db.c: the C interface of db.h, as the loaders use it: the host's
** database opened lazily, bulk inserts that commit with a record in
** `loads` or roll back leaving nothing, values of every type, savepoints
** inside an open transaction, and misuse reported rather than crashing.
** Each test runs on a real host and a real database file in the working
** directory (tests/run.sh runs us in a fresh temporary directory).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"

static int seq;

/* A fresh host whose database is a new file. */
static int setup(void **state) {
  vouch_opts_t o;
  char path[64];
  memset(&o, 0, sizeof o);
  snprintf(path, sizeof path, "test-db-%d.db", ++seq);
  unlink(path);
  o.db_path = path;
  *state = vouch_host_new(&o);
  return *state == NULL;
}

static int teardown(void **state) {
  vouch_host_free(*state);
  return 0;
}

/* Run Lua `code` (the `vouch` global is there) and return its integer result. */
static lua_Integer lua_int(vouch_host_t *h, const char *code) {
  lua_State *L = h->L;
  lua_Integer v;
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    print_error("lua: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    fail();
  }
  v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

static vouch_value_t vint(int64_t i) { vouch_value_t v = {VOUCH_INT, {.i = i}}; return v; }
static vouch_value_t vreal(double d) { vouch_value_t v = {VOUCH_REAL, {.d = d}}; return v; }
static vouch_value_t vnull(void) { vouch_value_t v = {VOUCH_NULL, {.i = 0}}; return v; }
static vouch_value_t vtext(const char *p, size_t n) {
  vouch_value_t v;
  v.type = VOUCH_TEXT;
  v.u.s.p = p;
  v.u.s.n = n;
  return v;
}
static vouch_value_t vblob(const char *p, size_t n) {
  vouch_value_t v = vtext(p, n);
  v.type = VOUCH_BLOB;
  return v;
}

static const char *const cols[] = {"id", "name", "score", "raw", "note"};


static void test_default_is_cached(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *a = vouch_db_default(h->L), *b = vouch_db_default(h->L);
  assert_non_null(a);
  assert_ptr_equal(a, b);
  assert_int_equal(lua_int(h, "return vouch.db.open():one('PRAGMA user_version').user_version"),
                   lua_int(h, "return vouch.db.schema_version"));
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT count(*) AS n FROM runs').n"), 0);
}


static void test_bulk_commit_records_the_load(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  vouch_load_info_t info = {"partners.csv", "csv", "abc123", 3, 1};
  vouch_bulk_t *b = vouch_db_bulk_begin(db, NULL, "people", 5, cols, &err);
  int i;
  assert_non_null(b);
  assert_null(err);
  for (i = 0; i < 3; i++) {
    char name[16];
    vouch_value_t row[5];
    snprintf(name, sizeof name, "n%d", i);
    row[0] = vint(i);
    row[1] = vtext(name, strlen(name));
    row[2] = vreal(i + 0.5);
    row[3] = vblob("\0\1\2", 3);
    row[4] = vnull();
    assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  }
  assert_int_equal(vouch_db_bulk_end(b, 1, &info, &err), 0);
  assert_null(err);
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT count(*) AS n FROM people').n"), 3);
  assert_int_equal(lua_int(h, "local r = vouch.db.open():one("
    "\"SELECT typeof(id) AS a, typeof(name) AS b, typeof(score) AS c, typeof(raw) AS d, "
    "typeof(note) AS e, length(raw) AS n, score FROM people WHERE id = 2\") "
    "return (r.a == 'integer' and r.b == 'text' and r.c == 'real' and r.d == 'blob' "
    "and r.e == 'null' and r.n == 3 and r.score == 2.5) and 1 or 0"), 1);
  assert_int_equal(lua_int(h, "local r = vouch.db.open():one('SELECT * FROM loads') "
    "return (r.source == 'partners.csv' and r.format == 'csv' and r.hash == 'abc123' "
    "and r.rows == 3 and r.bad_rows == 1 and r.target == 'people' "
    "and r.loaded_at:match('^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$')) and 1 or 0"), 1);
}


static void test_bulk_rollback_leaves_nothing(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  vouch_load_info_t info = {"x.csv", "csv", NULL, 1, 0};
  vouch_bulk_t *b = vouch_db_bulk_begin(db, NULL, "gone", 2, cols, &err);
  vouch_value_t row[2];
  assert_non_null(b);
  row[0] = vint(1);
  row[1] = vtext("a", 1);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  assert_int_equal(vouch_db_bulk_end(b, 0, &info, &err), 0);
  assert_int_equal(lua_int(h, "return vouch.db.open():one("
    "\"SELECT count(*) AS n FROM sqlite_schema WHERE name = 'gone'\").n"), 0);
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT count(*) AS n FROM loads').n"), 0);
}


static void test_bulk_text_with_nul_and_unicode(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  static const char s[] = "a\0b\xe0\xb8\x81";  /* a NUL and a Thai letter */
  vouch_bulk_t *b = vouch_db_bulk_begin(db, NULL, "texts", 1, cols + 1, &err);
  vouch_value_t row[1];
  assert_non_null(b);
  row[0] = vtext(s, sizeof s - 1);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  assert_int_equal(vouch_db_bulk_end(b, 1, NULL, &err), 0);
  assert_int_equal(lua_int(h, "local r = vouch.db.open():one('SELECT name FROM texts') "
                              "return r.name == 'a\\0b\\u{e01}' and 1 or 0"), 1);
}


static void test_bulk_row_error_then_rollback(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  vouch_bulk_t *b;
  vouch_value_t row[2];
  lua_int(h, "vouch.db.open():exec('CREATE TABLE uniq(id UNIQUE, name)') return 0");
  b = vouch_db_bulk_begin(db, NULL, "uniq", 2, cols, &err);
  assert_non_null(b);
  row[0] = vint(1);
  row[1] = vtext("x", 1);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err, "row 2: UNIQUE constraint failed: uniq.id (SQLITE_CONSTRAINT_UNIQUE)"));
  free(err);
  err = NULL;
  assert_int_equal(vouch_db_bulk_end(b, 0, NULL, &err), 0);
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT count(*) AS n FROM uniq').n"), 0);
}


static void test_bulk_begin_errors(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  static const char *const dup[] = {"a", "a"};
  lua_int(h, "vouch.db.open():exec('CREATE TABLE narrow(id)') return 0");
  assert_null(vouch_db_bulk_begin(db, NULL, "narrow", 2, cols, &err));
  assert_non_null(strstr(err, "narrow: table narrow has no column named name (SQLITE_ERROR)"));
  free(err);
  assert_null(vouch_db_bulk_begin(db, NULL, "dups", 2, dup, &err));
  assert_non_null(strstr(err, "duplicate column name: a"));
  free(err);
  assert_null(vouch_db_bulk_begin(db, NULL, "none", 0, cols, &err));
  assert_non_null(err);
  free(err);
  /* nothing was left open: a new transaction can start */
  assert_int_equal(lua_int(h, "local db = vouch.db.open() "
    "db:tx(function() db:exec('CREATE TABLE after(a)') end) return 1"), 1);
}


static void test_bulk_inside_a_transaction(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  vouch_bulk_t *b;
  vouch_value_t row[1];
  lua_int(h, "local db = vouch.db.open() db:exec('BEGIN') "
             "db:exec('CREATE TABLE outer_t(a)') db:exec('INSERT INTO outer_t VALUES (1)') return 0");
  b = vouch_db_bulk_begin(db, NULL, "inner", 1, cols, &err);
  assert_non_null(b);
  row[0] = vint(7);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  assert_int_equal(vouch_db_bulk_end(b, 0, NULL, &err), 0);  /* only the savepoint goes */
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT count(*) AS n FROM outer_t').n"), 1);
  b = vouch_db_bulk_begin(db, NULL, "inner", 1, cols, &err);
  assert_non_null(b);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), 0);
  assert_int_equal(vouch_db_bulk_end(b, 1, NULL, &err), 0);
  lua_int(h, "vouch.db.open():exec('COMMIT') return 0");
  assert_int_equal(lua_int(h, "return vouch.db.open():one('SELECT id FROM inner').id"), 7);
}


static void test_bulk_after_close(void **state) {
  vouch_host_t *h = *state;
  vouch_db_t *db = vouch_db_default(h->L);
  char *err = NULL;
  vouch_value_t row[1];
  vouch_bulk_t *b = vouch_db_bulk_begin(db, NULL, "closing", 1, cols, &err);
  assert_non_null(b);
  lua_getfield(h->L, LUA_REGISTRYINDEX, "vouch.db.default");  /* keep the userdata */
  lua_int(h, "vouch.db.open():close() return 0");
  row[0] = vint(1);
  assert_int_equal(vouch_db_bulk_row(b, row, &err), -1);
  assert_string_equal(err, "attempt to use a closed database");
  free(err);
  assert_int_equal(vouch_db_bulk_end(b, 1, NULL, &err), -1);
  assert_non_null(strstr(err, "closed"));
  free(err);
  lua_pop(h->L, 1);
  /* a new default opens, and the load left nothing */
  assert_int_equal(lua_int(h, "return vouch.db.open():one("
    "\"SELECT count(*) AS n FROM sqlite_schema WHERE name = 'closing'\").n"), 0);
}


static int check_not_db(lua_State *L) {
  vouch_db_check(L, 1);
  return 0;
}

static void test_check_raises(void **state) {
  vouch_host_t *h = *state;
  lua_State *L = h->L;
  lua_pushcfunction(L, check_not_db);
  lua_newtable(L);
  assert_int_not_equal(lua_pcall(L, 1, 0, 0), LUA_OK);
  assert_non_null(strstr(lua_tostring(L, -1), "vouch.db expected, got table"));
  lua_pop(L, 1);
}


static int open_default(lua_State *L) {
  vouch_db_default(L);
  return 0;
}

static void test_default_refuses_a_newer_schema(void **state) {
  vouch_host_t *h = *state;
  lua_State *L = h->L;
  char *path = strdup(h->db_path);
  /* make the file look written by a newer vouch, then ask for it again */
  lua_int(h, "local db = vouch.db.open() db:close() return 0");
  {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sqlite3 %s 'PRAGMA user_version = 1000'", path);
    assert_int_equal(system(cmd), 0);
  }
  lua_pushcfunction(L, open_default);
  assert_int_not_equal(lua_pcall(L, 0, 0, 0), LUA_OK);
  assert_non_null(strstr(lua_tostring(L, -1), "written by a newer vouch (schema version 1000"));
  lua_pop(L, 1);
  assert_int_equal(h->exit_code, VOUCH_EXIT_DB);
  free(path);
}


/* The REPL's Ctrl-C ends the query that is running, once. */
static void test_interrupt_stops_a_query(void **state) {
  vouch_host_t *h = *state;
  lua_State *L = h->L;
  static const char code[] =
    "local db = vouch.db.open(':memory:') "
    "local ok, err = pcall(db.one, db, 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
    "SELECT x + 1 FROM c) SELECT count(*) AS n FROM c') "
    "return err";
  h->limit_hit = VOUCH_LIMIT_INTERRUPT;
  assert_int_equal(luaL_dostring(L, code), LUA_OK);
  assert_non_null(strstr(lua_tostring(L, -1), "interrupted (SQLITE_INTERRUPT)"));
  lua_pop(L, 1);
  assert_int_equal(h->limit_hit, VOUCH_LIMIT_NONE);
  assert_int_equal(lua_int(h, "return vouch.db.open(':memory:'):one("
    "'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) "
    "SELECT count(*) AS n FROM c').n"), 100000);
}


int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_default_is_cached, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_commit_records_the_load, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_rollback_leaves_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_text_with_nul_and_unicode, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_row_error_then_rollback, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_begin_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_inside_a_transaction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_after_close, setup, teardown),
    cmocka_unit_test_setup_teardown(test_check_raises, setup, teardown),
    cmocka_unit_test_setup_teardown(test_default_refuses_a_newer_schema, setup, teardown),
    cmocka_unit_test_setup_teardown(test_interrupt_stops_a_query, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
