#!/usr/bin/env python3
"""A webhook receiver for the monitoring tests: listens on 127.0.0.1 (a free
port, written to PORTFILE), appends each POSTed body as one line to OUTFILE,
answers 200. Usage: webhook_receiver.py PORTFILE OUTFILE"""
import http.server
import json
import sys

portfile, outfile = sys.argv[1], sys.argv[2]


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = self.headers.get("Content-Type") == "application/json"
        json.loads(body)  # a bad body fails the request, and so the test
        with open(outfile, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200 if ok else 415)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
