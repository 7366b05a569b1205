#!/usr/bin/env python3
"""fake-tls-buildbucket.py - a minimal Buildbucket v2 over HTTPS, for the TLS test.

usage: fake-tls-buildbucket.py CERT KEY PORTFILE

Serves, over TLS with the given certificate, just what a launch needs:
GET /auth/api/v1/server/info and POST /prpc/buildbucket.v2.Builds/
ScheduleBuild and GetBuild (one build, always STARTED), pRPC JSON as in
wire-formats.md 1.  Writes the port it listens on to PORTFILE.  Stops on
SIGTERM.  A fake for a remote service: nothing of tock's is faked here.
"""
import http.server
import json
import ssl
import sys

BUILD = {"id": "8800000000000000001", "status": "STARTED",
         "builder": {"project": "p", "bucket": "ci", "builder": "b"}}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, grpc=None):
        data = body.encode()
        self.send_response(code)
        if grpc is not None:
            self.send_header("X-Prpc-Grpc-Code", str(grpc))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/auth/api/v1/server/info":
            self.reply(200, json.dumps({"app_id": "cr-buildbucket",
                                        "service_account_name": "bb@example.com"}))
        else:
            self.reply(404, "not found")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(min(n, 1 << 20))
        if self.path.endswith("/ScheduleBuild") or self.path.endswith("/GetBuild"):
            self.reply(200, ")]}'\n" + json.dumps(BUILD), grpc=0)
        else:
            self.reply(404, "unknown method", grpc=12)


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(sys.argv[3], "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
