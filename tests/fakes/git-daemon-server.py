#!/usr/bin/env python3
"""A git:// server for tests: Debian's `git daemon --inetd` per connection.

  git-daemon-server.py --root DIR [--listen 127.0.0.1:0]

Listens on HOST:PORT (port 0: any free one), prints "listening on
git://HOST:PORT" once ready, and hands each accepted connection to
`git daemon --inetd --export-all --base-path=DIR` (read-only: upload-pack),
so git://HOST:PORT/<path under DIR> serves DIR/<path>.  `git daemon` alone
cannot listen on port 0 and print it, hence this wrapper.

Python 3 standard library only.
"""
import argparse
import os
import socket
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    o = ap.parse_args()
    root = os.path.abspath(o.root)
    host, _, port = o.listen.rpartition(":")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(16)
    print("listening on git://%s:%d" % ls.getsockname()[:2], flush=True)
    cmd = ["git", "daemon", "--inetd", "--export-all", "--base-path=" + root, root]
    children = []
    try:
        while True:
            conn, _ = ls.accept()
            children.append(subprocess.Popen(cmd, stdin=conn.fileno(), stdout=conn.fileno(),
                                             stderr=subprocess.DEVNULL))
            conn.close()
            children = [c for c in children if c.poll() is None]
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
