/*
** dl_h2o.c: libh2o, loaded on the first call into it (see dl.h), for
** serve.c; it brings libssl, libcrypto and libwslay, which vouch serve
** never uses but which are as large as the rest of a start together.
*/
#include "dl_h2o.h"

#undef h2o__tokens  /* the library's own name, for dlsym */

#define H2O_FUNCTIONS(X, V, N) \
  V(h2o, h2o_config_init, (h2o_globalconf_t *c), (c)) \
  V(h2o, h2o_config_dispose, (h2o_globalconf_t *c), (c)) \
  X(h2o, h2o_hostconf_t *, h2o_config_register_host, \
    (h2o_globalconf_t *c, h2o_iovec_t host, uint16_t port), (c, host, port), NULL) \
  X(h2o, h2o_pathconf_t *, h2o_config_register_path, \
    (h2o_hostconf_t *hc, const char *path, int flags), (hc, path, flags), NULL) \
  X(h2o, h2o_handler_t *, h2o_create_handler, (h2o_pathconf_t *pc, size_t sz), (pc, sz), NULL) \
  V(h2o, h2o_context_init, (h2o_context_t *ctx, h2o_loop_t *loop, h2o_globalconf_t *c), \
    (ctx, loop, c)) \
  V(h2o, h2o_context_dispose, (h2o_context_t *ctx), (ctx)) \
  V(h2o, h2o_context_request_shutdown, (h2o_context_t *ctx), (ctx)) \
  X(h2o, h2o_socket_t *, h2o_uv_socket_create, (uv_stream_t *s, uv_close_cb cb), (s, cb), NULL) \
  V(h2o, h2o_accept, (h2o_accept_ctx_t *ctx, h2o_socket_t *sock), (ctx, sock)) \
  X(h2o, ssize_t, h2o_find_header, (const h2o_headers_t *hs, const h2o_token_t *t, ssize_t i), \
    (hs, t, i), -1) \
  X(h2o, ssize_t, h2o_find_header_by_str, \
    (const h2o_headers_t *hs, const char *name, size_t len, ssize_t i), (hs, name, len, i), -1) \
  V(h2o, h2o_add_header, \
    (h2o_mem_pool_t *p, h2o_headers_t *hs, const h2o_token_t *t, const char *orig, \
     const char *v, size_t vlen), (p, hs, t, orig, v, vlen)) \
  V(h2o, h2o_add_header_by_str, \
    (h2o_mem_pool_t *p, h2o_headers_t *hs, const char *name, size_t len, int maybe_token, \
     const char *orig, const char *v, size_t vlen), (p, hs, name, len, maybe_token, orig, v, vlen)) \
  X(h2o, void *, h2o_mem_alloc_pool, (h2o_mem_pool_t *p, size_t sz), (p, sz), NULL) \
  X(h2o, void *, h2o_mem_alloc_shared, (h2o_mem_pool_t *p, size_t sz, void (*dispose)(void *)), \
    (p, sz, dispose), NULL) \
  X(h2o, h2o_iovec_t, h2o_strdup, (h2o_mem_pool_t *p, const char *s, size_t len), (p, s, len), \
    h2o_iovec_init(NULL, 0)) \
  V(h2o, h2o_start_response, (h2o_req_t *req, h2o_generator_t *g), (req, g)) \
  V(h2o, h2o_send, (h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t st), \
    (req, bufs, n, st)) \
  V(h2o, h2o_send_inline, (h2o_req_t *req, const char *body, size_t len), (req, body, len)) \
  N(h2o, h2o__tokens)

/* The Debian package's ABI name (H2O 2.2). */
VOUCH_DL_LIBRARY(h2o, "libh2o.so.0.13", H2O_FUNCTIONS)
VOUCH_DL_STUBS(H2O_FUNCTIONS)

h2o_token_t *vouch_h2o_tokens(void) {
  return vouch_dl_load(&vouch_dl_h2o) == 0
             ? (h2o_token_t *)vouch_dl_call(h2o, h2o__tokens, void *) : NULL;
}
