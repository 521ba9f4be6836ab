"""Run inside ``unshare --mount --net`` by test_ecr_login.py (not a test module itself).

In its own network namespace (only ``lo``) and mount namespace (a private ``/etc/hosts``
bind-mounted over the machine's, seen by nothing outside), it serves the emulator with
``--tls`` on port 443, points ECR's host names at it, runs Debian's
``docker-credential-ecr-login get`` for the registry, and checks that the password opens
``/v2/``. Prints one JSON line with what it found; exits 0 only if everything worked.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import subprocess
import sys

import requests

from ecr_emulator.testing import ServerProcess

ACCOUNT, REGION = "123456789012", "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
API = f"api.ecr.{REGION}.amazonaws.com"
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def bring_up_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def private_hosts(work: str) -> None:
    hosts = os.path.join(work, "hosts")
    with open(hosts, "w") as f:
        f.write(f"127.0.0.1 localhost {API} {REGISTRY}\n::1 localhost\n")
    subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)


def main(work: str) -> int:
    bring_up_loopback()
    private_hosts(work)
    result: dict = {}
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", os.path.join(work, "tls"),
                       "--port", "443", "--public-port", "0") as server:
        ca = os.path.join(work, "tls", "ca.pem")
        env = {"PATH": os.environ["PATH"], "HOME": work, "AWS_ACCESS_KEY_ID": ACCOUNT,
               "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": REGION, "AWS_CA_BUNDLE": ca,
               "SSL_CERT_FILE": ca, "AWS_ECR_DISABLE_CACHE": "true", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        done = subprocess.run(["docker-credential-ecr-login", "get"], input=REGISTRY, capture_output=True,
                              text=True, timeout=120, env=env)
        result.update(server=server.url, returncode=done.returncode, stderr=done.stderr[-2000:])
        if done.returncode == 0:
            answer = json.loads(done.stdout)
            result["username"] = answer.get("Username")
            url = f"https://{REGISTRY}/v2/"
            result["v2_with_password"] = requests.get(url, auth=(answer["Username"], answer["Secret"]),
                                                      verify=ca, timeout=10).status_code
            result["v2_without"] = requests.get(url, verify=ca, timeout=10).status_code
        else:
            result["stdout"] = done.stdout[-2000:]
    result["server_output"] = "".join(server.output)[-2000:]
    print(json.dumps(result))
    ok = result.get("username") == "AWS" and result.get("v2_with_password") == 200 and result.get("v2_without") == 401
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
