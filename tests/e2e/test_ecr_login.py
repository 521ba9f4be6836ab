"""Debian's ``docker-credential-ecr-login`` (amazon-ecr-credential-helper) gets a working
password from the emulator served with ``--tls`` under ECR's host names.

The helper talks to ``https://api.ecr.<region>.amazonaws.com`` and the registry at
``<account>.dkr.ecr.<region>.amazonaws.com``, port 443. The test runs in its own mount and
network namespaces (``unshare``; CI runs as root), where those names point at the emulator
through a private ``/etc/hosts`` and the CA is given by ``AWS_CA_BUNDLE`` / ``SSL_CERT_FILE``:
no file of the machine is touched and nothing listens outside the namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ..tools import requires

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [
    pytest.mark.slow,
    requires(shutil.which("docker-credential-ecr-login"),
             "docker-credential-ecr-login is not installed (Debian's amazon-ecr-credential-helper)"),
    requires(shutil.which("unshare") and os.geteuid() == 0,
             "unshare and root are needed for private mount and network namespaces"),
]


def test_ecr_login_gets_a_password_that_opens_v2(tmp_path):
    hosts_before = open("/etc/hosts").read()
    done = subprocess.run(
        ["unshare", "--mount", "--net", "--", sys.executable,
         os.path.join(ROOT, "tests", "e2e", "ecr_login_namespace.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, json.dumps(result, indent=2) + done.stderr
    assert result["server"] == "https://127.0.0.1:443"
    assert (result["username"], result["v2_with_password"], result["v2_without"]) == ("AWS", 200, 401)
    assert open("/etc/hosts").read() == hosts_before  # the machine's hosts file was never touched
