/*
** hash.c: vouch.hash, XXH3-64 of a text (the loaders' libxxhash), written
** as 16 lowercase hex digits. The record keys each scorecard by the hash
** of its source (scorecards.hash, runs.scorecard_hash): vouch.scorecard
** computes it, db:run_begin checks it, and SQL has it as vouch_hash(X)
** (store.c), all through vouch_hash_hex.
*/
#include <stdio.h>

#include <xxhash.h>

#include "vouch.h"


void vouch_hash_hex(const void *p, size_t n, char hex[VOUCH_HASH_HEX]) {
  snprintf(hex, VOUCH_HASH_HEX, "%016llx", (unsigned long long)XXH3_64bits(p, n));
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
