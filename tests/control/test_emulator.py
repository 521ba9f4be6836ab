"""The emulator's own endpoints (health, reset), ``--uri-style aws`` and ``ecr-emulator operations``."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime

import botocore.session
import pytest
import requests
from botocore.exceptions import ClientError

import ecr_emulator
from ecr_emulator.testing import ServerProcess, checked_client

ACCOUNT = "123456789012"
OTHER = "210987654321"


def test_health(url):
    response = requests.get(url + "/_emulator/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": ecr_emulator.__version__}


def _populate(make_client) -> None:
    for account in (ACCOUNT, OTHER):
        for region in ("us-east-1", "eu-west-1"):
            client = make_client("ecr", account=account, region=region)
            client.create_repository(repositoryName="app")
            client.put_registry_policy(policyText='{"Statement": [{"Effect": "Allow", "Principal": "*", '
                                                  '"Action": "ecr:ReplicateImage"}]}')
        make_client("ecr-public", account=account).create_repository(repositoryName="tool")
    make_client("ecr-public").put_registry_catalog_data(displayName="Org")


def _assert_empty(make_client) -> None:
    for account in (ACCOUNT, OTHER):
        for region in ("us-east-1", "eu-west-1"):
            client = make_client("ecr", account=account, region=region)
            assert client.describe_repositories()["repositories"] == []
            with pytest.raises(ClientError) as info:
                client.get_registry_policy()
            assert info.value.response["Error"]["Code"] == "RegistryPolicyNotFoundException"
        assert make_client("ecr-public", account=account).describe_repositories()["repositories"] == []
    assert make_client("ecr-public").get_registry_catalog_data()["registryCatalogData"] == {"displayName": ""}


@pytest.mark.parametrize("path", ["/_emulator/reset", "/moto-api/reset"])
def test_reset_wipes_everything(url, make_client, path):
    _populate(make_client)
    response = requests.post(url + path, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    _assert_empty(make_client)
    # and the emulator keeps working afterwards
    assert make_client("ecr").create_repository(repositoryName="app")["repository"]["repositoryName"] == "app"


def test_reset_needs_post(url, ecr):
    ecr.create_repository(repositoryName="app")
    assert requests.get(url + "/_emulator/reset", timeout=10).status_code == 405
    assert len(ecr.describe_repositories()["repositories"]) == 1


def test_uri_style_aws():
    with ServerProcess("--no-access-log", "--uri-style", "aws") as server:
        ecr = checked_client("ecr", server.url, account=OTHER, region="eu-central-1")
        repo = ecr.create_repository(repositoryName="team/app")["repository"]
        assert repo["repositoryUri"] == f"{OTHER}.dkr.ecr.eu-central-1.amazonaws.com/team/app"
        assert ecr.describe_repositories()["repositories"][0]["repositoryUri"] == repo["repositoryUri"]
        token = ecr.get_authorization_token()["authorizationData"][0]
        assert token["proxyEndpoint"] == f"https://{OTHER}.dkr.ecr.eu-central-1.amazonaws.com"
        public = checked_client("ecr-public", server.url, account=OTHER)
        created = public.create_repository(repositoryName="tool")["repository"]
        assert created["repositoryUri"] == f"public.ecr.aws/public-{OTHER}/tool"
        assert public.describe_registries()["registries"][0]["registryUri"] == f"public.ecr.aws/public-{OTHER}"
        # closed connections let the server stop at once
        ecr.close()
        public.close()


def test_operations_lists_counts_per_service():
    result = subprocess.run([sys.executable, "-m", "ecr_emulator", "operations"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    session = botocore.session.get_session()
    sections = re.split(r"^(?=\S)", result.stdout, flags=re.M)
    sections = [s for s in sections if s.strip()]
    assert [s.split(":")[0] for s in sections] == ["ecr", "ecr-public"]
    for section in sections:
        header, *lines = section.strip().splitlines()
        service = header.split(":")[0]
        model_names = session.get_service_model(service).operation_names
        match = re.fullmatch(rf"{service}: (\d+) of (\d+) operations implemented", header)
        assert match, header
        done, total = int(match.group(1)), int(match.group(2))
        assert total == len(model_names) == len(lines)
        assert done == sum(1 for line in lines if line.strip().startswith("[x]"))
        assert sorted(line.strip()[4:] for line in lines) == sorted(model_names)
        # what the control plane implements is at least what this suite exercises
        for name in ("CreateRepository", "DescribeRepositories", "DeleteRepository", "GetAuthorizationToken",
                     "TagResource", "UntagResource", "ListTagsForResource", "SetRepositoryPolicy"):
            assert f"[x] {name}" in section


def test_operations_into_a_closed_pipe_exits_without_a_traceback():
    """``ecr-emulator operations | head -1``: the reader is gone before the listing is written."""
    process = subprocess.Popen([sys.executable, "-m", "ecr_emulator", "operations"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # long before the child has imported botocore and printed anything
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr, stderr.decode()
    assert process.returncode in (0, 1)


def test_the_clock_moves_forward_only_when_told(url):
    before = requests.get(url + "/_emulator/clock", timeout=10).json()["now"]
    moved = requests.post(url + "/_emulator/clock/advance", json={"seconds": 86400}, timeout=10)
    assert moved.status_code == 200
    gap = datetime.fromisoformat(moved.json()["now"]) - datetime.fromisoformat(before)
    assert 86400 <= gap.total_seconds() < 86400 + 60
    for bad in ({"seconds": -1}, {"seconds": "1"}, {}, None):
        assert requests.post(url + "/_emulator/clock/advance", json=bad, timeout=10).status_code == 400
    requests.post(url + "/_emulator/reset", timeout=10)
    after_reset = datetime.fromisoformat(requests.get(url + "/_emulator/clock", timeout=10).json()["now"])
    assert after_reset < datetime.fromisoformat(moved.json()["now"])
