"""Signed mode (``--credentials-file``): boto3 and the AWS CLI with the right secret are served;
a wrong secret, an unknown key, a wrong session token or an expired signature get AWS's errors."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client

from ..tools import need

ACCOUNT, ROLE_ACCOUNT = "444455556666", "777788889999"
CREDENTIALS = f"""
[ci]
aws_access_key_id = AKIAEMULATORCI000001
aws_secret_access_key = right-secret
account = {ACCOUNT}

[role]
aws_access_key_id = ASIAEMULATORROLE0001
aws_secret_access_key = role-secret
aws_session_token = session-token-1
account = {ROLE_ACCOUNT}
principal_arn = arn:aws:iam::{ROLE_ACCOUNT}:role/deployer
"""


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("signed") / "credentials"
    path.write_text(CREDENTIALS)
    with ServerProcess("--no-access-log", "--credentials-file", str(path)) as server:
        yield server


def client(server, key="AKIAEMULATORCI000001", secret="right-secret", token=None):
    return checked_client("ecr", server.url, access_key=key, secret=secret, aws_session_token=token)


def code(info) -> str:
    return info.value.response["Error"]["Code"]


def test_the_right_secret_is_served_as_the_file_s_account(signed_server):
    repo = client(signed_server).create_repository(repositoryName="signed/app")["repository"]
    assert repo["registryId"] == ACCOUNT
    client(signed_server).delete_repository(repositoryName="signed/app")


def test_a_wrong_secret_is_an_invalid_signature(signed_server):
    with pytest.raises(ClientError) as info:
        client(signed_server, secret="wrong").describe_repositories()
    assert code(info) == "InvalidSignatureException"
    assert info.value.response["Error"]["Message"].startswith("The request signature we calculated does not match")


def test_an_unknown_key_is_an_unrecognized_client(signed_server):
    with pytest.raises(ClientError) as info:
        client(signed_server, key="AKIANOBODY0000000000").describe_repositories()
    assert code(info) == "UnrecognizedClientException"
    assert info.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_session_tokens_must_match(signed_server):
    role = client(signed_server, "ASIAEMULATORROLE0001", "role-secret", "session-token-1")
    assert role.describe_repositories()["repositories"] == []
    for token in (None, "session-token-2"):
        with pytest.raises(ClientError) as info:
            client(signed_server, "ASIAEMULATORROLE0001", "role-secret", token).describe_repositories()
        assert code(info) == "UnrecognizedClientException"


def test_an_old_signature_has_expired(signed_server):
    old = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=old):
        with pytest.raises(ClientError) as info:
            client(signed_server).describe_repositories()
    assert code(info) == "InvalidSignatureException"
    assert info.value.response["Error"]["Message"].startswith("Signature expired: ")


def test_an_unsigned_request_is_refused(signed_server):
    import requests

    response = requests.post(signed_server.url, data="{}", timeout=10, headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize("cli", ["v1", "v2"])
def test_the_aws_cli_with_the_right_secret(signed_server, cli, tmp_path):
    command = [os.path.join(os.path.dirname(sys.executable), "aws")] if cli == "v1" else ["/usr/bin/aws"]
    need(shutil.which(command[0]), f"AWS CLI {cli} is not installed")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAEMULATORCI000001", "AWS_SECRET_ACCESS_KEY": "right-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    env.pop("AWS_SESSION_TOKEN", None)
    base = [*command, "--endpoint-url", signed_server.url, "ecr"]
    done = subprocess.run([*base, "describe-registry"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ACCOUNT in done.stdout
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    done = subprocess.run([*base, "describe-registry"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "InvalidSignatureException" in done.stderr


def test_a_bad_credentials_file_is_refused_at_start(tmp_path):
    from ecr_emulator.runtime.cli import main

    path = tmp_path / "credentials"
    path.write_text("[x]\naws_access_key_id = A\n")
    assert main(["serve", "--credentials-file", str(path)]) == 2
