"""``docker-credential-ecr-emulator``: the docker credential-helper protocol (get, list, store,
erase), and skopeo and podman logging in through ``credHelpers`` with no password given."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import requests

from ecr_emulator.testing.synthetic import digest_of, make_image, write_oci_layout

from ..tools import requires

HELPER = os.path.join(os.path.dirname(sys.executable), "docker-credential-ecr-emulator")
SKOPEO = shutil.which("skopeo")
PODMAN = shutil.which("podman")
pytestmark = requires(os.path.exists(HELPER), "the package's console scripts are not installed")

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECR_EMULATOR_"))}


def helper(command: str, stdin: str = "", **env) -> subprocess.CompletedProcess:
    return subprocess.run([HELPER, command], input=stdin, capture_output=True, text=True, timeout=60,
                          env={**CLEAN, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                               **env})


def test_get_returns_a_password_that_opens_the_registry(url):
    host = url.split("://", 1)[1]
    done = helper("get", host + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["ServerURL"] == host and answer["Username"] == "AWS"
    assert requests.get(url + "/v2/", auth=("AWS", answer["Secret"]), timeout=10).status_code == 200


def test_an_ecr_host_name_chooses_account_and_region(url):
    ecr_host = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    done = helper("get", ecr_host, ECR_EMULATOR_URL=url)
    assert done.returncode == 0, done.stdout
    auth = ("AWS", json.loads(done.stdout)["Secret"])
    assert requests.get(url + "/v2/", auth=auth, headers={"Host": ecr_host}, timeout=10).status_code == 200
    other = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"  # the password is for that account only
    assert requests.get(url + "/v2/", auth=auth, headers={"Host": other}, timeout=10).status_code in (401, 403)


def test_list_store_erase_and_errors(url):
    host = url.split("://", 1)[1]
    assert json.loads(helper("list", ECR_EMULATOR_URL=url).stdout) == {host: "AWS"}
    assert json.loads(helper("list").stdout) == {}
    stored = helper("store", json.dumps({"ServerURL": host, "Username": "AWS", "Secret": "x"}))
    assert stored.returncode == 0 and stored.stdout == ""
    assert helper("erase", host).returncode == 0
    bad = helper("store", "not json")
    assert bad.returncode == 1 and "ServerURL" in bad.stdout
    unknown = helper("frobnicate")
    assert unknown.returncode == 1 and "get|list|store|erase" in unknown.stdout
    down = helper("get", "127.0.0.1:9")  # nothing listens there
    assert down.returncode == 1 and "http://127.0.0.1:9" in down.stdout


@pytest.fixture
def helper_on_path(monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(HELPER) + os.pathsep + os.environ["PATH"])


@pytest.mark.slow
@requires(SKOPEO, "skopeo is not installed")
def test_skopeo_logs_in_through_cred_helpers(helper_on_path, url, ecr, tmp_path):
    host = url.split("://", 1)[1]
    ecr.create_repository(repositoryName="helped/app")
    auth_file = tmp_path / "auth.json"
    env = {**os.environ, "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(auth_file)}
    image = make_image("helped")
    push = [SKOPEO, "--insecure-policy", "copy", "--dest-tls-verify=false",
            write_oci_layout(str(tmp_path / "layout"), image, "v1"), f"docker://{host}/helped/app:v1"]
    auth_file.write_text("{}")
    refused = subprocess.run(push, capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode != 0  # no credentials: the registry says 401
    auth_file.write_text(json.dumps({"credHelpers": {host: "ecr-emulator"}}))
    done = subprocess.run(push, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    inspected = subprocess.run([SKOPEO, "inspect", "--raw", "--tls-verify=false", f"docker://{host}/helped/app:v1"],
                               capture_output=True, timeout=120, env=env)
    assert inspected.returncode == 0 and digest_of(inspected.stdout) == image.digest


@pytest.mark.slow
@requires(PODMAN and SKOPEO, "podman and skopeo are not installed")
def test_podman_pulls_through_cred_helpers(helper_on_path, podman, url, ecr, tmp_path):  # noqa: F811
    host = url.split("://", 1)[1]
    ecr.create_repository(repositoryName="helped/pull")
    (tmp_path / "auth.json").write_text(json.dumps({"credHelpers": {host: "ecr-emulator"}}))
    image = make_image("podman-helped")
    subprocess.run([SKOPEO, "--insecure-policy", "copy", "--dest-tls-verify=false", "--authfile",
                    str(tmp_path / "auth.json"), write_oci_layout(str(tmp_path / "layout"), image, "v1"),
                    f"docker://{host}/helped/pull:v1"], check=True, capture_output=True, timeout=120,
                   env={**os.environ, "HOME": str(tmp_path)})
    podman("pull", f"{host}/helped/pull:v1")
    (inspected,) = json.loads(podman("image", "inspect", f"{host}/helped/pull:v1").stdout)
    assert inspected["Digest"] == image.digest
