#!/usr/bin/env python3
"""A smart-HTTP git server for tests: Debian's `git http-backend` run as CGI.

  git-http-server.py --root DIR [--listen 127.0.0.1:0] [--basic USER:PASSWORD]
                     [--bearer TOKEN] [--log FILE]
                     [--tls-cert CERT.pem --tls-key KEY.pem] [--protocol-v0]

Serves every repository under DIR (GIT_PROJECT_ROOT, GIT_HTTP_EXPORT_ALL)
at http://HOST:PORT/<path under DIR>, read-only (upload-pack; pushes are
refused by http-backend since no user is authenticated for receive-pack
unless --basic is given).  Prints "listening on http://HOST:PORT" once
ready.  With --basic and/or --bearer every request must carry
"Authorization: Basic ..." for that user/password or "Authorization: Bearer
TOKEN" (either, when both are given); otherwise the answer is 401 with
"WWW-Authenticate: Basic realm=\"git\"".  --log appends one line per request:
"<method> <path> <status> auth=<ok|missing|bad>" (never the credential).

The client's Git-Protocol header reaches git http-backend (GIT_PROTOCOL), so
it answers protocol v2 when asked; --protocol-v0 drops the header, as an
older server would, and the answers are v0.

With --tls-cert and --tls-key the server speaks TLS (python's ssl module;
the test makes a throwaway CA and a server certificate with openssl) and
prints "listening on https://HOST:PORT".

Python 3 standard library only; one thread per connection.
"""
import argparse
import base64
import hmac
import os
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAX_BODY = 64 << 20
CGI_TIMEOUT = 60


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    opts = None
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet
        pass

    def note(self, status, auth):
        if not self.opts.log:
            return
        with self.log_lock, open(self.opts.log, "a") as f:
            f.write("%s %s %d auth=%s\n" % (self.command, urlsplit(self.path).path, status, auth))

    def check_auth(self):
        """ok, missing or bad."""
        o = self.opts
        if not o.basic and not o.bearer:
            return "ok"
        h = self.headers.get("Authorization")
        if not h:
            return "missing"
        kind, _, value = h.partition(" ")
        value = value.strip()
        if kind.lower() == "basic" and o.basic:
            try:
                got = base64.b64decode(value, validate=True).decode()
            except ValueError:
                return "bad"
            return "ok" if hmac.compare_digest(got, o.basic) else "bad"
        if kind.lower() == "bearer" and o.bearer:
            return "ok" if hmac.compare_digest(value, o.bearer) else "bad"
        return "bad"

    def refuse(self, auth):
        body = b"authentication required\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.note(401, auth)

    def read_body(self):
        """The request body (Content-Length or chunked), None past MAX_BODY."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += n
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def run_cgi(self):
        auth = self.check_auth()
        body = self.read_body()
        if body is None:
            self.send_error(413)
            return
        if auth != "ok":
            self.refuse(auth)
            return
        u = urlsplit(self.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.opts.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": u.path,
            "QUERY_STRING": u.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
        }
        if self.opts.basic:
            env["REMOTE_USER"] = self.opts.basic.split(":", 1)[0]
        if self.headers.get("Git-Protocol") and not self.opts.protocol_v0:
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        try:
            p = subprocess.run(["git", "http-backend"], input=body, env=env,
                               capture_output=True, timeout=CGI_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.send_error(504)
            return
        head, sep, out = p.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, out = p.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            if k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
        self.note(status, auth)

    do_GET = run_cgi
    do_POST = run_cgi


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--basic")
    ap.add_argument("--bearer")
    ap.add_argument("--log")
    ap.add_argument("--protocol-v0", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    o = ap.parse_args()
    o.root = os.path.abspath(o.root)
    host, _, port = o.listen.rpartition(":")
    Handler.opts = o
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.daemon_threads = True
    scheme = "http"
    if o.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(o.tls_cert, o.tls_key)
        # The handshake happens in the connection's thread (first read), so
        # a client that fails it does not stall the accept loop.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        scheme = "https"
    print("listening on %s://%s:%d" % ((scheme,) + srv.server_address[:2]), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
