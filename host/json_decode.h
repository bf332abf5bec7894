/*
** json_decode.h: the JSON decoder (json_decode.c) shared by vouch.json.decode
** (json.c) and the JSON loaders (load_json.c).
**
** The decoder reads RFC 8259 JSON from a range of bytes and pushes Lua values
** as it goes: no tree is built. It works on a range that may end before the
** text does (a stream's buffer): with eof unset, running out of bytes inside
** a token or a value is VOUCH_JSON_NEED, and the caller comes back with the
** same start and more bytes. Errors are worded as jansson's are (the
** decoder that came before it), "message near 'token'", and d->err_at says
** where, for vouch_json_where to turn into a line and a column.
*/
#ifndef VOUCH_JSON_DECODE_H
#define VOUCH_JSON_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define VOUCH_JSON_MAX_DEPTH 2048
/* The marks decode puts on empty arrays and objects so they round-trip. */
#define VOUCH_JSON_ARRAY_MT "vouch.json.array"
#define VOUCH_JSON_OBJECT_MT "vouch.json.object"

/* What the decoding functions return. */
enum { VOUCH_JSON_OK, VOUCH_JSON_NEED, VOUCH_JSON_BAD };

/* Tokens (single characters are themselves). */
enum {
  VOUCH_JT_EOF = 0, VOUCH_JT_STRING = 256, VOUCH_JT_INT, VOUCH_JT_REAL, VOUCH_JT_TRUE,
  VOUCH_JT_FALSE, VOUCH_JT_NULL, VOUCH_JT_INVALID, VOUCH_JT_ERR, VOUCH_JT_NEED
};

/* Object keys remembered by their place (depth, then position in the
** object): rows of one shape find each key where the last row had it. */
#define VOUCH_JSON_KEY_DEPTHS 4
#define VOUCH_JSON_KEY_PLACES 64
#define VOUCH_JSON_KEYS (VOUCH_JSON_KEY_DEPTHS * VOUCH_JSON_KEY_PLACES)

typedef struct vouch_jkey {
  const char *s;            /* the text of the Lua string in the cache table */
  size_t len;               /* 0: empty slot (an empty key is never cached) */
} vouch_jkey_t;

typedef struct vouch_jdec {
  lua_State *L;             /* where values go (push mode) */
  const char *p, *end;      /* the next byte, the end of what is there */
  int eof;                  /* end is the end of the text */
  int push;                 /* push values (else only check them) */
  int depth;                /* values open */
  int nullidx;              /* stack index of vouch.json.null (push mode) */
  int keysidx;              /* stack index of the key cache's strings (push mode) */
  vouch_jkey_t *keys;       /* ... and their text: the host's, VOUCH_JSON_KEYS of them */
  int hint[16];             /* keys of the last object at each depth: its size */
  /* The current token. */
  int tok;
  const char *ts, *te;      /* its text */
  const char *str;          /* VOUCH_JT_STRING: the value (in the text or scratch) */
  size_t slen;
  int64_t ival;             /* VOUCH_JT_INT */
  double dval;              /* VOUCH_JT_REAL */
  /* Unescaped strings and number text; malloc'd, owned by the caller (who
  ** frees it even when a Lua error leaves the decoder half way). */
  char *scratch;
  size_t scap;
  /* The error: where it is (what was read up to it) and its text. */
  const char *err_at;
  char msg[160];
} vouch_jdec_t;

/* Push the `null` sentinel (json.c). */
void vouch_json_pushnull(lua_State *L);

/* Before decoding in push mode: push what the decoder reads from the stack
** (vouch.json.null, the host's key cache; two slots) and set d->push. */
void vouch_json_push_begin(vouch_jdec_t *d, lua_State *L);

/* After a value was pushed: take those two slots from under it. */
void vouch_json_push_end(vouch_jdec_t *d, lua_State *L);

/* Start on p[0..n). Keeps d->scratch. */
void vouch_json_begin(vouch_jdec_t *d, lua_State *L, const char *p, size_t n, int eof);

/* The next token into d->tok (VOUCH_JT_ERR: the error is set; VOUCH_JT_NEED: more
** bytes first). */
int vouch_json_lex(vouch_jdec_t *d);

/* The value whose first token is the current one; pushed in push mode. */
int vouch_json_value(vouch_jdec_t *d);

/* Set the error "msg near 'token'" for the current token; VOUCH_JSON_BAD. */
int vouch_json_fail(vouch_jdec_t *d, const char *msg);

/* Line and column of d->err_at: `base` is at line *line, column *col (columns
** count characters, as 0 before the first of a line); both are updated. */
void vouch_json_where(const char *base, const char *at, long *line, long *col);

/* One value and the end of the text: vouch.json.decode. The value is pushed. */
int vouch_json_decode(vouch_jdec_t *d);

#endif
