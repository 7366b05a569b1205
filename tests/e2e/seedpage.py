#!/usr/bin/env python3
"""seedpage.py - checks an invocation (GetInvocation JSON, with tock's
"request" and "debugLog") against a seed page's other sections.

usage: seedpage.py SEED_PAGE INVOCATION_JSON

Checks: the status; "Incoming properties" equal to the request's properties;
"Incoming tags" equal to the request's tags (same order); and the first JSON
after "Buildbucket request:" in both logs: the same fields, with the same
values except the ids that differ from run to run (requestId /
client_operation_id, the invocation id inside properties and tags).
"""
import json
import re
import sys


def section(text, title, stop):
    a = text.index(title) + len(title)
    b = text.index(stop, a)
    return text[a:b].strip()


def request_json(log):
    i = log.index("Buildbucket request:\n") + len("Buildbucket request:\n")
    dec = json.JSONDecoder()
    v, _ = dec.raw_decode(log[i:])
    return v


def scrub(v, inv):
    """Replaces the invocation id (run-dependent) with <inv> everywhere."""
    s = json.dumps(v, sort_keys=True)
    s = s.replace(inv, "<inv>")
    return json.loads(s)


def main():
    page = open(sys.argv[1], encoding="utf-8").read()
    got = json.load(open(sys.argv[2], encoding="utf-8"))
    problems = []
    want_status = re.search(r"^Status: (\w+)", page, re.M).group(1)
    if got.get("status") != want_status:
        problems.append("status %s, want %s" % (got.get("status"), want_status))
    req = got.get("request", {})
    want_props = json.loads(section(page, "Incoming properties", "Incoming tags"))
    if req.get("properties") != want_props:
        problems.append("properties %s, want %s" % (req.get("properties"), want_props))
    want_tags = [l.strip()[1:].strip() for l in
                 section(page, "Incoming tags", "Debug log").splitlines() if l.strip()]
    if req.get("tags") != want_tags:
        problems.append("tags %s, want %s" % (req.get("tags"), want_tags))
    seed_inv = re.search(r"scheduler_invocation_id[:\"\s,a-z]*?(\d{10,})", page).group(1)
    tock_inv = got["invocationRef"]["invocationId"]
    want = scrub(request_json(page), seed_inv)
    have = scrub(request_json(got.get("debugLog", "")), tock_inv)
    if list(want.keys()) != list(have.keys()):
        problems.append("request fields %s, want %s" % (list(have), list(want)))
    for k in want:
        if want[k] != have.get(k):
            problems.append("request %s:\n  tock %s\n  seed %s" % (k, have.get(k), want[k]))
    if problems:
        print("\n".join(problems))
        return 1
    print("seedpage: status, %d properties, %d tags and %d request fields match"
          % (len(want_props), len(want_tags), len(want)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
