#!/usr/bin/env python3
"""seedlog.py - compares a tock invocation's debug log with a seed page's.

usage: seedlog.py SEED_PAGE TOCK_LOG [--allow PREFIX]...

Both logs are cut into messages (a "[hh:mm:ss.mmm] " line and the lines that
follow it until the next one, e.g. a pretty JSON).  Each message is reduced to
its *kind*: its first line with times, numbers, hashes and durations replaced
by placeholders, so that "Scheduling timer ... (job:8866...:2:0) after 7m20s"
and "... (job:9012...:5:0) after 2s" are one kind.  The check:

  1. every kind of the seed occurs in tock's log, and no other kind does,
     except one that differs from a seed kind only in a build status word
     (a build seen SCHEDULED once more than in the seed is the same format);
  2. the kinds first occur in the same order in both logs;
  3. both logs end with the same two kinds (the final status, then
     "Invocation finished in ... with status ...");
  4. for every JSON message kind ("Buildbucket request:", "Scheduled build:",
     ...) both logs carry a JSON object with the same top-level keys, in the
     same order.

--allow PREFIX tolerates extra kinds of tock's that start with PREFIX (a
replay that emits its trigger through the API gets "Triggered by <caller>",
which a poller's trigger does not).  Exit 0 when it holds; otherwise prints what differs and exits 1.
"""
import json
import re
import sys

STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\.\d\d\d\] ")


def messages(text):
    """The debug log's messages: (first line, following lines) pairs."""
    out = []
    for line in text.splitlines():
        if STAMP.match(line):
            out.append([STAMP.sub("", line), []])
        elif out:
            out[-1][1].append(line)
    return out


def kind(first):
    k = re.sub(r"\b[0-9a-f]{40}\b", "<sha>", first)
    k = re.sub(r"\b(\d+h)?(\d+m)?\d+(\.\d+)?(s|ms|µs|us|ns)\b", "<dur>", k)
    k = re.sub(r"\b\d+h\d+m\b|\b\d+m\b|\b\d+h\b", "<dur>", k)
    k = re.sub(r"\d+", "<n>", k)
    return k


STATUS = re.compile(r"\b(STATUS_UNSPECIFIED|SCHEDULED|STARTED|SUCCESS|FAILURE|"
                    r"INFRA_FAILURE|CANCELED|COMPLETED)\b")


def loose(k):
    return STATUS.sub("<status>", k)


def seed_log(text):
    start = text.find("Debug log (UTC)")
    if start < 0:
        sys.exit("seedlog: no 'Debug log (UTC)' in the seed page")
    return text[start:]


def first_order(kinds):
    seen, order = set(), []
    for k in kinds:
        if k not in seen:
            seen.add(k)
            order.append(k)
    return order


def json_keys(lines):
    try:
        v = json.loads("\n".join(lines), object_pairs_hook=lambda p: p)
    except ValueError:
        return None
    return [k for k, _ in v] if isinstance(v, list) else None


def main():
    allow = [sys.argv[i + 1] for i in range(3, len(sys.argv) - 1) if sys.argv[i] == "--allow"]
    seed = messages(seed_log(open(sys.argv[1], encoding="utf-8").read()))
    tock = [m for m in messages(open(sys.argv[2], encoding="utf-8").read())
            if not any(m[0].startswith(a) for a in allow)]
    problems = []
    sk = [kind(m[0]) for m in seed]
    tk = [kind(m[0]) for m in tock]
    missing = [k for k in first_order(sk) if k not in tk]
    loose_seed = {loose(k) for k in sk}
    extra = [k for k in first_order(tk) if k not in sk and loose(k) not in loose_seed]
    for k in missing:
        problems.append("missing from tock's log: " + k)
    for k in extra:
        problems.append("not in the seed's log: " + k)
    so = [k for k in first_order(sk) if k in tk]
    to = [k for k in first_order(tk) if k in sk]
    if so != to:
        problems.append("first occurrences in another order:\n  seed: %s\n  tock: %s"
                        % ("\n        ".join(so), "\n        ".join(to)))
    if sk[-2:] != tk[-2:]:
        problems.append("the logs end differently: seed %s, tock %s" % (sk[-2:], tk[-2:]))
    for (sf, sl), sk1 in zip(seed, sk):
        if not sl:
            continue
        want = json_keys(sl)
        got = [json_keys(tl) for (tf, tl), k in zip(tock, tk) if k == sk1 and tl]
        if want is not None and got and want not in got:
            problems.append("JSON of '%s': seed keys %s, tock keys %s" % (sk1, want, got[0]))
    if problems:
        print("\n".join(problems))
        return 1
    print("seedlog: %d seed messages, %d tock messages, %d kinds match"
          % (len(seed), len(tock), len(first_order(sk))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
