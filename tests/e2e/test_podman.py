"""podman against the emulator's registry, as one uses it with ECR:
``get-login-password | podman login --username AWS --password-stdin``, build, tag, push, pull.

podman runs with vfs storage in a temporary root/runroot and temporary registries.conf,
containers.conf and auth file, so nothing leaks between tests or into the machine's setup.
"""

from __future__ import annotations

import json

import pytest

from ..registry.client import Registry, authorization_token
from ..tools import requires
from .conftest import PODMAN, login_password

pytestmark = [
    pytest.mark.slow,
    requires(PODMAN, "podman is not installed"),
]


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
