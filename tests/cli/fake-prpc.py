#!/usr/bin/env python3
"""A fake pRPC server for tests/cli/test-client.sh (stdlib only).

Serves canned scheduler.Scheduler and tock.Scheduler answers on 127.0.0.1,
on a free port that it prints (one line) on stdout once it listens.  Every
request is appended to the file named by argv[1] as one JSON line:
{"path", "contentType", "accept", "authorization", "body"}.

Canned behaviour (keyed on the job in the request):
  token "bad"          -> UNAUTHENTICATED (16) "bad or unknown bearer token"
  job "p/missing"      -> NOT_FOUND (5) "no such job or no permission to see it"
  job "p/denied"       -> PERMISSION_DENIED (7) "no permission to execute the action"
  job "p/noheader"     -> HTTP 502 without X-Prpc-Grpc-Code (a proxy error)
  job "p/garbage"      -> code 0 with a body that is not JSON
  job "p/slow"         -> answers after 5 s (for --timeout)
  GetJobs "paged"      -> five jobs, two per page (cursors "p2", "p4")
  GetJobs "broken"     -> a page of two jobs (cursor "b2"), then INTERNAL (13)
  unknown method       -> UNIMPLEMENTED (12), HTTP 501
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]

JOBS = {"jobs": [
    {"jobRef": {"project": "proj", "job": "zeta"}, "schedule": "with 10s interval",
     "state": {"uiStatus": "SCHEDULED"}},
    {"jobRef": {"project": "proj", "job": "alpha (linux)"}, "schedule": "triggered",
     "state": {"uiStatus": "PAUSED"}, "paused": True},
    {"jobRef": {"project": "other", "job": "beta"}, "schedule": "0 */3 * * *",
     "state": {"uiStatus": "RUNNING"}},
], "nextCursor": ""}

PAGED = [{"jobRef": {"project": "paged", "job": "j%d" % i}, "schedule": "triggered",
          "state": {"uiStatus": "WAITING"}} for i in range(5)]

# Newest first; three invocations served two per page.
INVOCATIONS = [
    {"invocationRef": {"jobRef": {"project": "p", "job": "j"}, "invocationId": "300"},
     "startedTs": "1442270533500000", "triggeredBy": "user:a@example.com",
     "status": "RUNNING"},
    {"invocationRef": {"jobRef": {"project": "p", "job": "j"}, "invocationId": "200"},
     "startedTs": "1442270520000000", "finishedTs": "1442270533000000",
     "status": "SUCCEEDED", "final": True},
    {"invocationRef": {"jobRef": {"project": "p", "job": "j"}, "invocationId": "100"},
     "startedTs": "1442270400000000", "finishedTs": "1442270460000000",
     "status": "FAILED", "final": True},
]

INVOCATION = {
    "invocationRef": {"jobRef": {"project": "p", "job": "j"}, "invocationId": "200"},
    "startedTs": "1442270520000000", "finishedTs": "1442270533000000",
    "status": "SUCCEEDED", "final": True, "configRevision": "abc123",
    "triggeredBy": "user:a@example.com",
    "request": {"incomingTriggers": [{"id": "t1", "noop": {}}],
                "properties": {"revision": "abc", "branch": "refs/heads/main"},
                "tags": ["buildset:commit/git/abc", "gitiles_ref:refs/heads/main"]},
    "debugLog": "[22:42:00.000] New invocation is queued and will start shortly\n"
                "[22:42:13.000] Invocation finished in 13s with status SUCCEEDED\n",
}

FATES = {"fates": [
    {"jobId": "p/j", "triggerId": "t2", "created": "2015-09-14T22:42:05.250Z",
     "fate": "DROPPED_PAUSED", "reason": "the job was paused by user:a@example.com",
     "decidedAt": "2015-09-14T22:42:06Z"},
    {"jobId": "p/j", "triggerId": "t1", "created": "2015-09-14T22:42:00Z",
     "fate": "CONSUMED", "invocationId": "200", "reason": "started invocation 200",
     "decidedAt": "2015-09-14T22:42:01Z"},
]}


def job_of(req):
    if isinstance(req.get("batches"), list) and req["batches"]:
        jobs = req["batches"][0].get("jobs") or [{}]
        req = jobs[0]
    ref = req.get("jobRef", req)
    if not isinstance(ref, dict):
        return ""
    return "%s/%s" % (ref.get("project", ""), ref.get("job", ""))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, http, body, ctype, with_code=True):
        data = body.encode()
        self.send_response(http)
        if with_code:
            self.send_header("X-Prpc-Grpc-Code", str(code))
        self.send_header("Content-Type", ctype)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def ok(self, msg):
        self.reply(0, 200, ")]}'\n" + json.dumps(msg) + "\n", "application/json")

    def error(self, code, http, text):
        self.reply(code, http, text + "\n", "text/plain; charset=utf-8")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        with open(LOG, "a") as f:
            f.write(json.dumps({
                "path": self.path,
                "contentType": self.headers.get("Content-Type"),
                "accept": self.headers.get("Accept"),
                "authorization": self.headers.get("Authorization"),
                "body": raw.decode("utf-8", "replace"),
            }) + "\n")
        if self.headers.get("Content-Type") != "application/json":
            return self.error(3, 415, "bad Content-Type")
        if self.headers.get("Accept") != "application/json":
            return self.error(3, 406, "bad Accept")
        if self.headers.get("Authorization") == "Bearer bad":
            return self.error(16, 401, "bad or unknown bearer token")
        try:
            req = json.loads(raw)
        except ValueError:
            return self.error(3, 400, "could not decode body")
        job = job_of(req)
        if job == "p/missing":
            return self.error(5, 404, "no such job or no permission to see it")
        if job == "p/denied":
            return self.error(7, 403, "no permission to execute the action")
        if job == "p/noheader":
            return self.reply(0, 502, "<html>Bad Gateway</html>", "text/html", False)
        if job == "p/garbage":
            return self.reply(0, 200, ")]}'\n{not json", "application/json")
        if job == "p/slow":
            time.sleep(5)
        method = self.path
        if method == "/prpc/scheduler.Scheduler/GetJobs" and req.get("project") == "paged":
            # Five jobs, two per page, cursors "p2" and "p4".
            start = {"": 0, "p2": 2, "p4": 4}.get(req.get("cursor", ""))
            if start is None:
                return self.error(3, 400, "bad cursor")
            out = {"jobs": PAGED[start:start + 2]}
            if start + 2 < len(PAGED):
                out["nextCursor"] = "p%d" % (start + 2)
            return self.ok(out)
        if method == "/prpc/scheduler.Scheduler/GetJobs" and req.get("project") == "broken":
            if req.get("cursor"):
                return self.error(13, 500, "the second page failed")
            return self.ok({"jobs": [dict(j, jobRef={"project": "broken", "job": j["jobRef"]["job"]})
                                     for j in PAGED[:2]], "nextCursor": "b2"})
        if method == "/prpc/scheduler.Scheduler/GetJobs":
            proj = req.get("project", "")
            jobs = [j for j in JOBS["jobs"] if not proj or j["jobRef"]["project"] == proj]
            return self.ok({"jobs": jobs} if jobs else {})
        if method == "/prpc/scheduler.Scheduler/GetInvocations":
            start = {"": 0, "c2": 2}.get(req.get("cursor", ""), 0)
            size = min(int(req.get("pageSize", 50)), 2)
            page = INVOCATIONS[start:start + size]
            out = {"invocations": page}
            if start + size < len(INVOCATIONS):
                out["nextCursor"] = "c%d" % (start + size)
            return self.ok(out)
        if method == "/prpc/scheduler.Scheduler/GetInvocation":
            if req.get("invocationId") != "200":
                return self.error(5, 404, "no such invocation")
            return self.ok(INVOCATION)
        if method in ("/prpc/scheduler.Scheduler/EmitTriggers",
                      "/prpc/scheduler.Scheduler/PauseJob",
                      "/prpc/scheduler.Scheduler/ResumeJob",
                      "/prpc/scheduler.Scheduler/AbortJob",
                      "/prpc/scheduler.Scheduler/AbortInvocation"):
            return self.ok({})
        if method == "/prpc/tock.Scheduler/GetTriggerFates":
            fates = FATES["fates"]
            if req.get("triggerId"):
                fates = [f for f in fates if f["triggerId"] == req["triggerId"]]
            return self.ok({"fates": fates})
        return self.error(12, 501, "API method not implemented by the server")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
