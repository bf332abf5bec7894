/*
** http.c: vouch.http.get and vouch.http.request, through libcurl's
** multi-socket interface on the host's libuv loop.
**
** One CURLM per host. curl tells us which sockets to watch (on_socket: a
** uv_poll_t per socket) and when to call it back (on_curl_timer: one
** uv_timer_t); we hand socket events and timeouts back with
** curl_multi_socket_action and collect finished transfers in
** check_multi_info, which resumes the waiting tasks. Lua never runs inside
** a curl callback.
**
** Each request is a vouch_op_t: a timeout or a cancellation removes its
** easy handle from the multi and frees it. At most `limit` transfers run at
** once; the others wait in a queue. Redirects are followed here, not by
** curl, so that every hop's host is checked against --allow-net.
*/
#include <ctype.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include <xxhash.h>

#include "vouch.h"
#include "db.h"
#include "dl.h"

#define HTTP_STATE "vouch.http"
#define RESPONSE_MT "vouch.http.response"
#define DEFAULT_LIMIT 16              /* transfers at once, host-wide */
#define DEFAULT_MAX_SIZE (64u << 20)  /* response body bytes */
#define DEFAULT_REDIRECTS 5
#define MAX_HEADER_BYTES (256u << 10) /* all response headers of one response */
#define CONNECT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_WAIT 60000        /* ms of waiting between attempts, in all */
#define DEFAULT_BACKOFF 200           /* ms before the first retry */
#define MAX_BACKOFF 30000             /* ms: no single backoff is longer */

typedef struct http_state http_state;

typedef struct buf {
  char *p;                  /* malloc'd, owned */
  size_t len, cap;
  vouch_host_t *h;          /* charged with cap bytes (--max-memory), or NULL */
} buf;

/* A socket curl asked us to watch. */
typedef struct sock_ctx {
  uv_poll_t poll;           /* must be first; freed in its close callback */
  http_state *hs;
  struct sock_ctx *prev, *next;  /* live contexts, so shutdown can close them */
} sock_ctx;

typedef struct request {
  vouch_op_t op;            /* must be first */
  http_state *hs;
  CURL *easy;               /* owned */
  struct curl_slist *headers;   /* request headers; owned */
  char method[16];
  char *url;                /* the current hop's URL; owned */
  char *host;               /* the first hop's host; owned */
  char *body;               /* request body; owned, NULL for none */
  size_t body_len;
  size_t body_charged;      /* of it, charged to --max-memory */
  int max_redirects, redirects;
  size_t max_size;
  buf resp;                 /* response body */
  buf head;                 /* response header lines of the last response */
  int too_large, nomem;     /* why a write callback stopped the transfer */
  int where;                /* REQ_*: which list holds it, and what it waits for */
  uv_timer_t *wait;         /* pacing and backoff; malloc'd, closed by request_free */
  int retries, attempts;    /* retries allowed; transfers made so far */
  int idempotent;           /* may be sent again (GET, HEAD, PUT, DELETE, or asked) */
  int64_t max_wait, waited; /* ms: cap on the waits between attempts, and spent */
  int64_t backoff;          /* ms before the first retry; doubles each time */
  int cache;                /* cache = true: revalidate and keep in http_cache */
  int cache_hit;            /* it carries the validators of a stored entry */
  char cache_key[33];       /* hex XXH3-128 of method, URL and request headers */
  struct request *prev, *next;  /* the queue, the active list or the waiting list */
  char errbuf[CURL_ERROR_SIZE];
} request;

/* REQ_*: where a request is. */
enum { REQ_NONE, REQ_QUEUED, REQ_PACING, REQ_ACTIVE, REQ_BACKOFF };

/*
** vouch.http.rate(HOST, "10/s"): requests to HOST start at least
** `interval` apart, whichever task sends them. `next` is the earliest
** start not yet promised to a request.
*/
typedef struct pace {
  char *host;               /* HOST or HOST:PORT, as given; owned */
  char spec[32];            /* as given, returned by the next call */
  uint64_t interval, next;  /* ns; uv_hrtime() */
  uint64_t last;            /* when the last request to it really started */
  struct pace *link;
} pace;

struct http_state {
  vouch_host_t *h;
  CURLM *multi;             /* owned */
  uv_timer_t *timer;        /* curl's timeout; malloc'd, freed on close */
  int active, limit;        /* transfers running, and the most allowed */
  request *qhead, *qtail;   /* waiting for a slot */
  request *alist;           /* running */
  request *wlist;           /* waiting for their pace or a backoff to pass */
  struct pace *paces;       /* vouch.http.rate, per host */
  uint64_t rng;             /* xorshift state for the backoff's jitter */
  sock_ctx *socks;
  int closing;              /* the state is being collected */
};


/*
** {======================================================
** Buffers, URLs, the queue
** =======================================================
*/

/*
** Append to `b`. Its growth is charged to the script's --max-memory as it
** arrives, so a body that would not fit ends the transfer before it is
** held: -2 then (the memory limit tripped), -1 when malloc fails.
*/
static int buf_add(buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *q;
    while (cap < b->len + n + 1) cap *= 2;
    if (b->h && vouch_mem_charge(b->h, cap - b->cap) != 0) return -2;
    q = realloc(b->p, cap);
    if (q == NULL) {
      if (b->h) vouch_mem_release(b->h, cap - b->cap);
      return -1;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

static void buf_free(buf *b) {
  if (b->h) vouch_mem_release(b->h, b->cap);
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}


enum { URL_OK, URL_BAD, URL_SCHEME, URL_DENIED };

/*
** Check `url`: absolute, http or https, and its host allowed by --allow-net
** (as HOST or HOST:PORT). The host goes to *host (malloc'd) when not NULL.
*/
static int url_check(vouch_host_t *h, const char *url, char **host) {
  CURLU *u = curl_url();
  char *scheme = NULL, *hn = NULL, *port = NULL;
  int r = URL_OK;
  if (host) *host = NULL;
  if (u == NULL) return URL_BAD;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    r = URL_BAD;
  } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
    r = URL_SCHEME;
  } else if (curl_url_get(u, CURLUPART_HOST, &hn, 0) != CURLUE_OK) {
    r = URL_BAD;
  } else {
    char hp[512];
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    snprintf(hp, sizeof hp, "%s:%s", hn, port ? port : "");
    if (!vouch_net_allowed(h, hn) && !vouch_net_allowed(h, hp)) {
      /* An IPv6 literal may be allowed with or without its brackets. */
      size_t n = strlen(hn);
      char bare[256];
      r = URL_DENIED;
      if (n > 2 && n < sizeof bare && hn[0] == '[' && hn[n - 1] == ']') {
        memcpy(bare, hn + 1, n - 2);
        bare[n - 2] = '\0';
        if (vouch_net_allowed(h, bare)) r = URL_OK;
      }
    }
    if (host) *host = strdup(hn);
  }
  curl_free(scheme);
  curl_free(hn);
  curl_free(port);
  curl_url_cleanup(u);
  return r;
}

/* The message for a url_check failure, into out[n]. */
static const char *url_error(char *out, size_t n, int r, const char *url, const char *host) {
  switch (r) {
    case URL_SCHEME:
      snprintf(out, n, "%.400s: only http and https URLs are supported", url);
      break;
    case URL_DENIED:
      snprintf(out, n, "%.400s: network access to %.200s denied (allow it with "
                       "--allow-net=%.200s)", url, host, host);
      break;
    default:
      snprintf(out, n, "%.400s: not a valid absolute URL", url);
      break;
  }
  return out;
}


static void list_remove(request **head, request **tail, request *r) {
  if (r->prev) r->prev->next = r->next;
  else *head = r->next;
  if (r->next) r->next->prev = r->prev;
  else if (tail) *tail = r->prev;
  r->prev = r->next = NULL;
}


static void wait_closed(uv_handle_t *t) {
  free(t);
}


static void request_free(request *r) {
  if (r->wait) {
    uv_timer_stop(r->wait);
    uv_close((uv_handle_t *)r->wait, wait_closed);
  }
  vouch_mem_release(r->hs->h, r->body_charged);
  if (r->easy) curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  free(r->url);
  free(r->host);
  free(r->body);
  buf_free(&r->resp);
  buf_free(&r->head);
  free(r);
}


/*
** The pace of the host of `url`, or NULL. A pace names HOST:PORT or HOST,
** as --allow-net does.
*/
static pace *pace_find(http_state *hs, const char *url) {
  CURLU *u;
  char *hn = NULL, *port = NULL, hp[512];
  pace *p, *found = NULL;
  if (hs->paces == NULL || (u = curl_url()) == NULL) return NULL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &hn, 0) == CURLUE_OK) {
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    snprintf(hp, sizeof hp, "%s:%s", hn, port ? port : "");
    for (p = hs->paces; p && !found; p = p->link)
      if (strcasecmp(p->host, hp) == 0) found = p;
    for (p = hs->paces; p && !found; p = p->link)
      if (strcasecmp(p->host, hn) == 0) found = p;
  }
  curl_free(hn);
  curl_free(port);
  curl_url_cleanup(u);
  return found;
}


/*
** Promise `r` the next start its host's pace allows; the milliseconds to
** wait for it (0: now). Slots are promised in the order requests reach a
** transfer slot, so every task's requests share one pace.
*/
static uint64_t pace_delay(http_state *hs, request *r) {
  pace *p = pace_find(hs, r->url);
  uint64_t now, slot;
  if (p == NULL) return 0;
  now = uv_hrtime();
  slot = p->next > now ? p->next : now;
  if (p->last && slot < p->last + p->interval) slot = p->last + p->interval;
  p->next = slot + p->interval;
  if (slot > now) return (slot - now + 999999) / 1000000;
  p->last = now;  /* it starts at once */
  return 0;
}


static void on_wait(uv_timer_t *t);

/* Wait `ms` on the request's timer, in the waiting list. 0, or -1. */
static int wait_start(http_state *hs, request *r, uint64_t ms, int where) {
  if (r->wait == NULL) {
    if ((r->wait = malloc(sizeof *r->wait)) == NULL) return -1;
    uv_timer_init(&hs->h->loop, r->wait);
    r->wait->data = r;
  }
  if (uv_timer_start(r->wait, on_wait, ms, 0) != 0) return -1;
  r->where = where;
  r->prev = NULL;
  r->next = hs->wlist;
  if (hs->wlist) hs->wlist->prev = r;
  hs->wlist = r;
  return 0;
}


/* Hand `r` (holding a transfer slot) to curl. */
static void start_transfer(http_state *hs, request *r) {
  if (curl_multi_add_handle(hs->multi, r->easy) != CURLM_OK) {
    /* Cannot happen with a fresh handle; the op's timeout or the run's
       limit still ends the wait. */
    fprintf(stderr, "vouch: cannot start the transfer of %s\n", r->url);
    hs->active--;
    r->where = REQ_NONE;
    return;
  }
  r->where = REQ_ACTIVE;
  r->prev = NULL;
  r->next = hs->alist;
  if (hs->alist) hs->alist->prev = r;
  hs->alist = r;
}


/*
** Start queued transfers while there is room. One whose host is paced
** takes its slot and waits for its turn. No Lua here.
*/
static void start_queued(http_state *hs) {
  while (hs->qhead && hs->active < hs->limit && !hs->closing) {
    request *r = hs->qhead;
    uint64_t ms;
    list_remove(&hs->qhead, &hs->qtail, r);
    r->where = REQ_NONE;
    hs->active++;
    ms = pace_delay(hs, r);
    if (ms > 0 && wait_start(hs, r, ms, REQ_PACING) == 0) continue;
    start_transfer(hs, r);
  }
}


static void enqueue(http_state *hs, request *r) {
  r->where = REQ_QUEUED;
  r->next = NULL;
  r->prev = hs->qtail;
  if (hs->qtail) hs->qtail->next = r;
  else hs->qhead = r;
  hs->qtail = r;
  start_queued(hs);
}


/* Take `r` out of the multi, the queue or its wait. */
static void detach(http_state *hs, request *r) {
  switch (r->where) {
    case REQ_ACTIVE:
      curl_multi_remove_handle(hs->multi, r->easy);
      list_remove(&hs->alist, NULL, r);
      hs->active--;
      break;
    case REQ_PACING:
      hs->active--;
      /* fall through */
    case REQ_BACKOFF:
      uv_timer_stop(r->wait);
      list_remove(&hs->wlist, NULL, r);
      break;
    case REQ_QUEUED:
      list_remove(&hs->qhead, &hs->qtail, r);
      break;
    default:
      break;
  }
  r->where = REQ_NONE;
}


/* A pace or a backoff has passed. No Lua here. */
static void on_wait(uv_timer_t *t) {
  request *r = t->data;
  http_state *hs = r->hs;
  int where = r->where;
  list_remove(&hs->wlist, NULL, r);
  r->where = REQ_NONE;
  if (where == REQ_PACING) {
    /* Timers that fire late (a busy loop, a loaded machine) fire together:
       each start still keeps its interval from the one before. */
    pace *p = pace_find(hs, r->url);
    uint64_t now = uv_hrtime();
    if (p && p->last && now < p->last + p->interval) {
      uint64_t ms = (p->last + p->interval - now + 999999) / 1000000;
      if (p->next < p->last + 2 * p->interval) p->next = p->last + 2 * p->interval;
      if (wait_start(hs, r, ms, REQ_PACING) == 0) return;
    }
    if (p) p->last = now;
    start_transfer(hs, r);  /* it holds its slot */
  } else {
    enqueue(hs, r);
  }
}


/* The op's cancel: a timeout, task:cancel() or shutdown. No Lua here. */
static void request_cancel(vouch_op_t *op) {
  request *r = (request *)op;
  http_state *hs = r->hs;
  detach(hs, r);
  request_free(r);
  start_queued(hs);
}

/* }====================================================== */


/*
** {======================================================
** curl callbacks (no Lua in any of them)
** =======================================================
*/

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  request *r = ud;
  size_t len = size * n;
  if (r->resp.len + len > r->max_size) {
    r->too_large = 1;
    return 0;                              /* stops the transfer */
  }
  if (buf_add(&r->resp, p, len) != 0) {
    r->nomem = 1;                          /* or the memory limit tripped */
    return 0;
  }
  return len;
}


static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  request *r = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) r->head.len = 0;  /* a new response */
  if (r->head.len + len > MAX_HEADER_BYTES) {
    r->too_large = 1;
    return 0;
  }
  if (buf_add(&r->head, p, len) != 0) {
    r->nomem = 1;
    return 0;
  }
  return len;
}


static void sock_closed(uv_handle_t *handle) {
  free(handle);
}

static void sock_close(sock_ctx *c) {
  http_state *hs = c->hs;
  if (c->prev) c->prev->next = c->next;
  else hs->socks = c->next;
  if (c->next) c->next->prev = c->prev;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, sock_closed);
}


static void check_multi_info(http_state *hs);

static void on_poll(uv_poll_t *poll, int status, int events) {
  sock_ctx *c = poll->data;
  http_state *hs = c->hs;
  int flags = 0, running;
  uv_os_fd_t fd;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  if (uv_fileno((uv_handle_t *)poll, &fd) != 0) return;
  curl_multi_socket_action(hs->multi, (curl_socket_t)fd, flags, &running);
  check_multi_info(hs);
}


static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
  http_state *hs = userp;
  sock_ctx *c = socketp;
  int events = 0;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (c) {
      sock_close(c);
      curl_multi_assign(hs->multi, s, NULL);
    }
    return 0;
  }
  if (c == NULL) {
    c = calloc(1, sizeof *c);
    if (c == NULL) return -1;
    if (uv_poll_init_socket(&hs->h->loop, &c->poll, s) != 0) {
      free(c);
      return -1;
    }
    c->hs = hs;
    c->poll.data = c;
    c->next = hs->socks;
    if (hs->socks) hs->socks->prev = c;
    hs->socks = c;
    curl_multi_assign(hs->multi, s, c);
  }
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  uv_poll_start(&c->poll, events, on_poll);
  return 0;
}


static void on_timer(uv_timer_t *timer) {
  http_state *hs = timer->data;
  int running;
  curl_multi_socket_action(hs->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  check_multi_info(hs);
}


static int on_curl_timer(CURLM *multi, long ms, void *userp) {
  http_state *hs = userp;
  (void)multi;
  if (ms < 0) uv_timer_stop(hs->timer);
  else uv_timer_start(hs->timer, on_timer, (uint64_t)ms, 0);
  return 0;
}

/* }====================================================== */


/*
** {======================================================
** Transfers
** =======================================================
*/

/* Set the easy handle up for the current hop. Returns 0, or -1. */
static int setup_easy(request *r) {
  CURL *e = r->easy;
  curl_easy_reset(e);
  r->errbuf[0] = '\0';
  r->resp.len = r->head.len = 0;
  r->too_large = r->nomem = 0;
  if (curl_easy_setopt(e, CURLOPT_URL, r->url) != CURLE_OK) return -1;
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_PROXY, "");  /* no proxy from the environment */
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_USERAGENT, "vouch/" VOUCH_VERSION);
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_size);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  if (r->body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    if (strcmp(r->method, "POST") != 0)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  } else if (strcmp(r->method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(r->method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
  }
  return 0;
}


/* The errno-style code for a failed transfer. */
static const char *error_code(request *r, CURLcode rc) {
  long oserr = 0;
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &oserr);
      if (oserr != 0 && oserr != ECONNREFUSED && strerrorname_np((int)oserr))
        return strerrorname_np((int)oserr);
      return "ECONNREFUSED";
    case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
      return "ENOTFOUND";
    case CURLE_OPERATION_TIMEDOUT: return "ETIMEDOUT";
    case CURLE_FILESIZE_EXCEEDED: return "EFBIG";
    case CURLE_WRITE_ERROR: return r->nomem ? "ENOMEM" : "EFBIG";
    case CURLE_OUT_OF_MEMORY: return "ENOMEM";
    case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return "ECONNRESET";
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR: case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE:
      return "ETLS";
    case CURLE_UNSUPPORTED_PROTOCOL: return "EPROTO";
    default: return "EHTTP";
  }
}


/* Push the header lines p[0..n) as a table with lower-case names. */
static void push_headers(lua_State *L, const char *p, size_t n) {
  const char *end = p ? p + n : NULL;
  lua_newtable(L);
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;
    if (eol == NULL) eol = end;
    ve = eol;
    while (ve > p && (ve[-1] == '\r' || ve[-1] == '\n')) ve--;
    colon = memchr(p, ':', (size_t)(ve - p));
    if (colon && colon > p && *p != ' ' && *p != '\t' && strncmp(p, "HTTP/", 5) != 0) {
      luaL_Buffer b;
      const char *k;
      luaL_buffinit(L, &b);
      for (k = p; k < colon; k++) luaL_addchar(&b, (char)tolower((unsigned char)*k));
      luaL_pushresult(&b);
      for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {}
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) == LUA_TSTRING) {  /* repeated: join with ", " */
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = eol + 1;
  }
}


/*
** The value of the response header `name` (lower-case, with its colon)
** of the last response of `r`, into out[n]; NULL when it has none.
*/
static const char *header_value(request *r, const char *name, char *out, size_t n) {
  const char *p = r->head.p, *end = p ? p + r->head.len : NULL;
  size_t k = strlen(name);
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p)), *v, *ve;
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > k && strncasecmp(p, name, k) == 0) {
      for (v = p + k; v < eol && (*v == ' ' || *v == '\t'); v++) {}
      for (ve = eol; ve > v && isspace((unsigned char)ve[-1]); ve--) {}
      snprintf(out, n, "%.*s", (int)(ve - v), v);
      return out;
    }
    p = eol + 1;
  }
  return NULL;
}


/*
** A 304 to a request that carried a stored entry's validators: the stored
** response, read back (charged to --max-memory as it becomes Lua strings),
** on the stack as status, headers text and body. 0 when the entry is gone.
*/
static int cache_revalidated(lua_State *L, request *r, long status) {
  vouch_db_t *d;
  if (!r->cache || !r->cache_hit || status != 304) return 0;
  d = vouch_db_default(L);
  return vouch_db_cache_get(L, d, r->cache_key, 1) == 1;
}


/* Keep a 200 that has validators in the cache; a failure only loses it. */
static void cache_store(lua_State *L, request *r, long status) {
  char etag[512], lm[128], *url;
  const char *e, *m;
  vouch_db_t *d;
  if (!r->cache || status != 200) return;
  e = header_value(r, "etag:", etag, sizeof etag);
  m = header_value(r, "last-modified:", lm, sizeof lm);
  if (e == NULL && m == NULL) return;
  d = vouch_db_default(L);
  url = vouch_redact(r->hs->h, r->url);   /* a key in the query is not kept */
  if (url == NULL) return;
  vouch_db_cache_put(d, r->cache_key, url, (int)status, e, m, r->head.p ? r->head.p : "",
                     r->head.len, r->resp.p ? r->resp.p : "", r->resp.len);
  free(url);
}


/* Build the response table on L (called protected, on the main thread). */
static int build_response(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  long status = 0;
  char *eff = NULL;
  int top = lua_gettop(L);
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &eff);
  if (cache_revalidated(L, r, status)) {
    /* status, headers, body of the stored response (at top+1..top+3) */
    lua_createtable(L, 0, 9);
    lua_pushvalue(L, top + 1);
    lua_setfield(L, -2, "status");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ok");
    lua_pushstring(L, eff ? eff : r->url);
    lua_setfield(L, -2, "url");
    lua_pushvalue(L, top + 3);
    lua_setfield(L, -2, "body");
    {
      size_t n;
      const char *hd = lua_tolstring(L, top + 2, &n);
      push_headers(L, hd, n);
    }
    lua_setfield(L, -2, "headers");
    lua_pushinteger(L, r->redirects);
    lua_setfield(L, -2, "redirects");
    lua_pushinteger(L, r->attempts);
    lua_setfield(L, -2, "attempts");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "cached");
    luaL_setmetatable(L, RESPONSE_MT);
    return 1;
  }
  lua_settop(L, top);
  cache_store(L, r, status);
  lua_createtable(L, 0, 8);
  lua_pushinteger(L, r->attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "cached");
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  lua_pushboolean(L, status >= 200 && status < 300);
  lua_setfield(L, -2, "ok");
  lua_pushstring(L, eff ? eff : r->url);
  lua_setfield(L, -2, "url");
  lua_pushlstring(L, r->resp.p ? r->resp.p : "", r->resp.len);
  lua_setfield(L, -2, "body");
  push_headers(L, r->head.p, r->head.len);
  lua_setfield(L, -2, "headers");
  lua_pushinteger(L, r->redirects);
  lua_setfield(L, -2, "redirects");
  luaL_setmetatable(L, RESPONSE_MT);
  return 1;
}


/* Build the failure values (nil, message, code) on L (protected). */
static int build_failure(lua_State *L) {
  request *r = lua_touserdata(L, 1);
  CURLcode rc = (CURLcode)lua_tointeger(L, 2);
  lua_pushnil(L);
  if (r->too_large && rc != CURLE_OK)
    lua_pushfstring(L, "%s: response larger than max_size (%I bytes)", r->url,
                    (LUAI_UACINT)r->max_size);
  else if (rc == CURLE_FILESIZE_EXCEEDED)
    lua_pushfstring(L, "%s: response larger than max_size (%I bytes)", r->url,
                    (LUAI_UACINT)r->max_size);
  else
    lua_pushfstring(L, "%s: %s", r->url, r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
  vouch_redact_at(L, -1);
  lua_pushstring(L, error_code(r, rc));
  return 3;
}


/*
** A message (C string at 1) for the task to raise (false, message) when
** the code (C string at 2) is NULL, or to return (nil, message, code).
*/
static int build_message(lua_State *L) {
  const char *msg = lua_touserdata(L, 1), *code = lua_touserdata(L, 2);
  if (code == NULL) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, msg);
    vouch_redact_at(L, -1);
    return 2;
  }
  lua_pushnil(L);
  lua_pushstring(L, msg);
  vouch_redact_at(L, -1);
  lua_pushstring(L, code);
  return 3;
}


/*
** Resume the task of `r` with what `fn` builds on the main thread (called
** protected, so that running out of memory cannot escape), then free `r`.
*/
static void complete(request *r, lua_CFunction fn, CURLcode rc, const char *msg,
                     const char *code) {
  vouch_host_t *h = r->hs->h;
  lua_State *L = h->L, *co = r->op.L;
  int top = lua_gettop(L), n;
  lua_pushcfunction(L, fn);
  if (fn == build_message) {
    lua_pushlightuserdata(L, (void *)msg);
    lua_pushlightuserdata(L, (void *)code);
  } else {
    lua_pushlightuserdata(L, r);
    lua_pushinteger(L, rc);
  }
  if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) {
    lua_settop(L, top);
    lua_pushnil(L);
    lua_pushliteral(L, "not enough memory");
    lua_pushliteral(L, "ENOMEM");
  }
  n = lua_gettop(L) - top;
  if (co) lua_xmove(L, co, n);
  else lua_settop(L, top);
  vouch_op_done(&r->op, co ? n : 0);
  request_free(r);
}


/* Fail `r` with a message that its task raises as an error. */
static void complete_error(request *r, const char *msg) {
  complete(r, build_message, CURLE_OK, msg, NULL);
}


/*
** A 3xx with a Location: follow it (re-queue `r`, return 1) when allowed,
** or complete `r` with the reason it stops (return 1); 0 when the response
** is the answer.
*/
static int follow(http_state *hs, request *r, long status) {
  char *loc = NULL, *next, *host = NULL;
  int chk;
  if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
    return 0;
  if (r->max_redirects == 0) return 0;
  if (curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL)
    return 0;
  if (r->redirects >= r->max_redirects) {
    char msg[512];
    snprintf(msg, sizeof msg, "%.400s: too many redirects (max_redirects=%d)", r->url,
             r->max_redirects);
    complete(r, build_message, CURLE_OK, msg, "ETOOMANYREDIRECTS");
    return 1;
  }
  chk = url_check(hs->h, loc, &host);
  if (chk != URL_OK) {
    char msg[1024], why[900];
    url_error(why, sizeof why, chk, loc, host ? host : "?");
    snprintf(msg, sizeof msg, "redirect from %.100s to %s", r->url, why);
    free(host);
    complete_error(r, msg);
    return 1;
  }
  next = strdup(loc);
  if (next == NULL) {
    free(host);
    complete(r, build_message, CURLE_OK, "not enough memory", "ENOMEM");
    return 1;
  }
  free(r->url);
  r->url = next;
  r->redirects++;
  r->attempts = 0;  /* attempts count per URL */
  /* See Other, and the historical POST-to-GET of 301 and 302. */
  if ((status == 303 && strcmp(r->method, "HEAD") != 0) ||
      ((status == 301 || status == 302) && strcmp(r->method, "POST") == 0)) {
    strcpy(r->method, "GET");
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
  }
  /* Credentials do not follow a redirect to another host. */
  if (host && r->host && strcasecmp(host, r->host) != 0) {
    struct curl_slist *kept = NULL, *l;
    for (l = r->headers; l; l = l->next)
      if (strncasecmp(l->data, "authorization:", 14) != 0 &&
          strncasecmp(l->data, "cookie:", 7) != 0)
        kept = curl_slist_append(kept, l->data);
    curl_slist_free_all(r->headers);
    r->headers = kept;
  }
  free(host);
  if (setup_easy(r) != 0) {
    complete(r, build_message, CURLE_OK, "cannot set up the redirect", "EHTTP");
    return 1;
  }
  enqueue(hs, r);
  return 1;
}


/* A failure that another attempt may not meet: the connection, not the request. */
static int transient(CURLcode rc) {
  return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR ||
         rc == CURLE_SEND_ERROR || rc == CURLE_PARTIAL_FILE;
}


/* Retry-After of the last response in ms (seconds or an HTTP-date), or -1. */
static int64_t retry_after(request *r) {
  char v[128];
  const char *p;
  time_t t;
  if (header_value(r, "retry-after:", v, sizeof v) == NULL || v[0] == '\0') return -1;
  for (p = v; *p >= '0' && *p <= '9'; p++) {}
  if (*p == '\0') {
    long long secs = strlen(v) > 9 ? 999999999LL : atoll(v);
    return (int64_t)secs * 1000;
  }
  if ((t = curl_getdate(v, NULL)) == -1) return -1;
  return t <= time(NULL) ? 0 : (int64_t)(t - time(NULL)) * 1000;
}


static uint64_t rng_next(http_state *hs) {
  uint64_t x = hs->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return hs->rng = x;
}


/*
** A 429, 502, 503 or 504, or a dropped connection, when `r` may be sent
** again: wait (Retry-After on 429 and 503, else an exponential backoff with
** jitter) and send it again, or complete it with EAGAIN when its retries or
** max_wait are spent. Returns 1 when it took `r`, 0 when the result stands.
*/
static int retry(http_state *hs, request *r, CURLcode rc, long status) {
  char msg[1024], what[300];
  int64_t ms;
  if (r->retries == 0 || !r->idempotent) return 0;
  if (rc != CURLE_OK ? !transient(rc)
                     : !(status == 429 || status == 502 || status == 503 || status == 504))
    return 0;
  if (rc != CURLE_OK)
    snprintf(what, sizeof what, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
  else
    snprintf(what, sizeof what, "HTTP %ld", status);
  if (r->attempts > r->retries) {
    snprintf(msg, sizeof msg, "%.600s: %s after %d attempts (retries = %d)", r->url, what,
             r->attempts, r->retries);
    complete(r, build_message, CURLE_OK, msg, "EAGAIN");
    return 1;
  }
  ms = status == 429 || status == 503 ? retry_after(r) : -1;
  if (ms < 0) {
    int64_t exp = r->backoff;
    int i;
    for (i = 1; i < r->attempts && exp < MAX_BACKOFF; i++) exp *= 2;
    if (exp > MAX_BACKOFF) exp = MAX_BACKOFF;
    ms = exp / 2 + (exp > 1 ? (int64_t)(rng_next(hs) % (uint64_t)(exp - exp / 2 + 1)) : 0);
  }
  if (r->waited + ms > r->max_wait) {
    snprintf(msg, sizeof msg, "%.600s: %s after %d attempts; waiting %lld ms more would pass "
             "max_wait (%lld ms)", r->url, what, r->attempts, (long long)ms,
             (long long)r->max_wait);
    complete(r, build_message, CURLE_OK, msg, "EAGAIN");
    return 1;
  }
  r->waited += ms;
  if (setup_easy(r) != 0 || wait_start(hs, r, (uint64_t)ms, REQ_BACKOFF) != 0) {
    complete(r, build_message, CURLE_OK, "not enough memory", "ENOMEM");
    return 1;
  }
  return 1;
}


/* A transfer ended: retry, follow a redirect, or resume the task with the result. */
static void transfer_done(http_state *hs, request *r, CURLcode rc) {
  long status = 0;
  detach(hs, r);
  start_queued(hs);
  r->attempts++;
  if (rc == CURLE_OK) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  if (retry(hs, r, rc, status)) return;
  if (rc == CURLE_OK) {
    if (follow(hs, r, status)) return;
    complete(r, build_response, rc, NULL, NULL);
  } else {
    complete(r, build_failure, rc, NULL, NULL);
  }
}


/*
** Collect finished transfers. Resuming a task runs Lua, which may start or
** cancel other requests; curl_multi_remove_handle drops a cancelled
** handle's message, so reading the next one stays safe.
*/
static void check_multi_info(http_state *hs) {
  CURLMsg *m;
  int pending;
  while ((m = curl_multi_info_read(hs->multi, &pending)) != NULL) {
    if (m->msg == CURLMSG_DONE) {
      CURL *e = m->easy_handle;
      CURLcode rc = m->data.result;
      char *priv = NULL;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      if (priv) transfer_done(hs, (request *)priv, rc);
    }
  }
}

/* }====================================================== */


/*
** {======================================================
** Lua functions
** =======================================================
*/

static int state_gc(lua_State *L);

/*
** The host's HTTP state, made on first use: libcurl is initialised only by
** a script that uses vouch.http, so that starting vouch costs no more than
** it needs.
*/
static http_state *state_of(lua_State *L) {
  http_state *hs;
  lua_getfield(L, LUA_REGISTRYINDEX, HTTP_STATE);
  hs = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (hs) return hs;
  if (vouch_dl_load(&vouch_dl_curl) != 0)
    luaL_error(L, "cannot load libcurl: %s", vouch_dl_curl.error);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    luaL_error(L, "cannot initialise libcurl");
  hs = lua_newuserdatauv(L, sizeof *hs, 0);
  memset(hs, 0, sizeof *hs);
  hs->h = vouch_host(L);
  hs->limit = DEFAULT_LIMIT;
  hs->rng = (uv_hrtime() ^ ((uint64_t)getpid() << 32)) | 1;
  hs->timer = malloc(sizeof *hs->timer);
  hs->multi = curl_multi_init();
  if (hs->timer == NULL || hs->multi == NULL) {
    free(hs->timer);
    if (hs->multi) curl_multi_cleanup(hs->multi);
    hs->multi = NULL;
    curl_global_cleanup();
    luaL_error(L, "cannot initialise libcurl");
  }
  uv_timer_init(&hs->h->loop, hs->timer);
  hs->timer->data = hs;
  curl_multi_setopt(hs->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(hs->multi, CURLMOPT_SOCKETDATA, hs);
  curl_multi_setopt(hs->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(hs->multi, CURLMOPT_TIMERDATA, hs);
  lua_newtable(L);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, HTTP_STATE);
  return hs;
}


static int http_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status; (void)ctx;
  if (lua_type(L, 1) == LUA_TBOOLEAN && !lua_toboolean(L, 1))
    return luaL_error(L, "%s", lua_tostring(L, 2));
  return lua_gettop(L);
}


/* An integer option of the table at `t`, or `def`; raises unless in [lo, hi]. */
static lua_Integer opt_int(lua_State *L, int t, const char *name, lua_Integer def,
                           lua_Integer lo, lua_Integer hi) {
  lua_Integer v;
  int isnum;
  if (lua_getfield(L, t, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum) luaL_error(L, "bad %s (integer expected, got %s)", name, luaL_typename(L, -1));
  if (v < lo || v > hi) luaL_error(L, "bad %s (must be between %I and %I)", name,
                                   (LUAI_UACINT)lo, (LUAI_UACINT)hi);
  lua_pop(L, 1);
  return v;
}


/* Check one header name or value: no CR, LF or NUL (no header injection). */
static void check_header_text(lua_State *L, const char *s, size_t len, int name) {
  size_t i;
  if (name && len == 0) luaL_error(L, "bad header name (empty)");
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r' || c == '\n' || c == '\0' || (name && (c == ':' || c <= ' ')))
      luaL_error(L, "bad header %s '%s'", name ? "name" : "value", s);
  }
}


static int cmp_lines(const void *a, const void *b) {
  return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}


/*
** The cache key of a request, as 32 hex digits into key[33]: XXH3-128 of
** the method, the URL and the request headers (the header lines at `hidx`,
** sorted), so that a response fetched with one key or Accept is never
** served to a request with another. The headers' values are hashed, not
** kept.
*/
static void cache_keyof(lua_State *L, const char *method, const char *url, int hidx,
                        char key[33]) {
  XXH3_state_t *st = XXH3_createState();
  int i, n = (int)lua_rawlen(L, hidx);
  const char **lines = n ? lua_newuserdatauv(L, sizeof *lines * (size_t)n, 0) : NULL;
  XXH128_hash_t hv;
  if (st == NULL) luaL_error(L, "not enough memory");
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, hidx, i + 1);
    lines[i] = lua_tostring(L, -1);  /* anchored by the table */
    lua_pop(L, 1);
  }
  if (n) qsort(lines, (size_t)n, sizeof *lines, cmp_lines);
  XXH3_128bits_reset(st);
  XXH3_128bits_update(st, method, strlen(method) + 1);
  XXH3_128bits_update(st, url, strlen(url) + 1);
  for (i = 0; i < n; i++) XXH3_128bits_update(st, lines[i], strlen(lines[i]) + 1);
  hv = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  if (n) lua_pop(L, 1);
  snprintf(key, 33, "%016llx%016llx", (unsigned long long)hv.high64,
           (unsigned long long)hv.low64);
}


/*
** Start the request described by the table at `t` and wait for it. All
** checks that may raise come first, before anything is allocated.
*/
static int do_request(lua_State *L, int t) {
  vouch_host_t *h = vouch_host(L);
  http_state *hs = state_of(L);
  const char *url, *method = "GET", *body = NULL;
  size_t body_len = 0;
  int64_t timeout;
  lua_Integer max_redirects, max_size, retries, max_wait, backoff;
  int chk, i, hidx, oom = 0, idempotent, cache, cache_hit = 0;
  char cache_key[33] = "";
  char *host = NULL;
  request *r;

  if (lua_getfield(L, t, "url") != LUA_TSTRING)
    return luaL_error(L, "bad url (string expected, got %s)", luaL_typename(L, -1));
  url = lua_tostring(L, -1);                       /* anchored by the table */
  lua_pop(L, 1);
  if (lua_getfield(L, t, "method") != LUA_TNIL) {
    size_t n = 0;
    method = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (method == NULL || n == 0 || n >= sizeof r->method)
      return luaL_error(L, "bad method (a short string expected)");
    for (i = 0; method[i]; i++)
      if (!isupper((unsigned char)method[i]))
        return luaL_error(L, "bad method '%s' (upper-case letters expected)", method);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, t, "body") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      return luaL_error(L, "bad body (string expected, got %s)", luaL_typename(L, -1));
    body = lua_tolstring(L, -1, &body_len);
  }
  lua_pop(L, 1);
  lua_newtable(L);                                 /* the header lines */
  hidx = lua_gettop(L);
  if (lua_getfield(L, t, "headers") != LUA_TNIL) {
    if (!lua_istable(L, -1))
      return luaL_error(L, "bad headers (table expected, got %s)", luaL_typename(L, -1));
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      size_t kn, vn;
      const char *k, *v;
      if (lua_type(L, -2) != LUA_TSTRING ||
          (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
        return luaL_error(L, "bad headers (a table of name = string expected)");
      k = lua_tolstring(L, -2, &kn);
      v = lua_tolstring(L, -1, &vn);
      check_header_text(L, k, kn, 1);
      check_header_text(L, v, vn, 0);
      lua_pushfstring(L, "%s: %s", k, v);
      lua_rawseti(L, hidx, (lua_Integer)lua_rawlen(L, hidx) + 1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  timeout = vouch_opt_timeout(L, t);
  max_redirects = opt_int(L, t, "max_redirects", DEFAULT_REDIRECTS, 0, 100);
  max_size = opt_int(L, t, "max_size", DEFAULT_MAX_SIZE, 1, (lua_Integer)1 << 40);
  retries = opt_int(L, t, "retries", 0, 0, 100);
  max_wait = opt_int(L, t, "max_wait", DEFAULT_MAX_WAIT, 0, (lua_Integer)86400000);
  backoff = opt_int(L, t, "backoff", DEFAULT_BACKOFF, 1, MAX_BACKOFF);
  idempotent = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
               strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
               strcmp(method, "OPTIONS") == 0;
  if (lua_getfield(L, t, "idempotent") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      return luaL_error(L, "bad idempotent (boolean expected, got %s)", luaL_typename(L, -1));
    idempotent = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  cache = 0;
  if (lua_getfield(L, t, "cache") != LUA_TNIL) {
    if (!lua_isboolean(L, -1))
      return luaL_error(L, "bad cache (boolean expected, got %s)", luaL_typename(L, -1));
    cache = lua_toboolean(L, -1);
    if (cache && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
      return luaL_error(L, "bad cache (only GET and HEAD requests are cached)");
  }
  lua_pop(L, 1);
  chk = url_check(h, url, &host);
  if (chk != URL_OK) {
    char why[900];
    url_error(why, sizeof why, chk, url, host ? host : "?");
    free(host);
    return luaL_error(L, "%s", why);
  }
  free(host);
  vouch_op_check(L);
  if (cache) {
    /* The validators of a stored entry, if any, left on the stack. */
    cache_keyof(L, method, url, hidx, cache_key);
    cache_hit = vouch_db_cache_get(L, vouch_db_default(L), cache_key, 0) == 1;
    if (cache_hit) {
      if (lua_isstring(L, -2)) {
        lua_pushfstring(L, "If-None-Match: %s", lua_tostring(L, -2));
        lua_rawseti(L, hidx, (lua_Integer)lua_rawlen(L, hidx) + 1);
      }
      if (lua_isstring(L, -1)) {
        lua_pushfstring(L, "If-Modified-Since: %s", lua_tostring(L, -1));
        lua_rawseti(L, hidx, (lua_Integer)lua_rawlen(L, hidx) + 1);
      }
    }
  }

  /* From here on nothing raises until the request is started. */
  r = calloc(1, sizeof *r);
  if (r == NULL) return luaL_error(L, "not enough memory");
  r->hs = hs;
  strcpy(r->method, method);
  r->max_redirects = (int)max_redirects;
  r->retries = (int)retries;
  r->max_wait = max_wait;
  r->backoff = backoff;
  r->idempotent = idempotent;
  r->cache = cache;
  r->cache_hit = cache_hit;
  memcpy(r->cache_key, cache_key, sizeof r->cache_key);
  /* No body can be larger than the memory the script may use. */
  r->max_size = h->max_memory && (size_t)max_size > h->max_memory ? h->max_memory
                                                                  : (size_t)max_size;
  r->resp.h = r->head.h = h;
  r->url = strdup(url);
  url_check(h, url, &r->host);
  r->easy = curl_easy_init();
  if (body && vouch_mem_charge(h, body_len) == 0) {  /* the copy curl sends */
    r->body_charged = body_len;
    r->body = malloc(body_len ? body_len : 1);
    if (r->body) memcpy(r->body, body, body_len);
    r->body_len = body_len;
  }
  for (i = 1; i <= (int)lua_rawlen(L, hidx) && !oom; i++) {
    struct curl_slist *l;
    lua_rawgeti(L, hidx, i);
    l = curl_slist_append(r->headers, lua_tostring(L, -1));
    lua_pop(L, 1);
    if (l == NULL) oom = 1;
    else r->headers = l;
  }
  if (body && !oom) {
    struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
    if (l == NULL) oom = 1;
    else r->headers = l;
  }
  if (oom || r->url == NULL || r->easy == NULL || (body && r->body == NULL) ||
      setup_easy(r) != 0) {
    request_free(r);
    return luaL_error(L, "not enough memory");
  }
  vouch_op_start(L, &r->op);
  r->op.cancel = request_cancel;
  vouch_op_timeout(&r->op, timeout);
  enqueue(hs, r);
  lua_settop(L, 0);
  return lua_yieldk(L, 0, 0, http_k);
}


/*
** vouch.http.request{method=, url=, headers=, body=, timeout=,
** max_redirects=, max_size=}: a response table, or nil, message, code.
*/
static int http_request(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  return do_request(L, 1);
}


/* vouch.http.get(url [, opts]): request{method="GET", url=url, ...opts}. */
static int http_get(lua_State *L) {
  luaL_checkstring(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_newtable(L);
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, 3);
    }
  }
  lua_pushvalue(L, 1);
  lua_setfield(L, 3, "url");
  lua_pushliteral(L, "GET");
  lua_setfield(L, 3, "method");
  return do_request(L, 3);
}


/*
** vouch.http.limit([n]): the most transfers that run at once (host-wide;
** others wait in a queue). Sets it to `n` if given; returns the old value.
*/
static int http_limit(lua_State *L) {
  http_state *hs = state_of(L);
  int old = hs->limit;
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 1024, 1, "must be between 1 and 1024");
    hs->limit = (int)n;
    start_queued(hs);
  }
  lua_pushinteger(L, old);
  return 1;
}


/* resp:json(): the body decoded by vouch.json.decode. */
static int resp_json(lua_State *L) {
  int top;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, LUA_REGISTRYINDEX, "vouch.lib");
  if (!lua_istable(L, -1) || lua_getfield(L, -1, "json") != LUA_TTABLE ||
      lua_getfield(L, -1, "decode") != LUA_TFUNCTION)
    return luaL_error(L, "resp:json() needs vouch.json.decode, which this build of "
                         "vouch does not have");
  if (lua_getfield(L, 1, "body") != LUA_TSTRING)
    return luaL_error(L, "resp:json(): the response has no body");
  top = lua_gettop(L) - 2;
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L) - top;
}


static int state_gc(lua_State *L) {
  http_state *hs = lua_touserdata(L, 1);
  if (hs->multi == NULL) return 0;
  hs->closing = 1;
  while (hs->alist) vouch_op_cancel(&hs->alist->op);
  while (hs->qhead) vouch_op_cancel(&hs->qhead->op);
  while (hs->wlist) vouch_op_cancel(&hs->wlist->op);
  while (hs->paces) {
    pace *p = hs->paces;
    hs->paces = p->link;
    free(p->host);
    free(p);
  }
  curl_multi_cleanup(hs->multi);
  hs->multi = NULL;
  while (hs->socks) sock_close(hs->socks);
  uv_timer_stop(hs->timer);
  uv_close((uv_handle_t *)hs->timer, sock_closed);
  curl_global_cleanup();
  return 0;
}

/* }====================================================== */


/*
** vouch.http.rate(HOST, "10/s") paces requests to HOST (or HOST:PORT):
** they start at least 1/10 s apart, whichever task sends them. The unit
** is s, m or h; rate(HOST, nil) removes the pace. Returns the previous.
*/
static int http_rate(lua_State *L) {
  http_state *hs = state_of(L);
  const char *host = luaL_checkstring(L, 1), *spec = luaL_optstring(L, 2, NULL);
  pace **pp, *p;
  double n = 0, unit = 0;
  char *end;
  luaL_argcheck(L, *host && strlen(host) < 256, 1, "a host name expected");
  if (spec) {
    n = strtod(spec, &end);
    if (end != spec && *end == '/') {
      end++;
      if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0 || strcmp(end, "second") == 0) unit = 1e9;
      else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0 || strcmp(end, "minute") == 0) unit = 60e9;
      else if (strcmp(end, "h") == 0 || strcmp(end, "hour") == 0) unit = 3600e9;
    }
    luaL_argcheck(L, unit > 0 && n > 0 && n <= 1e6 && strlen(spec) < sizeof p->spec, 2,
                  "a rate like \"10/s\", \"600/m\" or \"1000/h\" expected");
  }
  for (pp = &hs->paces; *pp && strcasecmp((*pp)->host, host) != 0; pp = &(*pp)->link) {}
  if ((p = *pp) != NULL) lua_pushstring(L, p->spec);
  else lua_pushnil(L);
  if (spec == NULL) {
    if (p) {
      *pp = p->link;
      free(p->host);
      free(p);
    }
    return 1;
  }
  if (p == NULL) {
    if ((p = calloc(1, sizeof *p)) == NULL || (p->host = strdup(host)) == NULL) {
      free(p);
      return luaL_error(L, "not enough memory");
    }
    p->link = hs->paces;
    hs->paces = p;
  }
  snprintf(p->spec, sizeof p->spec, "%s", spec);
  p->interval = (uint64_t)(unit / n);
  return 1;
}


/* resolve(base, ref): ref resolved against the URL base (RFC 3986), or nil. */
static int http_resolve(lua_State *L) {
  const char *base = luaL_checkstring(L, 1), *ref = luaL_checkstring(L, 2);
  CURLU *u = curl_url();
  char *out = NULL;
  if (u == NULL) return luaL_error(L, "not enough memory");
  if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
    lua_pushstring(L, out);
  else
    lua_pushnil(L);
  curl_free(out);
  curl_url_cleanup(u);
  return 1;
}


/*
** vouch.http.pages(url, opts): an iterator over the pages of a listing.
** Each page is requested with opts (as vouch.http.get takes them, so every
** page is checked against --allow-net, retried, paced and cached alike);
** the next page is opts.next(response) when given (a URL, relative to the
** page's, or nil at the end), else the Link header's rel="next" (RFC
** 8288). A page that fails or is not 2xx raises. Each page gets `page`,
** its number. Written in Lua: it only strings requests together.
*/
static const char pages_src[] =
  "local request, resolve = ...\n"
  "local type, pairs, error, tostring = type, pairs, error, tostring\n"
  "local find, gmatch, lower, format = string.find, string.gmatch, string.lower, string.format\n"
  "local function link_next(link)\n"
  "  if type(link) ~= 'string' then return nil end\n"
  "  for target, params in gmatch(link, '<([^>]*)>([^<]*)') do\n"
  "    for rel in gmatch(params, '[Rr][Ee][Ll]%s*=%s*\"?([^\";,]*)') do\n"
  "      for word in gmatch(rel, '%S+') do\n"
  "        if lower(word) == 'next' then return target end\n"
  "      end\n"
  "    end\n"
  "  end\n"
  "end\n"
  "return function(url, opts)\n"
  "  if type(url) ~= 'string' then\n"
  "    error(\"bad argument #1 to 'pages' (string expected, got \" .. type(url) .. ')', 2)\n"
  "  end\n"
  "  if opts ~= nil and type(opts) ~= 'table' then\n"
  "    error(\"bad argument #2 to 'pages' (table expected, got \" .. type(opts) .. ')', 2)\n"
  "  end\n"
  "  local t, nextf, seen, n = {}, nil, {}, 0\n"
  "  for k, v in pairs(opts or {}) do if k == 'next' then nextf = v else t[k] = v end end\n"
  "  if nextf ~= nil and type(nextf) ~= 'function' then\n"
  "    error(\"bad argument #2 to 'pages' (next: function expected, got \" .. type(nextf) .. ')', 2)\n"
  "  end\n"
  "  t.method = t.method or 'GET'\n"
  "  return function()\n"
  "    if url == nil then return nil end\n"
  "    t.url, seen[url], n = url, true, n + 1\n"
  "    local r, msg = request(t)\n"
  "    if not r then url = nil; error(msg, 2) end\n"
  "    if not r.ok then\n"
  "      url = nil\n"
  "      error(format('%s: page %d answered HTTP %d', t.url, n, r.status), 2)\n"
  "    end\n"
  "    r.page = n\n"
  "    local nxt\n"
  "    if nextf then nxt = nextf(r) else nxt = link_next(r.headers.link) end\n"
  "    if nxt ~= nil then\n"
  "      if type(nxt) ~= 'string' then\n"
  "        url = nil\n"
  "        error('pages: next returned a ' .. type(nxt) .. ' (a URL or nil expected)', 2)\n"
  "      end\n"
  "      local abs = resolve(r.url, nxt)\n"
  "      if abs == nil then url = nil; error(format('%s: page %d: bad next URL %s', t.url, n, nxt), 2) end\n"
  "      if seen[abs] then url = nil; error(format('%s: page %d: the next page %s was already read', t.url, n, abs), 2) end\n"
  "      url = abs\n"
  "    else\n"
  "      url = nil\n"
  "    end\n"
  "    return r\n"
  "  end\n"
  "end\n";


/*
** vouch.http.cache_prune([opts]): remove stored responses, all of them or
** those not used for opts.older_than seconds. Returns how many.
*/
static int http_cache_prune(lua_State *L) {
  lua_Integer older = -1;
  int64_t removed = 0;
  vouch_db_t *d;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    older = opt_int(L, 1, "older_than", -1, 0, (lua_Integer)1 << 40);
  }
  d = vouch_db_default(L);
  if (vouch_db_cache_prune(d, (int64_t)older, &removed) != 0)
    return luaL_error(L, "cannot prune the HTTP cache");
  lua_pushinteger(L, (lua_Integer)removed);
  return 1;
}


int luaopen_vouch_http(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"get", http_get}, {"request", http_request}, {"limit", http_limit},
    {"rate", http_rate}, {"cache_prune", http_cache_prune}, {NULL, NULL}
  };
  luaL_newmetatable(L, RESPONSE_MT);
  lua_newtable(L);
  lua_pushcfunction(L, resp_json);
  lua_setfield(L, -2, "json");
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, RESPONSE_MT);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);

  luaL_newlib(L, funcs);
  if (luaL_loadbuffer(L, pages_src, sizeof pages_src - 1, "=vouch.http.pages") != LUA_OK)
    return lua_error(L);
  lua_pushcfunction(L, http_request);
  lua_pushcfunction(L, http_resolve);
  lua_call(L, 2, 1);
  lua_setfield(L, -2, "pages");
  return 1;
}
