# A tiny Cloud Pub/Sub push receiver for the emulator tests: answers every
# POST with 200 (or with the status named by ?status=N), and appends one
# JSON line {"path": ..., "body": <the push body>} per request to FILE.
# Writes its port to PORTFILE once listening.  Usage: push-receiver.py PORTFILE FILE
import http.server
import json
import sys
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        url = urllib.parse.urlparse(self.path)
        status = int(urllib.parse.parse_qs(url.query).get("status", ["200"])[0])
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": url.path, "status": status,
                                "body": json.loads(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"OK\n")

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
