#!/usr/bin/env python3
"""push-forwarder.py DIR - a load balancer for Pub/Sub pushes to replicas.

Listens on 127.0.0.1 (a free port, written to DIR/forwarder.port once
listening) and forwards every POST, path and body unchanged, to one of the
replicas whose base URLs are in DIR/url.* (read afresh for every push, so a
restarted replica on a new port is found): the replicas are tried in random
order until one answers, and its answer (status, body) is the push's answer.
When none answers (all dead, or a connection refused by each) the push gets
503, and the sender (the Buildbucket emulator) retries it later, as Pub/Sub
would.  Each outcome is one line in DIR/forwarder.log ("ok <status>" or
"none").  Bounded: every forward attempt has a 10 s timeout.
"""
import glob
import http.server
import os
import random
import sys
import urllib.error
import urllib.request

DIR = sys.argv[1]


def replicas():
    urls = []
    for f in glob.glob(os.path.join(DIR, "url.*")):
        try:
            with open(f) as fh:
                u = fh.read().strip()
        except OSError:
            continue
        if u:
            urls.append(u)
    random.shuffle(urls)
    return urls


def note(line):
    with open(os.path.join(DIR, "forwarder.log"), "a") as fh:
        fh.write(line + "\n")


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 2 << 20))
        ctype = self.headers.get("Content-Type") or "application/json"
        for u in replicas():
            req = urllib.request.Request(u + self.path, data=body, method="POST",
                                         headers={"Content-Type": ctype})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    self.answer(r.status, r.read())
                    note("ok %d" % r.status)
                    return
            except urllib.error.HTTPError as e:
                self.answer(e.code, e.read())
                note("ok %d" % e.code)
                return
            except (urllib.error.URLError, OSError):
                continue  # dead replica: the next one
        note("none")
        self.answer(503, b"no replica answered\n")

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
tmp = os.path.join(DIR, "forwarder.port.tmp")
with open(tmp, "w") as fh:
    fh.write(str(s.server_address[1]))
os.rename(tmp, os.path.join(DIR, "forwarder.port"))
s.serve_forever()
