#!/usr/bin/env python3
"""An ssh:// git server for tests: Debian's sshd on a loopback port.

  git-ssh-server.py --dir DIR [--listen 127.0.0.1]

Makes in DIR (which must exist) a host key, a client key pair
(DIR/client_key, DIR/client_key.pub) authorized for the current user, an
sshd_config and a known_hosts line, then runs `/usr/sbin/sshd -D -e -f
DIR/sshd_config` on a free port of the address and prints, once it
answers,

  listening on ssh://USER@HOST:PORT key=DIR/client_key known_hosts=DIR/known_hosts

Repositories are reached by absolute path: ssh://USER@HOST:PORT/abs/path.
The config is for a test only: UsePAM no, StrictModes no, public keys only,
no forwarding.  Exits 77 with "skip: <why>" on stdout when sshd is missing
or will not start (ctest's SKIP_RETURN_CODE), so callers skip cleanly.

Python 3 standard library only.
"""
import argparse
import getpass
import os
import signal
import socket
import subprocess
import sys
import time

SSHD = "/usr/sbin/sshd"


def skip(why):
    print("skip: " + why, flush=True)
    sys.exit(77)


def free_port(host):
    s = socket.socket()
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def keygen(path):
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path],
                       check=True, stdout=subprocess.DEVNULL)


def answers(host, port):
    try:
        with socket.create_connection((host, port), timeout=1) as c:
            return c.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    o = ap.parse_args()
    d = os.path.abspath(o.dir)
    host = o.listen
    if not os.access(SSHD, os.X_OK):
        skip("%s is missing (Debian's openssh-server; scripts/install-deps)" % SSHD)
    try:
        keygen(d + "/host_key")
        keygen(d + "/client_key")
    except (OSError, subprocess.CalledProcessError) as e:
        skip("ssh-keygen failed: %s" % e)
    with open(d + "/client_key.pub") as f, open(d + "/authorized_keys", "w") as a:
        a.write(f.read())
    with open(d + "/host_key.pub") as f:
        hk = f.read().split()
    # sshd refuses to start without its privilege-separation directory.
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        try:
            os.makedirs("/run/sshd", 0o755)
        except OSError as e:
            skip("cannot make /run/sshd: %s" % e)
    user = getpass.getuser()
    for attempt in range(5):
        port = free_port(host)
        with open(d + "/known_hosts", "w") as f:
            f.write("[%s]:%d %s %s\n" % (host, port, hk[0], hk[1]))
        with open(d + "/sshd_config", "w") as f:
            f.write("\n".join([
                "Port %d" % port, "ListenAddress %s" % host,
                "HostKey %s/host_key" % d, "PidFile none",
                "AuthorizedKeysFile %s/authorized_keys" % d,
                "UsePAM no", "StrictModes no", "PubkeyAuthentication yes",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", "AllowUsers %s" % user,
                "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no",
                "LogLevel ERROR", ""]))
        log = open(d + "/sshd.log", "a")
        p = subprocess.Popen([SSHD, "-D", "-e", "-f", d + "/sshd_config"],
                             stdout=log, stderr=log, start_new_session=True)
        end = time.time() + 10
        while time.time() < end and p.poll() is None and not answers(host, port):
            time.sleep(0.05)
        if p.poll() is None and answers(host, port):
            break
        if p.poll() is None:
            p.kill()
        p.wait()
    else:
        with open(d + "/sshd.log") as f:
            skip("sshd would not start: %s" % f.read()[-500:].replace("\n", " | "))
    print("listening on ssh://%s@%s:%d key=%s/client_key known_hosts=%s/known_hosts"
          % (user, host, port, d, d), flush=True)

    def stop(*_):
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
