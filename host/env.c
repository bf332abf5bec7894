/*
** env.c: the environment as a capability. `--allow-env=NAME[,NAME]` grants
** vouch.env(NAME) and nothing else of the environment is visible to a
** sandboxed script. Every value read through vouch.env is remembered, and
** the host writes it out only as "***": in error reports and tracebacks,
** the REPL's echo and history, stored runs and the HTTP cache, so that an
** API key given to a script stays out of whatever the host keeps or shows.
*/
#include <stdlib.h>
#include <string.h>

#include "vouch.h"

#define REDACTED "***"


int vouch_env_name_ok(const char *name) {
  const char *p = name;
  if (name == NULL || !((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
    return 0;
  for (p++; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '_'))
      return 0;
  return 1;
}


int vouch_env_allowed(vouch_host_t *h, const char *name) {
  int i;
  if (h->trusted) return 1;
  for (i = 0; i < h->allow_env.n; i++)
    if (strcmp(h->allow_env.v[i], name) == 0) return 1;
  return 0;
}


/* Remember `value` as a secret (a copy; once). Returns 0, or -1 without memory. */
int vouch_secret_add(vouch_host_t *h, const char *value) {
  int i;
  char **v;
  if (strlen(value) < VOUCH_SECRET_MIN) return 0;
  for (i = 0; i < h->secrets.n; i++)
    if (strcmp(h->secrets.v[i], value) == 0) return 0;
  v = realloc(h->secrets.v, sizeof *v * (size_t)(h->secrets.n + 1));
  if (v == NULL) return -1;
  h->secrets.v = v;
  if ((v[h->secrets.n] = strdup(value)) == NULL) return -1;
  h->secrets.n++;
  return 0;
}


/* The first secret in s[0..n) at or after `from`: its offset and length. */
static int find_secret(const vouch_list_t *l, const char *s, size_t n, size_t from,
                       size_t *at, size_t *len) {
  size_t best = (size_t)-1, blen = 0;
  int i;
  for (i = 0; i < l->n; i++) {
    size_t k = strlen(l->v[i]);
    const char *p = k <= n - from ? memmem(s + from, n - from, l->v[i], k) : NULL;
    if (p && ((size_t)(p - s) < best || ((size_t)(p - s) == best && k > blen))) {
      best = (size_t)(p - s);
      blen = k;
    }
  }
  if (best == (size_t)-1) return 0;
  *at = best;
  *len = blen;
  return 1;
}


/*
** A malloc'd copy of the C string `s` with every secret of `l` replaced by
** "***" (NULL when out of memory). Used where no Lua state is at hand: the
** daemon redacts its children's output with the values of the names it
** granted them.
*/
char *vouch_redact_list(const vouch_list_t *l, const char *s) {
  size_t n = strlen(s), from = 0, at, len, outn = 0;
  char *out = malloc(n + 1);  /* "***" is never longer than a secret */
  if (out == NULL) return NULL;
  while (from <= n && find_secret(l, s, n, from, &at, &len)) {
    memcpy(out + outn, s + from, at - from);
    outn += at - from;
    memcpy(out + outn, REDACTED, sizeof REDACTED - 1);
    outn += sizeof REDACTED - 1;
    from = at + len;
  }
  memcpy(out + outn, s + from, n - from);
  out[outn + n - from] = '\0';
  return out;
}


char *vouch_redact(vouch_host_t *h, const char *s) {
  return vouch_redact_list(&h->secrets, s);
}


/*
** Replace the string at `idx` by its redacted copy when it holds a secret
** (anything else is left alone). Raises only when out of memory.
*/
void vouch_redact_at(lua_State *L, int idx) {
  vouch_host_t *h = vouch_host(L);
  size_t n, from = 0, at, len;
  const char *s;
  luaL_Buffer b;
  if (h->secrets.n == 0 || lua_type(L, idx) != LUA_TSTRING) return;
  idx = lua_absindex(L, idx);
  s = lua_tolstring(L, idx, &n);
  if (!find_secret(&h->secrets, s, n, 0, &at, &len)) return;
  luaL_buffinit(L, &b);
  do {
    luaL_addlstring(&b, s + from, at - from);
    luaL_addstring(&b, REDACTED);
    from = at + len;
  } while (from <= n && find_secret(&h->secrets, s, n, from, &at, &len));
  luaL_addlstring(&b, s + from, n - from);
  luaL_pushresult(&b);
  lua_replace(L, idx);
}


/*
** vouch.env(NAME): the value of the environment variable NAME, or nil when
** it is not set. NAME must have been granted with --allow-env=NAME.
*/
static int env_get(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  const char *name = luaL_checkstring(L, 1), *v;
  luaL_argcheck(L, vouch_env_name_ok(name), 1, "not a variable name (letters, digits, _)");
  if (!vouch_env_allowed(h, name))
    return luaL_error(L, "environment access to %s denied (allow it with --allow-env=%s)",
                      name, name);
  v = getenv(name);
  if (v == NULL) {
    lua_pushnil(L);
    return 1;
  }
  if (vouch_secret_add(h, v) != 0) return luaL_error(L, "not enough memory");
  lua_pushstring(L, v);
  return 1;
}


int luaopen_vouch_env(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, env_get);
  lua_setfield(L, -2, "env");
  return 1;
}
