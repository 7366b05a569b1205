#!/usr/bin/env python3
"""A standalone fake Gitiles server for end-to-end tests and benchmarks.

It follows wire-formats.md section 3 (checklist 3.6), as the in-process
fake of the unit tests (fake-gitiles.h) does:

  GET [/a]/<project>/+refs[/<sub>]?format=JSON
  GET [/a]/<project>/+log/<x>[..<y>]?format=JSON[&n=N][&s=CURSOR][&name-status=1]

The path is percent-decoded before it is split at "/+" (tock sends
"chromium%2Fsrc/+refs%2Fheads"); every JSON answer is the line ")]}'"
then pretty-printed JSON with Content-Type application/json; "+refs" keys
lose "refs/<sub>/" (or are the full name when refs/<sub> is itself a ref),
"HEAD" carries "target" in the full listing; "+log" is newest first
(commit time, then push order), n defaults to 100 (capped at 10000),
"next" names the first commit of the next page and "previous" the first
of the previous one, "s" must name a commit of the walk (else 404),
"tree_diff" only with name-status (JGit's /dev/null and zero ids for added
and deleted files); unknown projects, refs, objects and cursors are 404,
a request without format=JSON is 400.  Committer times are Java's
"EEE MMM dd HH:mm:ss yyyy", with " +hhmm" when the commit has a zone.

The state lives in memory; the test changes it with admin calls (plain
JSON answers, no prefix):

  POST /admin/commit  {"project", "ref", "paths": [...] | "changes": [[type, path]...],
                       "message", "parents": [sha...], "time": epoch, "tz": "+0200"}
                      -> {"sha", "pushed": epoch-float}; moves ref to the new commit
                      (parents default to the ref's tip; a new ref starts a root)
  POST /admin/ref     {"project", "ref", "sha"}   sha null deletes the ref
  POST /admin/bulk    {"project", "prefix", "n"} n refs <prefix><i> on the
                      current main tip (a big repository in one call)
  POST /admin/faults  {"status": 503, "count": k, "match": "+log"} the next k
                      matching requests fail; {"log_delay_ms": N} delays +log
  GET  /admin/stats   {"requests", "bytes", "by_kind": {...}, "pushes": [[sha, epoch]...]}
  GET  /admin/requests  the decoded request lines, oldest first
                        (?times=1: [[epoch-float, line]...], when each arrived)
  POST /admin/reset-stats

--state FILE loads an initial state: {"projects": {"<project>": {"commits":
[{"sha", "parents", "time", "tz", "message", "changes"}], "refs": {ref: sha}}}}.

Usage: fake-gitiles.py [--listen 127.0.0.1:0] [--state FILE]; prints
"listening on http://127.0.0.1:PORT" on stdout once it accepts calls.
Threaded (a slow +log does not block the admin calls); one lock guards
the state.  Stops on SIGTERM.
"""

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
ZERO = "0" * 40
MAX_N = 10000
MAX_BODY = 16 << 20


def java_time(epoch, tz):
    """Gitiles' DateFormatter: 'EEE MMM dd HH:mm:ss yyyy' [' +hhmm']."""
    off = 0
    if tz:
        sign = -1 if tz[0] == "-" else 1
        off = sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    t = time.gmtime(int(epoch) + off)
    s = "%s %s %02d %02d:%02d:%02d %04d" % (DAYS[t.tm_wday], MONTHS[t.tm_mon - 1], t.tm_mday,
                                            t.tm_hour, t.tm_min, t.tm_sec, t.tm_year)
    return s + " " + tz if tz else s


class Repo:
    def __init__(self):
        self.commits = {}  # sha -> dict
        self.order = 0
        self.refs = {}  # full name -> sha
        # "+refs" reply bodies by sub-path, as sent: a repository with
        # 10,000 refs is served from here, not re-encoded per request
        # (touch() after any change of refs).
        self.refs_cache = {}

    def touch(self):
        self.refs_cache = {}


class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.projects = {}
        self.counter = 0
        self.faults = []  # [status, count, match]
        self.log_delay = 0.0
        self.reset_stats()

    def reset_stats(self):
        self.requests = []
        self.request_times = []
        self.nreq = 0
        self.nbytes = 0
        self.by_kind = {}
        self.pushes = []

    def repo(self, name, create=False):
        if name not in self.projects and create:
            self.projects[name] = Repo()
        return self.projects.get(name)

    def add_commit(self, repo, c):
        repo.order += 1
        c.setdefault("parents", [])
        c.setdefault("tz", "")
        c.setdefault("message", "commit\n")
        c.setdefault("changes", [])
        c["order"] = repo.order
        repo.commits[c["sha"]] = c

    def new_sha(self, project, parents, message):
        self.counter += 1
        h = hashlib.sha1(("%s\n%s\n%d\n%s\n%f" % (project, ",".join(parents), self.counter,
                                                  message, time.time())).encode())
        return h.hexdigest()


STATE = State()


def load_state(path):
    with open(path) as f:
        data = json.load(f)
    for name, p in data.get("projects", {}).items():
        repo = STATE.repo(name, True)
        for c in p.get("commits", []):
            STATE.add_commit(repo, dict(c))
        repo.refs.update(p.get("refs", {}))
        repo.touch()


def reachable(repo, sha):
    seen, stack = set(), [sha]
    while stack:
        s = stack.pop()
        if s in seen or s not in repo.commits:
            continue
        seen.add(s)
        stack.extend(repo.commits[s]["parents"])
    return seen


def resolve(repo, committish):
    if committish in repo.commits:
        return committish
    for name in (committish, "refs/heads/" + committish, "refs/tags/" + committish):
        if name in repo.refs:
            return repo.refs[name]
    return None


def tree_diff(c):
    out = []
    for ch in c["changes"]:
        kind, path = ch[0], ch[1]
        new_path = ch[2] if len(ch) > 2 else path
        oid = hashlib.sha1((c["sha"] + path).encode()).hexdigest()
        e = {"type": kind}
        if kind == "add":
            e.update(old_id=ZERO, old_mode=0, old_path="/dev/null", new_id=oid, new_mode=33188,
                     new_path=path)
        elif kind == "delete":
            e.update(old_id=oid, old_mode=33188, old_path=path, new_id=ZERO, new_mode=0,
                     new_path="/dev/null")
        else:
            e.update(old_id=oid, old_mode=33188, old_path=path, new_id=oid[::-1],
                     new_mode=33188, new_path=new_path)
            if kind in ("rename", "copy"):
                e["score"] = 100
        out.append(e)
    return out


def commit_json(repo, c, name_status):
    person = {"name": "Fake Committer", "email": "committer@example.com",
              "time": java_time(c["time"], c["tz"])}
    o = {"commit": c["sha"],
         "tree": hashlib.sha1(("tree" + c["sha"]).encode()).hexdigest(),
         "parents": list(c["parents"]),
         "author": dict(person, name="Fake Author", email="author@example.com"),
         "committer": person,
         "message": c["message"]}
    if name_status:
        o["tree_diff"] = tree_diff(c)
    return o


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-gitiles/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body, ctype="application/json", kind="admin"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        head = sum(len(b) for b in getattr(self, "_headers_buffer", [])) + 2
        self.end_headers()
        self.wfile.write(data)
        if kind != "admin":
            with STATE.lock:
                # The status line and headers count too: what a client downloads.
                n = len(data) + head
                STATE.nbytes += n
                k = STATE.by_kind.setdefault(kind, {"requests": 0, "bytes": 0})
                k["requests"] += 1
                k["bytes"] += n

    def gitiles(self, status, obj, kind):
        if status != 200:
            self.send(status, obj, "text/plain; charset=utf-8", kind)
            return
        self.send(200, ")]}'\n" + json.dumps(obj, indent=2), "application/json", kind)

    # --- Gitiles -------------------------------------------------------------

    def do_GET(self):
        raw_path, _, query = self.path.partition("?")
        if raw_path.startswith("/admin/"):
            return self.admin_get(self.path)
        path = urllib.parse.unquote(raw_path)
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        kind = "+log" if "/+log" in path else "+refs" if "/+refs" in path else "other"
        with STATE.lock:
            STATE.nreq += 1
            STATE.requests.append(path + ("?" + query if query else ""))
            STATE.request_times.append(time.time())
            fault = None
            for f in STATE.faults:
                if f[1] > 0 and f[2] in path:
                    f[1] -= 1
                    fault = f[0]
                    break
            delay = STATE.log_delay if kind == "+log" else 0
        if delay:
            time.sleep(delay)
        if fault:
            return self.gitiles(fault, "injected fault\n", kind)
        if q.get("format") != ["JSON"]:
            return self.gitiles(400, "format=JSON required\n", kind)
        if path.startswith("/a/"):
            path = path[2:]
        project, sep, rest = path[1:].partition("/+")
        with STATE.lock:
            repo = STATE.repo(project)
            if not sep or repo is None:
                return self.gitiles(404, "Not Found\n", kind)
            if rest == "refs" or rest.startswith("refs/"):
                body = repo.refs_cache.get(rest)
                if body is None:
                    status, obj = self.refs(repo, rest[5:])
                    body = (")]}'\n" + json.dumps(obj, indent=2)).encode()
                    repo.refs_cache[rest] = body
                status, obj = 200, None
            elif rest.startswith("log/"):
                status, obj = self.log(repo, rest[4:], q)
            else:
                status, obj = 404, "Not Found\n"
        if obj is None:
            return self.send(200, body, "application/json", kind)
        self.gitiles(status, obj, kind)

    def refs(self, repo, sub):
        def val(sha):
            return {"value": sha}
        if not sub:
            out = {}
            if "refs/heads/main" in repo.refs:
                out["HEAD"] = {"value": repo.refs["refs/heads/main"], "target": "refs/heads/main"}
            for name in sorted(repo.refs):
                out[name] = val(repo.refs[name])
            return 200, out
        full = "refs/" + sub.strip("/")
        if full in repo.refs:
            return 200, {full: val(repo.refs[full])}
        pre = full + "/"
        return 200, {n[len(pre):]: val(s) for n, s in sorted(repo.refs.items())
                     if n.startswith(pre)}

    def log(self, repo, committish, q):
        old = None
        if ".." in committish:
            old, _, committish = committish.partition("..")
        new = resolve(repo, committish)
        if new is None:
            return 404, "Not Found\n"
        exclude = set()
        if old is not None:
            o = resolve(repo, old)
            if o is None:
                return 404, "Not Found\n"
            exclude = reachable(repo, o)
        walk = [repo.commits[s] for s in reachable(repo, new) - exclude]
        walk.sort(key=lambda c: (c["time"], c["order"]), reverse=True)
        try:
            n = int(q.get("n", ["100"])[0])
        except ValueError:
            return 400, "bad n\n"
        n = max(1, min(n, MAX_N))
        start = 0
        if "s" in q:
            shas = [c["sha"] for c in walk]
            if q["s"][0] not in shas:
                return 404, "Not Found\n"
            start = shas.index(q["s"][0])
        name_status = "name-status" in q and q["name-status"][0] in ("", "1")
        page = walk[start:start + n]
        out = {"log": [commit_json(repo, c, name_status) for c in page]}
        if start > 0:
            out["previous"] = walk[max(0, start - n)]["sha"]
        if start + n < len(walk):
            out["next"] = walk[start + n]["sha"]
        return 200, out

    # --- admin ---------------------------------------------------------------

    def admin_get(self, path):
        path, _, query = path.partition("?")
        with STATE.lock:
            if path == "/admin/stats":
                body = {"requests": STATE.nreq, "bytes": STATE.nbytes,
                        "by_kind": STATE.by_kind, "pushes": STATE.pushes}
            elif path == "/admin/requests" and query == "times=1":
                body = list(zip(STATE.request_times, STATE.requests))
            elif path == "/admin/requests":
                body = STATE.requests
            else:
                return self.send(404, "{}")
        self.send(200, json.dumps(body))

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_BODY:
            return self.send(413, "{}")
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.send(400, '{"error": "bad JSON"}')
        fn = {"/admin/commit": self.admin_commit, "/admin/ref": self.admin_ref,
              "/admin/bulk": self.admin_bulk, "/admin/faults": self.admin_faults,
              "/admin/reset-stats": self.admin_reset}.get(self.path)
        if fn is None:
            return self.send(404, "{}")
        with STATE.lock:
            status, body = fn(req)
        self.send(status, json.dumps(body))

    def admin_commit(self, req):
        repo = STATE.repo(req.get("project", ""), True)
        ref = req.get("ref", "refs/heads/main")
        parents = req.get("parents")
        if parents is None:
            parents = [repo.refs[ref]] if ref in repo.refs else []
        changes = req.get("changes") or [["modify", p] for p in req.get("paths", [])]
        message = req.get("message", "commit\n")
        now = time.time()
        sha = STATE.new_sha(req.get("project", ""), parents, message)
        STATE.add_commit(repo, {"sha": sha, "parents": parents, "message": message,
                                "time": int(req.get("time", now)), "tz": req.get("tz", ""),
                                "changes": changes})
        if ref:
            repo.refs[ref] = sha
            repo.touch()
        STATE.pushes.append([sha, now])
        return 200, {"sha": sha, "pushed": now}

    def admin_ref(self, req):
        repo = STATE.repo(req.get("project", ""), True)
        if req.get("sha") is None:
            repo.refs.pop(req.get("ref"), None)
        else:
            repo.refs[req["ref"]] = req["sha"]
        repo.touch()
        return 200, {}

    def admin_bulk(self, req):
        repo = STATE.repo(req.get("project", ""), True)
        tip = repo.refs.get("refs/heads/main")
        if tip is None:
            return 400, {"error": "no refs/heads/main"}
        for i in range(int(req.get("n", 0))):
            repo.refs["%s%d" % (req.get("prefix", "refs/heads/b-"), i)] = tip
        repo.touch()
        return 200, {"refs": len(repo.refs)}

    def admin_faults(self, req):
        if "log_delay_ms" in req:
            STATE.log_delay = float(req["log_delay_ms"]) / 1000.0
        if "status" in req:
            STATE.faults.append([int(req["status"]), int(req.get("count", 1)),
                                 req.get("match", "")])
        return 200, {}

    def admin_reset(self, req):
        STATE.reset_stats()
        return 200, {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--state")
    args = ap.parse_args()
    if args.state:
        load_state(args.state)
    host, _, port = args.listen.rpartition(":")
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print("listening on http://%s:%d" % srv.server_address[:2], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
