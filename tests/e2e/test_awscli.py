"""The AWS CLI against the emulator: v1 (installed in the venv from PyPI) and, when present,
v2 (Debian's /usr/bin/aws). Host configuration never leaks in: config and credential files
are empty temp files and the identity comes from the environment."""

from __future__ import annotations

import base64
import functools
import json
import os
import string
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ..tools import need

ACCOUNT = "123456789012"
AWS_V1 = Path(sys.executable).parent / "aws"
AWS_V2 = Path("/usr/bin/aws")


@functools.lru_cache(maxsize=None)
def _version(aws: Path) -> str:
    result = subprocess.run([str(aws), "--version"], capture_output=True, text=True, timeout=60)
    return (result.stdout + result.stderr).strip()


@pytest.fixture(params=["v1", "v2"])
def aws_cli(request, tmp_path, url):
    """``aws_cli("ecr", "describe-repositories")`` -> CompletedProcess, run against the emulator."""
    aws = AWS_V1 if request.param == "v1" else AWS_V2
    need(aws.exists(), f"AWS CLI {request.param} is not installed at {aws}")
    assert _version(aws).startswith(f"aws-cli/{request.param[1]}."), _version(aws)
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("")
    credentials.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
        "HOME": str(tmp_path),
    })

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(aws), "--endpoint-url", url, "--output", "json", *args],
                                capture_output=True, text=True, env=env, timeout=120)
        if check:
            assert result.returncode == 0, f"aws {' '.join(args)}: {result.stderr}"
        return result

    return run


def test_create_and_describe_repositories(aws_cli, url, ecr):
    created = json.loads(aws_cli("ecr", "create-repository", "--repository-name", "team/app",
                                 "--image-tag-mutability", "IMMUTABLE").stdout)["repository"]
    assert created["repositoryName"] == "team/app"
    assert created["registryId"] == ACCOUNT
    assert created["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
    assert created["repositoryUri"] == f"{url.split('://')[1]}/team/app"
    assert created["imageTagMutability"] == "IMMUTABLE"
    # what the CLI created is what the API sees
    assert ecr.describe_repositories()["repositories"][0]["repositoryArn"] == created["repositoryArn"]

    described = json.loads(aws_cli("ecr", "describe-repositories").stdout)["repositories"]
    assert [r["repositoryName"] for r in described] == ["team/app"]
    assert described[0]["repositoryUri"] == created["repositoryUri"]


def test_error_is_reported_by_the_cli(aws_cli):
    result = aws_cli("ecr", "describe-repositories", "--repository-names", "missing", check=False)
    assert result.returncode != 0
    assert "RepositoryNotFoundException" in result.stderr
    assert "missing" in result.stderr


def test_get_login_password(aws_cli, ecr, url):
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    assert password and "\n" not in password
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, api_password = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    # the CLI printed the password part of a token: same form as the API's (what is after "AWS:"),
    # not the base64 token itself and not the "AWS:" prefix
    assert password != token and not password.startswith("AWS:")
    assert password.count(".") == api_password.count(".")
    assert set(password) <= set(string.ascii_letters + string.digits + "-_.=")
    # and it is a password the registry takes, as `docker login -u AWS --password-stdin` would send it
    basic = base64.b64encode(f"AWS:{password}".encode()).decode()
    probe = requests.get(f"{url}/v2/", headers={"Authorization": f"Basic {basic}"}, timeout=10)
    assert probe.status_code == 200, probe.text
    wrong = base64.b64encode(f"AWS:{password}x".encode()).decode()
    refused = requests.get(f"{url}/v2/", headers={"Authorization": f"Basic {wrong}"}, timeout=10)
    assert refused.status_code in (401, 403)


def test_ecr_public_describe_registries(aws_cli, ecr_emulator_server):
    registries = json.loads(aws_cli("ecr-public", "describe-registries").stdout)["registries"]
    assert len(registries) == 1
    registry = registries[0]
    assert registry["registryId"] == ACCOUNT
    assert registry["registryUri"] == f"{ecr_emulator_server.public_host}/public-{ACCOUNT}"
    assert registry["aliases"][0]["name"] == f"public-{ACCOUNT}"


def test_lifecycle_policy_recipe_of_the_readme(aws_cli, url, ecr):
    """The README's recipe: put a policy, preview it (the CLI's waiter), advance the clock
    (a body without Content-Type, as curl -d sends it), run, and the image is gone."""
    ecr.create_repository(repositoryName="team/app")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": []})
    digest = ecr.put_image(repositoryName="team/app", imageManifest=manifest)["image"]["imageId"]["imageDigest"]
    policy = ('{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged",\n'
              '  "countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}')
    aws_cli("ecr", "put-lifecycle-policy", "--repository-name", "team/app", "--lifecycle-policy-text", policy)
    started = json.loads(aws_cli("ecr", "start-lifecycle-policy-preview", "--repository-name", "team/app").stdout)
    assert started["status"] in ("IN_PROGRESS", "COMPLETE")
    aws_cli("ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", "team/app")
    preview = json.loads(aws_cli("ecr", "get-lifecycle-policy-preview", "--repository-name", "team/app").stdout)
    assert preview["status"] == "COMPLETE" and preview["previewResults"] == []
    assert preview["summary"] == {"expiringImageTotalCount": 0}

    advanced = requests.post(url + "/_emulator/clock/advance", data='{"seconds": 1296000}', timeout=10)
    assert advanced.status_code == 200, advanced.text
    ran = requests.post(url + "/_emulator/lifecycle/run", timeout=30).json()["repositories"]
    assert ran == [{"registryId": ACCOUNT, "region": "us-east-1", "repositoryName": "team/app",
                    "expired": [digest], "transitioned": []}]
    images = json.loads(aws_cli("ecr", "describe-images", "--repository-name", "team/app").stdout)
    assert images["imageDetails"] == []
    got = json.loads(aws_cli("ecr", "get-lifecycle-policy", "--repository-name", "team/app").stdout)
    assert json.loads(got["lifecyclePolicyText"]) == json.loads(policy) and "lastEvaluatedAt" in got
