#!/usr/bin/env python3
"""A small HTTP server for vouch's HTTP tests, on 127.0.0.1 only.

    python3 tests/http_server.py PORTFILE

binds a free port, writes it to PORTFILE, and serves until killed (it also
exits by itself after 300 seconds, so a failed test cannot leave it behind).

Endpoints:
  /json                 a JSON document
  /text                 plain text
  /slow?ms=N            answers after N milliseconds; counts requests in flight
  /stats                {"max_in_flight": N, "count": N}; /stats/reset clears
  /stall                sends headers, then nothing (until the server exits)
  /redirect/N           302 to /redirect/N-1; /redirect/0 is 200 "arrived"
  /redirect-to?url=U    302 to U (with ?code=301|303|307|308 for others)
  /relative             302 to a relative Location ("json")
  /status/N             answers with status N
  /big?n=N              a body of N bytes ("x" repeated)
  /big-nolength?n=N     the same without Content-Length (chunked)
  /headers              repeated and mixed-case response headers
  /echo                 JSON of the request: method, path, headers, body
  /close                closes the connection without an answer

A partner API that wants a key (the X-Api-Key header must equal $API_KEY,
default "test-key"; else 401), for the sources tests and benchmark:
  /api/partners?page=N[&per=K][&n=TOTAL][&chaos=SEED]
                        a page of partners as JSON, with Link: <...>;
                        rel="next" to the next page and an ETag per page
                        (If-None-Match answers 304); with chaos=SEED the
                        first request of each page is a 429 (Retry-After
                        in seconds or as an HTTP-date) and one in four of
                        the others a 503, at random (seeded)
  /api/cursor?cursor=C  the same partners for a cursor client: JSON
                        {"items": [...], "next": C or null}
  /api/down             always 503 (no Retry-After); /api/busy always 429
                        with Retry-After: 3600
  /api/stats            {"requests", "bodies" (full bodies sent),
                        "not_modified", "max_per_sec" (most requests in
                        any one-second window), "unauthorized", "keys"
                        (distinct keys seen)}; /api/stats/reset clears
"""
import email.utils
import random
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

lock = threading.Lock()
stats = {"in_flight": 0, "max_in_flight": 0, "count": 0}
API_KEY = os.environ.get("API_KEY", "test-key")
api = {}
api_times = []
api_seen = set()   # pages already answered once (for the 429 of chaos)
api_rng = {}


def api_reset():
    api.update(requests=0, bodies=0, not_modified=0, max_per_sec=0, unauthorized=0,
               keys=0)
    del api_times[:]
    api_seen.clear()
    api_rng.clear()


api_reset()


def api_tick():
    """Count a request and the most requests seen in any one-second window."""
    now = time.monotonic()
    with lock:
        api["requests"] += 1
        api_times.append(now)
        while api_times and api_times[0] <= now - 1.0:
            api_times.pop(0)
        api["max_per_sec"] = max(api["max_per_sec"], len(api_times))


def partner(i):
    return {"id": "p%04d" % i, "name": "Partner %d" % i,
            "kind": ["creator", "brand", "supplier"][i % 3],
            "followers": (i * 7919) % 500000, "complaints": i % 7,
            "country": ["DE", "FR", "US", "BR", "JP"][i % 5]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body, ctype="text/plain", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        p = u.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            stats["count"] += 1
        if p == "/json":
            self.send(200, json.dumps({"ok": True, "n": 42, "list": [1, 2, 3],
                                       "name": "vouch"}), "application/json")
        elif p == "/text":
            self.send(200, "hello from the test server\n")
        elif p == "/slow":
            with lock:
                stats["in_flight"] += 1
                stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            time.sleep(int(q.get("ms", "100")) / 1000.0)
            with lock:
                stats["in_flight"] -= 1
            self.send(200, "slow " + q.get("id", ""))
        elif p == "/stats":
            with lock:
                self.send(200, json.dumps(stats), "application/json")
        elif p == "/stats/reset":
            with lock:
                stats.update(in_flight=0, max_in_flight=0, count=0)
            self.send(200, "reset")
        elif p == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            time.sleep(120)
        elif p.startswith("/redirect/"):
            n = int(p.rsplit("/", 1)[1])
            if n <= 0:
                self.send(200, "arrived")
            else:
                self.send(302, "", headers=[("Location", "/redirect/%d" % (n - 1))])
        elif p == "/redirect-to":
            self.send(int(q.get("code", "302")), "", headers=[("Location", q["url"])])
        elif p == "/relative":
            self.send(302, "", headers=[("Location", "json")])
        elif p.startswith("/status/"):
            n = int(p.rsplit("/", 1)[1])
            self.send(n, "status %d" % n)
        elif p == "/big":
            self.send(200, b"x" * int(q.get("n", "1000")))
        elif p == "/big-nolength":
            n = int(q.get("n", "1000"))
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while n > 0:
                    c = chunk[:n]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                    n -= len(c)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif p == "/headers":
            self.send(200, "headers", headers=[("X-Multi", "one"), ("X-Multi", "two"),
                                               ("X-MiXeD-Case", "yes")])
        elif p == "/echo":
            self.send(200, json.dumps({
                "method": self.command, "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace")}), "application/json")
        elif p.startswith("/api/"):
            self.handle_api(p, q)
        elif p == "/close":
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            self.send(404, "not found: " + p)

    def handle_api(self, p, q):
        if p == "/api/stats":
            with lock:
                self.send(200, json.dumps(api), "application/json")
            return
        if p == "/api/stats/reset":
            with lock:
                api_reset()
            self.send(200, "reset")
            return
        api_tick()
        key = self.headers.get("X-Api-Key")
        with lock:
            if key is not None and key not in api_seen:
                api_seen.add(key)
                api["keys"] += 1
        if key != API_KEY:
            with lock:
                api["unauthorized"] += 1
            self.send(401, json.dumps({"error": "missing or wrong X-Api-Key"}),
                      "application/json")
            return
        if p == "/api/down":
            self.send(503, "down")
            return
        if p == "/api/busy":
            self.send(429, "busy", headers=[("Retry-After", "3600")])
            return
        per = int(q.get("per", "10"))
        total = int(q.get("n", "50"))
        if p == "/api/partners":
            page = int(q.get("page", "1"))
        elif p == "/api/cursor":
            page = int(q.get("cursor", "c1")[1:])
        else:
            self.send(404, "not found: " + p)
            return
        chaos = q.get("chaos")
        if chaos is not None:
            with lock:
                first = ("page", page) not in api_seen
                api_seen.add(("page", page))
                rng = api_rng.setdefault(chaos, random.Random(int(chaos)))
                fail = rng.random() < 0.25
            if first:
                if page % 2:
                    ra = "1"
                else:
                    ra = email.utils.formatdate(time.time() + 1, usegmt=True)
                self.send(429, "slow down", headers=[("Retry-After", ra)])
                return
            if fail:
                self.send(503, "try again")
                return
        etag = '"p%d-%d-%d"' % (page, per, total)
        if self.headers.get("If-None-Match") == etag:
            with lock:
                api["not_modified"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        lo = (page - 1) * per + 1
        items = [partner(i) for i in range(lo, min(lo + per, total + 1))]
        more = lo + per <= total
        headers = [("ETag", etag)]
        if p == "/api/partners":
            if more:
                rest = "&".join("%s=%s" % (k, v) for k, v in sorted(q.items()) if k != "page")
                headers.append(("Link", '</api/partners?page=%d%s>; rel="next", '
                                '</api/partners?page=1%s>; rel="first"'
                                % (page + 1, "&" + rest if rest else "",
                                   "&" + rest if rest else "")))
            body = json.dumps({"items": items, "page": page})
        else:
            body = json.dumps({"items": items, "next": "c%d" % (page + 1) if more else None})
        with lock:
            api["bodies"] += 1
        self.send(200, body, "application/json", headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients hang up: fine
        pass


def main():
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, sys.argv[1])
    threading.Timer(300, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
