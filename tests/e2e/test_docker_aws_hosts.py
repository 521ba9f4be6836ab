"""The seed's commands verbatim with the docker CLI (through ``podman system service``) against
the emulator on ONE listener (``--tls --port 443 --uri-style aws``), routed by host name:
``<account>.dkr.ecr.<region>.amazonaws.com``, ``public.ecr.aws``, ``api.ecr...`` and
``api.ecr-public...``; ``credHelpers`` with ``ecr-login`` for both registries, and a token the
helper cached that still works after the emulator restarts. Everything runs in private mount
and network namespaces (``docker_aws_hosts_namespace.py``): no file of the machine is touched
and nothing listens outside."""

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
    requires(os.geteuid() == 0 and shutil.which("unshare"),
             "unshare and root for private mount and network namespaces (CI runs as root)"),
]
NEEDED = ("docker", "podman", "docker-credential-ecr-login", "/usr/bin/aws")


def test_the_seeds_private_and_public_workflows_with_docker(tmp_path):
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    assert not missing, f"{missing} not installed (.ci/run installs docker.io, podman, " \
                        "amazon-ecr-credential-helper and awscli)"
    hosts_before = open("/etc/hosts").read()
    done = subprocess.run(
        ["unshare", "--mount", "--net", "--", sys.executable,
         os.path.join(ROOT, "tests", "e2e", "docker_aws_hosts_namespace.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and result["ok"], json.dumps(result, indent=2) + done.stderr[-3000:]
    steps = {step["step"]: step for step in result["steps"]}
    uri = steps["create public repository"]["repositoryUri"]
    assert uri == "public.ecr.aws/public-123456789012/hello-public"
    assert "Login Succeeded" in steps["public login"]["output"]
    assert "Login Succeeded" in steps["private login"]["output"]
    assert '"latest"' in steps["catalog shows the image"]["output"]
    assert steps["cached-token push after restart"]["rc"] == 0
    assert open("/etc/hosts").read() == hosts_before  # the machine's hosts file was never touched
