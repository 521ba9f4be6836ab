"""The plugin as a new project meets it: a temporary project whose tests use only the
plugin's fixtures (run in a subprocess, with the plugin auto-loaded from its entry point)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

#: one test body, run through the plugin's fixtures and in-process under mock_ecr
BODY = '''
import boto3
import pytest

from ecr_emulator import mock_ecr


def push_and_read_back(ecr, push):
    ecr.create_repository(repositoryName="team/app")
    image = push("team/app", "v1", files={"hello.txt": b"hello"})
    [detail] = ecr.describe_images(repositoryName="team/app")["imageDetails"]
    assert detail["imageDigest"] == image.digest and detail["imageTags"] == ["v1"]
    [got] = ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]
    assert got["imageManifest"].encode() == image.manifest
    return ecr.describe_repositories()["repositories"][0]["repositoryUri"]


def test_with_the_plugin(ecr_emulator_ecr, ecr_emulator_push_image, ecr_emulator_registry):
    uri = push_and_read_back(ecr_emulator_ecr, ecr_emulator_push_image)
    assert uri == ecr_emulator_registry + "/team/app"


def test_in_process():
    with mock_ecr(registry=True) as mock:
        ecr = boto3.client("ecr", region_name="us-east-1")
        uri = push_and_read_back(ecr, mock.push)
        assert uri == mock.registry_host + "/team/app"
'''


def test_a_project_pushes_and_reads_back_with_the_plugin_and_in_process(pytester):
    pytester.makepyfile(test_push=BODY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_state_resets_between_tests_unless_marked(pytester):
    pytester.makepyfile(test_state='''
import pytest

def test_first(ecr_emulator_ecr):
    ecr_emulator_ecr.create_repository(repositoryName="left-over")

@pytest.mark.ecr_emulator_keep_state
def test_second_keeps_it(ecr_emulator_ecr):
    names = [r["repositoryName"] for r in ecr_emulator_ecr.describe_repositories()["repositories"]]
    assert names == ["left-over"]

def test_third_starts_empty(ecr_emulator_ecr):
    assert ecr_emulator_ecr.describe_repositories()["repositories"] == []
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_options_from_the_command_line_and_ini(pytester):
    pytester.makeini("""
[pytest]
ecr_emulator_region = eu-central-1
ecr_emulator_registry_auth = off
""")
    pytester.makepyfile(test_options='''
import urllib.request

def test_options(ecr_emulator_ecr, ecr_emulator_registry):
    repo = ecr_emulator_ecr.create_repository(repositoryName="app")["repository"]
    assert repo["repositoryUri"] == "222222222222.dkr.ecr.eu-central-1.amazonaws.com/app"
    with urllib.request.urlopen(f"http://{ecr_emulator_registry}/v2/", timeout=10) as answer:
        assert answer.status == 200   # registry auth off: no credentials needed

def test_push_without_auth(ecr_emulator_ecr, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="app")
    assert ecr_emulator_push_image("app").digest.startswith("sha256:")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--ecr-emulator-account", "222222222222",
                                           "--ecr-emulator-uri-style=aws")
    result.assert_outcomes(passed=2)


def test_one_server_per_xdist_worker(pytester):
    pytester.makepyfile(test_workers=f'''
import os
import pytest

@pytest.mark.parametrize("n", range(6))
def test_isolated(n, ecr_emulator_ecr, ecr_emulator_server, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="same-name")
    ecr_emulator_push_image("same-name", "v1")
    with open({str(pytester.path / "servers.txt")!r}, "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + " " + ecr_emulator_server.url + "\\n")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=6)
    seen = {tuple(line.split()) for line in (pytester.path / "servers.txt").read_text().splitlines()}
    workers = {worker for worker, _ in seen}
    servers = {server for _, server in seen}
    assert len(workers) == 2 and len(servers) == 2 and len(seen) == 2, seen


def test_fixtures_are_documented(pytester):
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    lines = result.stdout.lines
    for name in ("ecr_emulator_server", "ecr_emulator_url", "ecr_emulator_registry", "ecr_emulator_ecr",
                 "ecr_emulator_ecr_public", "ecr_emulator_client", "ecr_emulator_login", "ecr_emulator_clock",
                 "ecr_emulator_push_image", "ecr_emulator_options"):
        [at] = [i for i, line in enumerate(lines) if line.split(" ")[0] == name]
        assert lines[at + 1].strip() and "no docstring available" not in lines[at + 1], (name, lines[at + 1])
    help_text = pytester.runpytest_subprocess("--help").stdout.str()
    assert "--ecr-emulator-account" in help_text and "--ecr-emulator-registry-auth" in help_text


def test_a_bad_option_is_a_usage_error(pytester):
    pytester.makepyfile(test_bad="def test_it(ecr_emulator_ecr):\n    pass\n")
    result = pytester.runpytest_subprocess("--ecr-emulator-registry-auth=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "on or off, not 'maybe'" in result.stderr.str()


def test_the_readme_examples_pass(pytester):
    """The README's pytest and mock_ecr examples, run as a project's tests."""
    import pathlib
    import re

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Testing with pytest"):readme.index("## Coming from moto")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README's examples moved: update this test"
    pytester.makepyfile(**{f"test_readme_{i}": block for i, block in enumerate(blocks)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_identity_policies_through_the_plugin_options(pytester):
    pytester.makefile("", credentials="""
[root]
aws_access_key_id = AKIAROOTEXAMPLE00001
aws_secret_access_key = root-secret
account = 111122223333

[reader]
aws_access_key_id = ASIAREADEREXAMPLE001
aws_secret_access_key = reader-secret
account = 111122223333
principal_arn = arn:aws:sts::111122223333:assumed-role/reader/ci
""")
    pytester.makefile(".json", policies='''{"arn:aws:iam::111122223333:role/reader": [{"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:DescribeImages"],
                       "Resource": "*"}]}]}''')
    pytester.makeini("""
[pytest]
ecr_emulator_credentials_file = credentials
ecr_emulator_identity_policies = policies.json
""")
    pytester.makepyfile(test_least_privilege='''
import pytest
from botocore.exceptions import ClientError

def test_the_root_pushes_and_the_reader_only_reads(ecr_emulator_ecr, ecr_emulator_client, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="team/app")        # the first section: the root
    ecr_emulator_push_image("team/app", "v1")
    reader = ecr_emulator_client("ecr", credential="reader")
    assert reader.describe_images(repositoryName="team/app")["imageDetails"]
    with pytest.raises(ClientError) as info:
        reader.create_repository(repositoryName="team/other")
    assert "because no identity-based policy allows the ecr:CreateRepository action" in str(info.value)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_identity_policies_without_a_credentials_file_is_a_usage_error(pytester):
    pytester.makefile(".json", policies="{}")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--ecr-emulator-identity-policies", "policies.json")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*ecr_emulator_identity_policies*credentials-file*"])
