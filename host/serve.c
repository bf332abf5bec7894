/*
** serve.c: vouch.serve, an HTTP server on the host's libuv loop (H2O).
**
** The HTTP side lives here: parsing (H2O's), the token every request must
** carry, the same-origin rule for actions, limits on size and time, the
** security headers of every answer, and server-sent events. What a page or
** an API answer says is Lua's: each request that passes is handed to one
** handler, `handler(req) -> status, headers, body`, run to completion on a
** thread of its own under the host's limits for one request.
**
**   srv = vouch.serve.listen{host=, port=, handler=}   (a random token)
**   srv:push(event, data [, keep])   an event to every /api/events client
**   srv:spawn(what, ...)      vouch vet FILE CARD, or vouch schedule run NAME
**   srv:port(), srv:token(), srv:clients(), srv:closed(), srv:close()
**
** SIGINT and SIGTERM close the server: the listener stops, idle
** connections close, event streams end, and srv:closed() turns true.
*/
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dl_h2o.h"
#include "vouch.h"

#define SERVER_MT "vouch.serve.server"
#define MAX_BODY (64 * 1024)        /* bytes of a request's body */
#define MAX_PATH 4096               /* bytes of a request's path and query */
#define MAX_CONNS 256               /* connections open at once */
#define REQ_TIMEOUT 10000           /* ms to send a request's head and body */
#define REQUEST_SECONDS 30.0        /* a handler's time, unless --timeout is less */
#define SSE_QUEUE_MAX (1 << 20)     /* bytes an event client may fall behind */
#define STDERR_KEEP 2000            /* bytes of an action's error output kept */
#define SUMMARY_MAX (16 << 20)      /* bytes of a summary a child may print */

/* The answers' security headers: the reports' policy, plus the server's own
   script and its event stream (same origin only). */
#define CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; " \
            "script-src 'self'; connect-src 'self'; form-action 'self'; " \
            "frame-ancestors 'none'; base-uri 'none'"

typedef struct server server_t;

/* One /api/events client: events queue here until H2O asks for more. */
typedef struct sse_client {
  h2o_generator_t gen;          /* must be first: H2O's callbacks get it */
  h2o_req_t *req;               /* the stream's request; H2O owns it */
  server_t *srv;
  char *queue;                  /* events not yet handed to H2O; owned */
  size_t qlen, qcap;
  char *sending;                /* the bytes H2O holds until proceed; owned */
  int busy;                     /* a send is in flight */
  int ending;                   /* the next send is the last */
  struct sse_client *prev, *next;
} sse_client;

/* A child's summary, printed and ended, until srv:summaries() takes it. */
typedef struct summary {
  struct summary *next;
  char *doc;                    /* what it printed; owned */
  size_t len;
  int64_t status;
  lua_Integer run;
} summary;

/* An action's child process (srv:spawn). */
typedef struct child {
  uv_process_t proc;            /* must be first */
  uv_pipe_t err;                /* its stderr */
  uv_pipe_t doc;                /* its stdout, for a summary only */
  server_t *srv;
  char what[200];               /* "vet FILE", "schedule run NAME", for the event */
  char out[STDERR_KEEP + 1];    /* the end of its stderr */
  size_t outlen;
  summary *sum;                 /* a summary's run and output; owned until ended */
  size_t doccap;
  int64_t status;
  int exited, eofs;             /* seen: the exit, how many pipes ended */
  int open;                     /* handles not yet closed */
  struct child *next;
} child;

struct server {
  h2o_globalconf_t config;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept;
  uv_tcp_t listener;
  uv_signal_t sigint, sigterm;
  uv_timer_t later;             /* retries the disposal until H2O is idle */
  vouch_host_t *h;
  lua_State *T;                 /* the thread handlers run on; anchored by thread_ref */
  int thread_ref, handler_ref;  /* registry refs, dropped at close */
  char token[65];
  char host[64];                /* the address bound, as given */
  int port;
  int conns;                    /* open connections */
  int closing, closed;          /* close asked; everything closed */
  int handles;                  /* our libuv handles still open */
  int disposed;                 /* H2O's context and config freed */
  int ud_gone;                  /* the userdata was collected */
  sse_client *clients;
  char *kept;                   /* the last event pushed with keep, as sent; owned */
  child *children;
  summary *summaries;           /* ended summaries not yet taken; owned */
};

typedef struct { server_t *s; } server_ud;


/*
** {======================================================
** Small helpers
** =======================================================
*/

/* Add a response header; `name` and `v` are static strings. */
static void add_header(h2o_req_t *req, const char *name, const char *v) {
  h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, v, strlen(v));
}

static void security_headers(h2o_req_t *req) {
  add_header(req, "content-security-policy", CSP);
  add_header(req, "x-content-type-options", "nosniff");
  add_header(req, "x-frame-options", "DENY");
  add_header(req, "cache-control", "no-store");
  add_header(req, "referrer-policy", "no-referrer");
}

/* A refusal: status and a one-line reason, as text. */
static int refuse(h2o_req_t *req, int status, const char *msg) {
  static const char *const reasons[] = {
    "Bad Request", "", "", "Forbidden", "Not Found", "Method Not Allowed"
  };
  size_t n = strlen(msg);
  char *body = h2o_mem_alloc_pool(&req->pool, n + 1);
  memcpy(body, msg, n);
  body[n] = '\n';
  req->res.status = status;
  req->res.reason = status >= 400 && status <= 405 ? reasons[status - 400] :
                    status == 414 ? "URI Too Long" : "Error";
  security_headers(req);
  add_header(req, "content-type", "text/plain; charset=utf-8");
  h2o_send_inline(req, body, n + 1);
  return 0;
}

/* The value of header `name` (lower case), or an empty vector. */
static h2o_iovec_t header(h2o_req_t *req, const char *name) {
  ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
  return i < 0 ? h2o_iovec_init(NULL, 0) : req->headers.entries[i].value;
}

/* Equal in time that does not depend on where they differ. */
static int same_secret(const char *a, size_t alen, const char *b) {
  size_t i, blen = strlen(b);
  unsigned char d = alen != blen;
  for (i = 0; i < alen && i < blen; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0 && blen > 0;
}

/* Find `name=value` in a list separated by `sep` (a query, a cookie). */
static h2o_iovec_t param(const char *s, size_t n, char sep, const char *name) {
  size_t k = strlen(name), i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != sep) j++;
    while (i < j && s[i] == ' ') i++;
    if (j - i > k && memcmp(s + i, name, k) == 0 && s[i + k] == '=')
      return h2o_iovec_init(s + i + k + 1, j - i - k - 1);
    i = j + 1;
  }
  return h2o_iovec_init(NULL, 0);
}

/* }====================================================== */


/*
** {======================================================
** Server-sent events
** =======================================================
*/

static void sse_flush(sse_client *c);

static void sse_free(sse_client *c) {
  server_t *s = c->srv;
  if (c->prev) c->prev->next = c->next; else s->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  free(c->queue);
  free(c->sending);
}

static void sse_proceed(h2o_generator_t *g, h2o_req_t *req) {
  sse_client *c = (sse_client *)g;
  (void)req;
  c->busy = 0;
  free(c->sending);
  c->sending = NULL;
  sse_flush(c);
}

/* The client went away (or the connection failed): H2O frees the request. */
static void sse_stop(h2o_generator_t *g, h2o_req_t *req) {
  (void)req;
  sse_free((sse_client *)g);
}

/* Hand what is queued to H2O, if it is not busy with an earlier send. */
static void sse_flush(sse_client *c) {
  h2o_iovec_t buf;
  int last;
  if (c->busy || (c->qlen == 0 && !c->ending)) return;
  last = c->ending;
  if (last) {
    /* H2O calls neither proceed nor stop after the last send: the bytes go
       to the request's pool, which lives until the send is done */
    buf = h2o_strdup(&c->req->pool, c->queue ? c->queue : "", c->qlen);
    h2o_req_t *req = c->req;
    sse_free(c);
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
    return;
  }
  c->sending = c->queue;
  buf = h2o_iovec_init(c->queue, c->qlen);
  c->queue = NULL;
  c->qlen = c->qcap = 0;
  c->busy = 1;
  h2o_send(c->req, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* Queue `n` bytes for `c`; a client too far behind is ended. */
static void sse_queue(sse_client *c, const char *p, size_t n) {
  if (c->ending) return;
  if (c->qlen + n > SSE_QUEUE_MAX) {
    c->ending = 1;
    return;
  }
  if (c->qlen + n > c->qcap) {
    size_t cap = (c->qlen + n) * 2;
    char *q = realloc(c->queue, cap);
    if (q == NULL) { c->ending = 1; return; }
    c->queue = q;
    c->qcap = cap;
  }
  memcpy(c->queue + c->qlen, p, n);
  c->qlen += n;
}

/* `event` with `data` as the format wants it (each line of data prefixed;
   no event name: a comment), malloc'd. */
static char *sse_format(const char *event, const char *data) {
  size_t n = strlen(data), cap = 2 * n + (event ? strlen(event) : 0) + 32, len = 0;
  char *out = malloc(cap);
  const char *p = data;
  if (out == NULL) return NULL;
  if (event) len += (size_t)snprintf(out, cap, "event: %.*s\n", (int)strcspn(event, "\r\n"), event);
  do {
    size_t k = strcspn(p, "\r\n");
    if (len + k + 8 > cap) {
      char *o = realloc(out, cap = 2 * (len + k + 8));
      if (o == NULL) { free(out); return NULL; }
      out = o;
    }
    memcpy(out + len, event ? "data: " : ": ", event ? 6 : 2);
    len += event ? 6 : 2;
    memcpy(out + len, p, k);
    len += k;
    out[len++] = '\n';
    p += k;
    if (*p == '\r' && p[1] == '\n') p++;
    if (*p) p++;
  } while (*p);
  out[len++] = '\n';
  out[len] = '\0';
  return out;
}

/* Send `event` with `data` to every client; with `keep`, new clients get
   it first too (the state of things, which a page needs at once). */
static int sse_broadcast(server_t *s, const char *event, const char *data, int keep) {
  sse_client *c, *next;
  int n = 0;
  char *text = sse_format(event, data);
  if (text == NULL) return 0;
  for (c = s->clients; c; c = next) {
    next = c->next;
    sse_queue(c, text, strlen(text));
    sse_flush(c);
    n++;
  }
  if (keep) {
    free(s->kept);
    s->kept = text;
  } else {
    free(text);
  }
  return n;
}

static void sse_start(server_t *s, h2o_req_t *req) {
  sse_client *c = h2o_mem_alloc_shared(&req->pool, sizeof *c, NULL);
  memset(c, 0, sizeof *c);
  c->gen.proceed = sse_proceed;
  c->gen.stop = sse_stop;
  c->req = req;
  c->srv = s;
  c->next = s->clients;
  if (s->clients) s->clients->prev = c;
  s->clients = c;
  req->res.status = 200;
  req->res.reason = "OK";
  security_headers(req);
  add_header(req, "content-type", "text/event-stream; charset=utf-8");
  h2o_start_response(req, &c->gen);
  sse_queue(c, "retry: 2000\n\n", 13);
  if (s->kept) sse_queue(c, s->kept, strlen(s->kept));
  sse_flush(c);
}

/* }====================================================== */


/*
** {======================================================
** Requests
** =======================================================
*/

/* Is the Host header one this server answers to? (A page on another
   name that resolves here, DNS rebinding, must not read the record.) */
static int host_ok(server_t *s, h2o_iovec_t a) {
  static const char *const names[] = {"127.0.0.1", "localhost", "[::1]", NULL};
  char want[128];
  int i;
  for (i = -1; i < 0 || names[i]; i++) {
    int n = snprintf(want, sizeof want, "%s:%d", i < 0 ? s->host : names[i], s->port);
    if ((size_t)n == a.len && strncasecmp(want, a.base, a.len) == 0) return 1;
  }
  return 0;
}

/* An action must come from a page of this server: Origin (sent by browsers
   on every POST), when given, is this server, and so is Sec-Fetch-Site.
   Our pages' Referrer-Policy (no-referrer) makes a browser send "Origin:
   null" with their forms: that passes only beside Sec-Fetch-Site, which
   the browser sets and no page can. */
static int same_origin(h2o_req_t *req) {
  h2o_iovec_t o = header(req, "origin"), site = header(req, "sec-fetch-site");
  if (site.base && !h2o_memis(site.base, site.len, H2O_STRLIT("same-origin"))) return 0;
  if (o.base == NULL) return 1;
  if (site.base && h2o_memis(o.base, o.len, H2O_STRLIT("null"))) return 1;
  return o.len == req->authority.len + 7 && memcmp(o.base, "http://", 7) == 0 &&
         strncasecmp(o.base + 7, req->authority.base, req->authority.len) == 0;
}

/* The token from the query, the cookie or an Authorization: Bearer header;
   *in_query tells whether it came in the link. */
static int token_ok(server_t *s, h2o_req_t *req, int *in_query) {
  h2o_iovec_t t = h2o_iovec_init(NULL, 0), a;
  ssize_t i;
  *in_query = 0;
  if (req->query_at != SIZE_MAX) {
    t = param(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1, '&', "token");
    *in_query = t.base != NULL;
  }
  for (i = -1; t.base == NULL && (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) >= 0;)
    t = param(req->headers.entries[i].value.base, req->headers.entries[i].value.len, ';',
              "vouch_token");
  a = header(req, "authorization");
  if (t.base == NULL && a.len > 7 && memcmp(a.base, "Bearer ", 7) == 0)
    t = h2o_iovec_init(a.base + 7, a.len - 7);
  return t.base != NULL && same_secret(t.base, t.len, s->token);
}

/* The link with the token came in: keep it in a cookie and show the page at
   its address without it, so it stays out of history and screenshots. */
static void set_cookie_and_return(server_t *s, h2o_req_t *req) {
  const char *q = req->path.base + req->query_at + 1;
  size_t qn = req->path.len - req->query_at - 1, i = 0;
  char *loc = h2o_mem_alloc_pool(&req->pool, req->path.len + 1), *p = loc;
  char cookie[128];
  memcpy(p, req->path.base, req->query_at);
  p += req->query_at;
  while (i < qn) {   /* the query without token=... */
    size_t j = i;
    while (j < qn && q[j] != '&') j++;
    if (!(j - i >= 6 && memcmp(q + i, "token=", 6) == 0)) {
      char sep = p == loc + req->query_at ? '?' : '&';
      *p++ = sep;
      memcpy(p, q + i, j - i);
      p += j - i;
    }
    i = j + 1;
  }
  *p = '\0';
  snprintf(cookie, sizeof cookie, "vouch_token=%s; Path=/; HttpOnly; SameSite=Strict", s->token);
  req->res.status = 303;
  req->res.reason = "See Other";
  security_headers(req);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL,
                 h2o_strdup(&req->pool, cookie, SIZE_MAX).base, strlen(cookie));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, loc, strlen(loc));
  h2o_send_inline(req, "", 0);
}

/* Push the request as the handler's argument: {method, path, query, body}. */
static void push_request(lua_State *T, h2o_req_t *req) {
  size_t plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
  lua_createtable(T, 0, 5);
  lua_pushlstring(T, req->method.base, req->method.len);
  lua_setfield(T, -2, "method");
  lua_pushlstring(T, req->path.base, plen);
  lua_setfield(T, -2, "path");
  if (req->query_at != SIZE_MAX) {
    lua_pushlstring(T, req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    lua_setfield(T, -2, "query");
  }
  if (req->entity.base) {
    lua_pushlstring(T, req->entity.base, req->entity.len);
    lua_setfield(T, -2, "body");
  }
  {
    h2o_iovec_t ct = header(req, "content-type");
    if (ct.base) {
      lua_pushlstring(T, ct.base, ct.len);
      lua_setfield(T, -2, "content_type");
    }
  }
}

/*
** Run the handler on the server's thread, under the limits of one request
** (an error or a limit is a 500 with its message; the server goes on).
*/
static int call_handler(server_t *s, h2o_req_t *req) {
  vouch_host_t *h = s->h;
  lua_State *T = s->T, *prev = h->running;
  double secs = h->timeout > 0 && h->timeout < REQUEST_SECONDS ? h->timeout : REQUEST_SECONDS;
  int status, code;
  size_t n;
  const char *body;
  lua_settop(T, 0);
  lua_rawgeti(T, LUA_REGISTRYINDEX, s->handler_ref);
  push_request(T, req);
  h->running = T;
  vouch_limits_arm_for(h, secs);
  status = vouch_pcall(T, 1, 3);
  vouch_limits_disarm(h);
  h->running = prev;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(T, -1);
    fprintf(stderr, "vouch: serve: %.*s: %s\n", (int)req->path.len, req->path.base,
            msg ? msg : "error");
    h->limit_hit = VOUCH_LIMIT_NONE;
    lua_settop(T, 0);
    return refuse(req, 500, "the server failed on this request (see its log)");
  }
  code = (int)lua_tointeger(T, 1);
  req->res.status = code >= 100 && code <= 599 ? code : 500;
  req->res.reason = code < 300 ? "OK" : code < 400 ? "See Other" : code < 500 ? "Client Error" : "Error";
  security_headers(req);
  if (lua_istable(T, 2)) {
    lua_pushnil(T);
    while (lua_next(T, 2)) {
      if (lua_type(T, -2) == LUA_TSTRING && lua_type(T, -1) == LUA_TSTRING) {
        size_t kn, vn;
        const char *k = lua_tolstring(T, -2, &kn), *v = lua_tolstring(T, -1, &vn);
        h2o_iovec_t kk = h2o_strdup(&req->pool, k, kn), vv = h2o_strdup(&req->pool, v, vn);
        h2o_add_header_by_str(&req->pool, &req->res.headers, kk.base, kk.len, 1, NULL,
                              vv.base, vv.len);
      }
      lua_pop(T, 1);
    }
  }
  body = lua_tolstring(T, 3, &n);
  h2o_send_inline(req, body ? body : "", body ? n : 0);  /* copies the body */
  lua_settop(T, 0);
  return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  server_t *s = *(server_t **)(self + 1);
  int in_query;
  size_t plen = req->query_at == SIZE_MAX ? req->path.len : req->query_at;
  if (s->closing) return refuse(req, 503, "the server is closing");
  if (req->path.len > MAX_PATH) return refuse(req, 414, "the address is too long");
  if (!host_ok(s, req->authority))
    return refuse(req, 403, "this server answers to its own address only (the Host header names another)");
  if (!token_ok(s, req, &in_query))
    return refuse(req, 403, "a token is needed: open the link 'vouch serve' printed");
  if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
      !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")) &&
      !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
    return refuse(req, 405, "only GET, HEAD and POST are served");
  if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) && !same_origin(req))
    return refuse(req, 403, "an action must come from a page of this server (another origin sent it)");
  if (in_query && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
    set_cookie_and_return(s, req);
    return 0;
  }
  if (h2o_memis(req->path.base, plen, H2O_STRLIT("/api/events"))) {
    sse_start(s, req);
    return 0;
  }
  return call_handler(s, req);
}

/* }====================================================== */


/*
** {======================================================
** Connections, signals, closing
** =======================================================
*/

static void try_dispose(server_t *s);
static void handle_closed(uv_handle_t *hd);

/* A connection's handle: H2O takes its `data`, so the server is beside it. */
typedef struct conn {
  uv_tcp_t tcp;                 /* must be first */
  server_t *srv;
} conn;

static void conn_closed(uv_handle_t *hd) {
  server_t *s = ((conn *)hd)->srv;
  free(hd);
  s->conns--;
  try_dispose(s);
}

static void on_accept(uv_stream_t *l, int status) {
  server_t *s = l->data;
  conn *c;
  if (status != 0 || (c = malloc(sizeof *c)) == NULL) return;
  uv_tcp_init(l->loop, &c->tcp);
  c->srv = s;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || s->conns >= MAX_CONNS || s->closing) {
    uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
    return;
  }
  s->conns++;
  h2o_accept(&s->accept, h2o_uv_socket_create((uv_stream_t *)&c->tcp, conn_closed));
}

static void handle_closed(uv_handle_t *hd) {
  server_t *s = hd->data;
  s->handles--;
  try_dispose(s);
}

/* Free the server's memory when nothing refers to it any more. */
static void maybe_free(server_t *s) {
  summary *m, *next;
  if (!(s->disposed && s->ud_gone && s->handles == 0 && s->children == NULL)) return;
  for (m = s->summaries; m; m = next) {
    next = m->next;
    free(m->doc);
    free(m);
  }
  free(s);
}

/* Does H2O still wait on one of its timeouts (a connection's last second)? */
static int h2o_busy(h2o_context_t *ctx) {
  return !h2o_linklist_is_empty(&ctx->zero_timeout._entries) ||
         !h2o_linklist_is_empty(&ctx->one_sec_timeout._entries) ||
         !h2o_linklist_is_empty(&ctx->http1.req_timeout._entries) ||
         !h2o_linklist_is_empty(&ctx->http2.idle_timeout._entries);
}

static void dispose_later(uv_timer_t *t) {
  uv_close((uv_handle_t *)t, handle_closed);
}

/* Once every connection has closed and H2O's timeouts are idle, its
   context and config go. */
static void try_dispose(server_t *s) {
  if (!s->closing || s->conns > 0 || s->handles > 0 || s->disposed) {
    if (s->disposed) maybe_free(s);
    return;
  }
  if (h2o_busy(&s->ctx)) {
    uv_timer_init(&s->h->loop, &s->later);
    s->later.data = s;
    s->handles++;
    uv_timer_start(&s->later, dispose_later, 200, 0);
    return;
  }
  h2o_context_dispose(&s->ctx);
  h2o_config_dispose(&s->config);
  free(s->kept);
  s->kept = NULL;
  s->disposed = 1;
  s->closed = 1;
  maybe_free(s);
}

/* Stop listening, end the event streams, let idle connections close. */
static void server_close(server_t *s) {
  sse_client *c, *next;
  if (s->closing) return;
  s->closing = 1;
  uv_close((uv_handle_t *)&s->listener, handle_closed);
  uv_close((uv_handle_t *)&s->sigint, handle_closed);
  uv_close((uv_handle_t *)&s->sigterm, handle_closed);
  for (c = s->clients; c; c = next) {
    next = c->next;
    c->ending = 1;
    sse_flush(c);
  }
  h2o_context_request_shutdown(&s->ctx);
  if (s->T) {
    lua_State *L = s->h->L;
    luaL_unref(L, LUA_REGISTRYINDEX, s->handler_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, s->thread_ref);
    s->T = NULL;
  }
}

static void on_signal(uv_signal_t *sig, int signum) {
  (void)signum;
  server_close(sig->data);
}

/* }====================================================== */


/*
** {======================================================
** Actions: child processes of vouch itself
** =======================================================
*/

static void child_closed(uv_handle_t *hd) {
  child *c = hd->data;
  server_t *s = c->srv;
  child **p;
  if (--c->open > 0) return;
  for (p = &s->children; *p != c; p = &(*p)->next) {}
  *p = c->next;
  if (c->sum) free(c->sum->doc);
  free(c->sum);
  free(c);
  maybe_free(s);
}

/* Tell the pages how an action ended, once both its exit and the end of
   its output are in: event "action", JSON. A summary is kept for Lua
   instead (srv:summaries). */
static void child_report(child *c) {
  json_t *j;
  char *text;
  if (!c->exited || c->eofs < (c->sum ? 2 : 1)) return;
  if (c->sum) {
    c->sum->status = c->status;
    c->sum->next = c->srv->summaries;
    c->srv->summaries = c->sum;
    c->sum = NULL;
    return;
  }
  j = json_pack("{s:s, s:I, s:s#}", "what", c->what, "status", (json_int_t)c->status,
            "message", c->out, (int)c->outlen);
  text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (text && !c->srv->closing) sse_broadcast(c->srv, "action", text, 0);
  free(text);
  json_decref(j);
}

static void child_alloc(uv_handle_t *hd, size_t want, uv_buf_t *buf) {
  static char chunk[4096];
  (void)hd; (void)want;
  buf->base = chunk;
  buf->len = sizeof chunk;
}

static void child_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  child *c = st->data;
  if (n < 0) {
    uv_close((uv_handle_t *)st, child_closed);
    c->eofs++;
    child_report(c);
    return;
  }
  while (n > 0) {  /* keep the last STDERR_KEEP bytes */
    size_t k = (size_t)n > STDERR_KEEP ? STDERR_KEEP : (size_t)n;
    if (c->outlen + k > STDERR_KEEP) {
      size_t drop = c->outlen + k - STDERR_KEEP;
      memmove(c->out, c->out + drop, c->outlen - drop);
      c->outlen -= drop;
    }
    memcpy(c->out + c->outlen, buf->base + (size_t)n - k, k);
    c->outlen += k;
    n = 0;
  }
}

/* A summary's JSON: all of it, up to SUMMARY_MAX (more fails the child). */
static void child_doc(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  child *c = st->data;
  summary *m = c->sum;
  if (n < 0) {
    uv_close((uv_handle_t *)st, child_closed);
    c->eofs++;
    child_report(c);
    return;
  }
  if (m->doc == NULL && m->len > 0) return;  /* over the limit: dropped */
  if (m->len + (size_t)n > c->doccap) {
    size_t cap = 2 * (m->len + (size_t)n);
    char *d = cap <= SUMMARY_MAX ? realloc(m->doc, cap) : NULL;
    if (d == NULL) {
      free(m->doc);
      m->doc = NULL;
      m->len = 1;
      if (!c->exited) uv_process_kill(&c->proc, SIGTERM);
      return;
    }
    m->doc = d;
    c->doccap = cap;
  }
  memcpy(m->doc + m->len, buf->base, (size_t)n);
  m->len += (size_t)n;
}

static void child_exit(uv_process_t *p, int64_t status, int sig) {
  child *c = (child *)p;
  c->status = sig ? 128 + sig : status;
  c->exited = 1;
  child_report(c);
  uv_close((uv_handle_t *)p, child_closed);
}

/* Is `name` a bundled scorecard's name or a path the host may read? */
static int card_ok(vouch_host_t *h, const char *name) {
  const char *p;
  for (p = name; *p && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'); p++) {}
  if (*p == '\0' && p > name) return 1;
  return vouch_allowed(h, name, VOUCH_READ, NULL);
}

/*
** srv:spawn("vet", FILE, CARD) or srv:spawn("schedule", NAME): run `vouch
** vet FILE --rules CARD` or `vouch schedule run NAME` on the host's database,
** as a child. FILE (and CARD, unless bundled) must be readable under the
** host's --allow-read: the page can do what the command line could, no
** more. Returns the child's pid, or nil and a message; when it ends, an
** "action" event says how.
**
** srv:spawn("report", RUN, LIMIT): `vouch report --run RUN --format json
** --limit LIMIT`, the summary of a large run made beside the loop (it
** reads every partner of the run, for seconds); what it printed comes back
** through srv:summaries(), not as an event.
*/
static int server_spawn(lua_State *L) {
  server_ud *u = luaL_checkudata(L, 1, SERVER_MT);
  server_t *s = u->s;
  vouch_host_t *h = vouch_host(L);
  const char *what = luaL_checkstring(L, 2), *a = luaL_checkstring(L, 3);
  const char *b = luaL_optstring(L, 4, NULL);
  char exe[PATH_MAX];
  size_t elen = sizeof exe;
  char *argv[12];
  int argc = 0, rc;
  uv_process_options_t po;
  uv_stdio_container_t io[3];
  child *c;
  if (s == NULL || s->closing) return luaL_error(L, "the server is closed");
  if (uv_exepath(exe, &elen) != 0) return luaL_error(L, "cannot find vouch's own executable");
  argv[argc++] = exe;
  if (strcmp(what, "vet") == 0) {
    if (b == NULL) return luaL_argerror(L, 4, "a scorecard expected");
    if (!vouch_allowed(h, a, VOUCH_READ, NULL)) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: not readable by this server (start it with --allow-read)", a);
      return 2;
    }
    if (!card_ok(h, b)) {
      lua_pushnil(L);
      lua_pushfstring(L, "%s: not a bundled scorecard nor a file this server may read", b);
      return 2;
    }
    argv[argc++] = "vet";
    argv[argc++] = (char *)a;
    argv[argc++] = "--rules";
    argv[argc++] = (char *)b;
  } else if (strcmp(what, "schedule") == 0) {
    argv[argc++] = "schedule";
    argv[argc++] = "run";
    argv[argc++] = (char *)a;
  } else if (strcmp(what, "report") == 0) {
    if (a[strspn(a, "0123456789")] != '\0' || *a == '\0') return luaL_argerror(L, 3, "a run number expected");
    if (b == NULL || b[strspn(b, "0123456789")] != '\0' || *b == '\0')
      return luaL_argerror(L, 4, "a number of partners expected");
    argv[argc++] = "report";
    argv[argc++] = "--run";
    argv[argc++] = (char *)a;
    argv[argc++] = "--format";
    argv[argc++] = "json";
    argv[argc++] = "--limit";
    argv[argc++] = (char *)b;
  } else {
    return luaL_argerror(L, 2, "'vet', 'schedule' or 'report' expected");
  }
  argv[argc++] = "--db";
  argv[argc++] = h->db_path;
  argv[argc] = NULL;
  if ((c = calloc(1, sizeof *c)) == NULL) return luaL_error(L, "not enough memory");
  if (strcmp(what, "report") == 0 && (c->sum = calloc(1, sizeof *c->sum)) == NULL) {
    free(c);
    return luaL_error(L, "not enough memory");
  }
  c->srv = s;
  snprintf(c->what, sizeof c->what, "%s %s%s%s", what, a, b ? " " : "", b ? b : "");
  uv_pipe_init(&h->loop, &c->err, 0);
  uv_pipe_init(&h->loop, &c->doc, 0);
  c->err.data = c->doc.data = c->proc.data = c;
  if (c->sum) c->sum->run = strtoll(a, NULL, 10);
  memset(&po, 0, sizeof po);
  io[0].flags = UV_IGNORE;
  io[1].flags = c->sum ? UV_CREATE_PIPE | UV_WRITABLE_PIPE : UV_IGNORE;
  io[1].data.stream = (uv_stream_t *)&c->doc;
  io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  io[2].data.stream = (uv_stream_t *)&c->err;
  po.file = exe;
  po.args = argv;
  po.stdio = io;
  po.stdio_count = 3;
  po.exit_cb = child_exit;
  c->open = 3;   /* the process and both pipes, each closed with child_closed */
  c->next = s->children;
  s->children = c;
  rc = uv_spawn(&h->loop, &c->proc, &po);
  if (rc != 0) {
    uv_close((uv_handle_t *)&c->proc, child_closed);   /* uv_spawn wants it closed */
    uv_close((uv_handle_t *)&c->err, child_closed);
    uv_close((uv_handle_t *)&c->doc, child_closed);
    lua_pushnil(L);
    lua_pushfstring(L, "cannot start vouch %s: %s", what, uv_strerror(rc));
    return 2;
  }
  uv_read_start((uv_stream_t *)&c->err, child_alloc, child_read);
  if (c->sum) uv_read_start((uv_stream_t *)&c->doc, child_alloc, child_doc);
  else uv_close((uv_handle_t *)&c->doc, child_closed);
  lua_pushinteger(L, c->proc.pid);
  return 1;
}

/* }====================================================== */


/*
** {======================================================
** The Lua side
** =======================================================
*/

static server_t *check_open(lua_State *L) {
  server_ud *u = luaL_checkudata(L, 1, SERVER_MT);
  return u->s;
}

/* srv:push(event, data [, keep]) -> how many clients it went to; with
   keep, clients that connect later get it first. */
static int server_push(lua_State *L) {
  server_t *s = check_open(L);
  const char *event = luaL_checkstring(L, 2), *data = luaL_checkstring(L, 3);
  lua_pushinteger(L, s && !s->closing ? sse_broadcast(s, event, data, lua_toboolean(L, 4)) : 0);
  return 1;
}

/* srv:ping(): a comment line, so idle event streams stay open. */
static int server_ping(lua_State *L) {
  server_t *s = check_open(L);
  if (s && !s->closing) sse_broadcast(s, NULL, "", 0);
  return 0;
}

/* srv:token() -> the token every request must carry. */
static int server_token(lua_State *L) {
  server_t *s = check_open(L);
  lua_pushstring(L, s ? s->token : "");
  return 1;
}

static int server_port(lua_State *L) {
  server_t *s = check_open(L);
  lua_pushinteger(L, s ? s->port : 0);
  return 1;
}

/* srv:summaries() -> {{run=, status=, json=}, ...}: the summaries whose
   children ended since the last call (json nil when it printed too much). */
static int server_summaries(lua_State *L) {
  server_t *s = check_open(L);
  summary *m;
  int i = 0;
  lua_newtable(L);
  while (s && (m = s->summaries) != NULL) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, m->run);
    lua_setfield(L, -2, "run");
    lua_pushinteger(L, (lua_Integer)m->status);
    lua_setfield(L, -2, "status");
    if (m->doc) {
      lua_pushlstring(L, m->doc, m->len);
      lua_setfield(L, -2, "json");
    }
    lua_rawseti(L, -2, ++i);
    s->summaries = m->next;   /* taken only once it is in the table */
    free(m->doc);
    free(m);
  }
  return 1;
}

static int server_clients(lua_State *L) {
  server_t *s = check_open(L);
  sse_client *c;
  int n = 0;
  for (c = s ? s->clients : NULL; c; c = c->next) n++;
  lua_pushinteger(L, n);
  return 1;
}

/* srv:closed() -> true once close was asked (srv:close, SIGINT, SIGTERM). */
static int server_closed(lua_State *L) {
  server_t *s = check_open(L);
  lua_pushboolean(L, s == NULL || s->closing);
  return 1;
}

static int server_close_l(lua_State *L) {
  server_t *s = check_open(L);
  if (s) server_close(s);
  return 0;
}

static int server_gc(lua_State *L) {
  server_ud *u = luaL_checkudata(L, 1, SERVER_MT);
  if (u->s) {
    server_close(u->s);
    u->s->ud_gone = 1;
    maybe_free(u->s);
    u->s = NULL;
  }
  return 0;
}

/* Loopback needs no grant; any other address must be in --allow-net
   (`vouch serve --bind ADDR` grants ADDR). */
static int is_loopback(const char *host) {
  return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "::1") == 0 ||
         strcmp(host, "localhost") == 0;
}

/*
** vouch.serve.listen{host=, port=, handler=} -> server, or nil, message,
** code. Port 0 picks a free one (srv:port() tells which); the token is
** random (srv:token()) unless `token` gives one (for tests). The
** run's own time limit stops here: a server runs until it is closed, and
** each request gets the limit of one (REQUEST_SECONDS, or --timeout when
** less).
*/
static int serve_listen(lua_State *L) {
  vouch_host_t *h = vouch_host(L);
  const char *host, *token;
  lua_Integer port;
  server_ud *u;
  server_t *s;
  h2o_hostconf_t *hc;
  h2o_handler_t *hd;
  struct sockaddr_storage addr;
  int rc, len;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "host");
  lua_getfield(L, 1, "port");
  lua_getfield(L, 1, "token");
  lua_getfield(L, 1, "handler");
  host = luaL_optstring(L, -4, "127.0.0.1");
  port = luaL_optinteger(L, -3, 0);
  token = luaL_optstring(L, -2, NULL);
  luaL_checktype(L, -1, LUA_TFUNCTION);
  if (port < 0 || port > 65535) return luaL_error(L, "port %d out of range", (int)port);
  if (token && (strlen(token) < 16 || strlen(token) >= sizeof s->token))
    return luaL_error(L, "the token must have 16 to 64 characters");
  if (strlen(host) >= sizeof s->host) return luaL_error(L, "address too long");
  if (!is_loopback(host) && !vouch_net_allowed(h, host)) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: serving beyond this machine needs the address in --allow-net "
                       "(vouch serve --bind ADDR)", host);
    lua_pushliteral(L, "EACCES");
    return 3;
  }
  if (uv_ip4_addr(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, (int)port,
                  (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)&addr) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: not an IP address", host);
    lua_pushliteral(L, "EINVAL");
    return 3;
  }
  if (vouch_dl_load(&vouch_dl_h2o) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot load libh2o: %s", vouch_dl_h2o.error);
    lua_pushliteral(L, "ELIBACC");
    return 3;
  }
  signal(SIGPIPE, SIG_IGN);  /* a client that goes away is an error code, not death */
  u = lua_newuserdatauv(L, sizeof *u, 0);
  u->s = NULL;
  luaL_setmetatable(L, SERVER_MT);
  if ((s = calloc(1, sizeof *s)) == NULL) return luaL_error(L, "not enough memory");
  s->h = h;
  if (token) snprintf(s->token, sizeof s->token, "%s", token);
  else {
    /* 128 bits from the system's random source, as hex */
    unsigned char r[16];
    int i;
    if (uv_random(NULL, NULL, r, sizeof r, 0, NULL) != 0) {
      free(s);
      return luaL_error(L, "no random source for the token");
    }
    for (i = 0; i < 16; i++) snprintf(s->token + 2 * i, 3, "%02x", r[i]);
  }
  snprintf(s->host, sizeof s->host, "%s", host);
  uv_tcp_init(&h->loop, &s->listener);
  s->listener.data = s;
  s->handles = 1;
  rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 128, on_accept);
  if (rc != 0) {
    s->closing = s->disposed = s->ud_gone = 1;
    uv_close((uv_handle_t *)&s->listener, handle_closed);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s:%d: %s", host, (int)port, uv_strerror(rc));
    lua_pushstring(L, uv_err_name(rc));
    return 3;
  }
  len = sizeof addr;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len);
  s->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                             : ((struct sockaddr_in *)&addr)->sin_port);
  h2o_config_init(&s->config);
  s->config.max_request_entity_size = MAX_BODY;
  s->config.http1.req_timeout = REQ_TIMEOUT;
  s->config.http1.upgrade_to_http2 = 0;
  s->config.http2.graceful_shutdown_timeout = 0;  /* HTTP/1 only: nothing to wait for */
  s->config.server_name = h2o_iovec_init(H2O_STRLIT("vouch"));
  hc = h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  hd = h2o_create_handler(h2o_config_register_path(hc, "/", 0), sizeof *hd + sizeof s);
  hd->on_req = on_req;
  *(server_t **)(hd + 1) = s;
  h2o_context_init(&s->ctx, &h->loop, &s->config);
  s->accept.ctx = &s->ctx;
  s->accept.hosts = s->config.hosts;
  uv_signal_init(&h->loop, &s->sigint);
  uv_signal_init(&h->loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  uv_signal_start(&s->sigint, on_signal, SIGINT);
  uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  s->handles = 3;
  s->T = lua_newthread(L);
  s->thread_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 5);  /* the handler */
  s->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  u->s = s;
  vouch_limits_disarm(h);
  return 1;
}

int luaopen_vouch_serve(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"push", server_push}, {"ping", server_ping}, {"spawn", server_spawn}, {"summaries", server_summaries},
    {"port", server_port}, {"token", server_token}, {"clients", server_clients}, {"closed", server_closed},
    {"close", server_close_l}, {NULL, NULL}
  };
  static const luaL_Reg lib[] = {{"listen", serve_listen}, {NULL, NULL}};
  luaL_newmetatable(L, SERVER_MT);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, server_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newlib(L, lib);
  return 1;
}

/* }====================================================== */
