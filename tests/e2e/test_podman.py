"""podman against the emulator's registry, as one uses it with ECR:
``get-login-password | podman login --username AWS --password-stdin``, build, tag, push, pull.

podman runs with vfs storage in a temporary root/runroot and temporary registries.conf,
containers.conf and auth file, so nothing leaks between tests or into the machine's setup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ..registry.client import Registry, authorization_token, password_of

PODMAN = shutil.which("podman")
#: the AWS CLI installed next to this Python (the project's test extra)
AWS_CLI = os.path.join(os.path.dirname(sys.executable), "aws")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(PODMAN is None, reason="podman is not installed (CI installs it)"),
]


@pytest.fixture
def podman(tmp_path, url):
    """``podman(*args, input=None)`` with every piece of configuration in ``tmp_path``."""
    host = url.split("://", 1)[1]
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/run"\ngraphroot = "{tmp_path}/root"\n')
    (tmp_path / "registries.conf").write_text(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n')
    (tmp_path / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    env = {
        **os.environ,
        "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(tmp_path / "registries.conf"),
        "CONTAINERS_CONF": str(tmp_path / "containers.conf"),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path / "xdg"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TMPDIR": str(tmp_path),
    }
    (tmp_path / "xdg").mkdir()

    def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([PODMAN, *args], capture_output=True, text=True, input=input, env=env, timeout=300)
        if check:
            assert done.returncode == 0, f"podman {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    yield run
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(tmp_path / "root", ignore_errors=True)


def login_password(ecr, url: str) -> str:
    """``aws ecr get-login-password`` (the AWS CLI when installed, else the same call via boto3)."""
    if not os.path.exists(AWS_CLI):
        return password_of(authorization_token(ecr))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "123456789012", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    done = subprocess.run([AWS_CLI, "ecr", "get-login-password", "--endpoint-url", url], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_login_build_tag_push_pull(podman, ecr, url, tmp_path):
    host = url.split("://", 1)[1]
    uri = ecr.create_repository(repositoryName="team/built")["repository"]["repositoryUri"]
    assert uri == f"{host}/team/built"
    login = podman("login", "--username", "AWS", "--password-stdin", host, input=login_password(ecr, url))
    assert "Login Succeeded" in login.stdout
    assert host in json.loads((tmp_path / "auth.json").read_text())["auths"]

    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_text("hello from podman\n")
    (context / "Containerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    podman("build", "--format", "oci", "-t", "localhost/built:1", "-f", str(context / "Containerfile"), str(context))
    podman("tag", "localhost/built:1", f"{uri}:v1")
    podman("push", "--digestfile", str(tmp_path / "digest"), f"{uri}:v1")
    pushed = (tmp_path / "digest").read_text().strip()

    registry = Registry(url, authorization_token(ecr))
    head = registry.head("/v2/team/built/manifests/v1", headers={"Accept": "*/*"})
    assert head.status_code == 200 and head.headers["Docker-Content-Digest"] == pushed

    podman("rmi", "--all", "--force")
    podman("pull", f"{uri}:v1")
    (image,) = json.loads(podman("image", "inspect", f"{uri}:v1").stdout)
    assert image["Digest"] == pushed
    assert f"{uri}@{pushed}" in image["RepoDigests"]

    wrong = podman("login", "--username", "AWS", "--password-stdin", host, input="not-a-token", check=False)
    assert wrong.returncode != 0
