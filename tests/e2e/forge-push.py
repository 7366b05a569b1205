# Makes forged Pub/Sub pushes for test-pubsub-hostile.sh from genuine ones.
# Usage: forge-push.py PUSHES_FILE VICTIM_INV OTHER_INV OUTDIR
# PUSHES_FILE is push-receiver.py's log (one {"body": <push>} per line), with
# Buildbucket v2 pushes of both invocations' builds.  Writes to OUTDIR:
#   genuine.json    the victim's push as it came (a positive control)
#   badtoken.json   the victim's push with userData = a made-up token
#   altered.json    the other invocation's token with its invocation ID
#                   replaced by the victim's (so its HMAC no longer matches)
#   altered-v1.json the altered token as a v1 `auth_token` attribute
#   nobody.json     a well-formed push without any token
#   garbage.bin     bytes that are not JSON
#   deep.json       {"message": ...} nested 100000 deep
#   badb64.json     `data` that is not base64
#   big.json        a 2 MiB push (over tock's 1 MiB body limit)
import base64
import json
import os
import sys

pushes_file, victim, other, outdir = sys.argv[1:5]


def inv_of(push):
    data = json.loads(base64.b64decode(push["message"]["data"]))
    for t in data["buildPubsub"]["build"].get("tags", []):
        if t["key"] == "scheduler_invocation_id":
            return t["value"], data
    return None, data


found = {}
with open(pushes_file) as f:
    for line in f:
        push = json.loads(line)["body"]
        inv, data = inv_of(push)
        if inv in (victim, other) and inv not in found:
            found[inv] = (push, data)
if victim not in found or other not in found:
    sys.exit("pushes of both invocations are needed, got %s" % sorted(found))


def write(name, obj):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(obj if isinstance(obj, bytes) else json.dumps(obj).encode())


def with_data(push, data):
    p = json.loads(json.dumps(push))
    p["message"]["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    p["message"]["messageId"] = p["message"]["message_id"] = "forged-" + os.urandom(4).hex()
    return p


vpush, vdata = found[victim]
opush, odata = found[other]
write("genuine.json", vpush)

d = json.loads(json.dumps(vdata))
d["userData"] = base64.b64encode(b"AXsiaW52IjoiMSJ9not-a-real-token").decode()
write("badtoken.json", with_data(vpush, d))

# The other invocation's token: base64url(0x01 || JSON || HMAC-SHA256).
token = base64.b64decode(odata["userData"]).decode()
raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
body = raw[1:-32].replace(other.encode(), victim.encode())
if body == raw[1:-32]:
    sys.exit("the other invocation's token does not name it")
forged = base64.urlsafe_b64encode(raw[:1] + body + raw[-32:]).decode()
if "=" not in token:
    forged = forged.rstrip("=")
d = json.loads(json.dumps(vdata))
d["userData"] = base64.b64encode(forged.encode()).decode()
write("altered.json", with_data(vpush, d))
p = json.loads(json.dumps(vpush))
p["message"]["attributes"]["auth_token"] = forged
p["message"]["messageId"] = p["message"]["message_id"] = "forged-v1"
write("altered-v1.json", p)

d = json.loads(json.dumps(vdata))
d.pop("userData", None)
write("nobody.json", with_data(vpush, d))

write("garbage.bin", b"\x00\xff<html>not json" + os.urandom(64))
write("deep.json", b'{"message": ' + b"[" * 100000 + b"]" * 100000 + b"}")
p = json.loads(json.dumps(vpush))
p["message"]["data"] = "%%% this is not base64 %%%"
write("badb64.json", p)
p = json.loads(json.dumps(vpush))
p["message"]["attributes"]["padding"] = "x" * (2 << 20)
write("big.json", p)
