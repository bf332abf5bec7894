/*
** hash.c: vouch.hash, XXH3-64 of a text (the loaders' libxxhash), written
** as 16 lowercase hex digits. The record keys each scorecard by the hash
** of its source (scorecards.hash, runs.scorecard_hash): vouch.scorecard
** computes it, db:run_begin checks it, and SQL has it as vouch_hash(X)
** (store.c), all through vouch_hash_hex; vouch.file.hash gives the same of
** a file's bytes (vouch_hash_fd_hex).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <xxhash.h>

#include "vouch.h"


static void hex_of(XXH64_hash_t h, char hex[VOUCH_HASH_HEX]) {
  snprintf(hex, VOUCH_HASH_HEX, "%016llx", (unsigned long long)h);
}


void vouch_hash_hex(const void *p, size_t n, char hex[VOUCH_HASH_HEX]) {
  hex_of(XXH3_64bits(p, n), hex);
}


int vouch_hash_fd_hex(int fd, char hex[VOUCH_HASH_HEX]) {
  enum { CHUNK = 64 * 1024 };
  char *buf = malloc(CHUNK);
  XXH3_state_t *st = buf ? XXH3_createState() : NULL;
  ssize_t n;
  int err = 0;
  if (st == NULL) {
    free(buf);
    return ENOMEM;
  }
  XXH3_64bits_reset(st);
  while ((n = read(fd, buf, CHUNK)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    XXH3_64bits_update(st, buf, (size_t)n);
  }
  if (err == 0) hex_of(XXH3_64bits_digest(st), hex);
  XXH3_freeState(st);
  free(buf);
  return err;
}


/* vouch.hash(s): XXH3-64 of the bytes of s, as 16 lowercase hex digits. */
static int hash_hash(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char hex[VOUCH_HASH_HEX];
  vouch_hash_hex(s, n, hex);
  lua_pushlstring(L, hex, VOUCH_HASH_HEX - 1);
  return 1;
}


static const luaL_Reg hash_funcs[] = {
  {"hash", hash_hash},
  {NULL, NULL}
};


int luaopen_vouch_hash(lua_State *L) {
  luaL_newlib(L, hash_funcs);
  return 1;
}
