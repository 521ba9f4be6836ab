"""Least privilege you can test (issue 19): with ``--credentials-file`` and ``--identity-policies``,
a root key, a ``reader`` role and a ``pusher`` role of one account get what IAM would give them,
through boto3 (the control plane) and skopeo (the registry), over a real server; without
``--identity-policies`` the same calls all succeed."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import make_image, write_oci_layout

from ..features.helpers import wait_for
from ..registry.client import password_of
from ..tools import requires
from .conftest import SKOPEO

pytestmark = [
    pytest.mark.slow,
    requires(SKOPEO, "skopeo is not installed"),
]

ACCOUNT = "111122223333"
READER = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/ci-session"
PUSHER = f"arn:aws:sts::{ACCOUNT}:assumed-role/pusher/ci-session"
STRANGER = f"arn:aws:iam::{ACCOUNT}:user/stranger"
KEYS = {  # section: (access key, secret, principal ARN)
    "root": ("AKIAEMULATORROOT0001", "root-secret", None),
    "reader": ("ASIAEMULATORREADER01", "reader-secret", READER),
    "pusher": ("ASIAEMULATORPUSHER01", "pusher-secret", PUSHER),
    "stranger": ("AKIAEMULATORSTRANGER", "stranger-secret", STRANGER),
}
PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
        "ecr:DescribeImages", "ecr:ListImages", "ecr:DescribeRepositories"]
TEAM = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/*"
POLICIES = {
    f"arn:aws:iam::{ACCOUNT}:role/reader": [{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "Action": PULL, "Resource": TEAM},
            {"Effect": "Allow", "Action": ["ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"],
             "Resource": "*"},
        ],
    }],
    f"arn:aws:iam::{ACCOUNT}:role/pusher": [{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "ecr:CreateRepository", "Resource": TEAM},
            {"Effect": "Allow", "Action": "ecr:CreateRepository", "Resource": TEAM,
             "Condition": {"StringEquals": {"aws:RequestTag/team": "a"}}},
            {"Effect": "Deny", "Action": "ecr:BatchDeleteImage", "Resource": "*"},
            {"Effect": "Allow", "Action": "ecr-public:*", "Resource": "*"},
        ],
    }],
}


def _credentials_file() -> str:
    sections = []
    for name, (key, secret, arn) in KEYS.items():
        sections.append(f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
                        f"account = {ACCOUNT}\n" + (f"principal_arn = {arn}\n" if arn else ""))
    return "\n".join(sections)


def _servers(tmp_path_factory, with_policies: bool):
    path = tmp_path_factory.mktemp("least-privilege")
    (path / "credentials").write_text(_credentials_file())
    (path / "identity-policies.json").write_text(json.dumps(POLICIES))
    args = ["--no-access-log", "--credentials-file", str(path / "credentials")]
    if with_policies:
        args += ["--identity-policies", str(path / "identity-policies.json")]
    return ServerProcess(*args)


@pytest.fixture(scope="module")
def iam_server(tmp_path_factory):
    with _servers(tmp_path_factory, True) as server:
        yield server


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    with _servers(tmp_path_factory, False) as server:
        yield server


def ecr(server, who: str):
    key, secret, _ = KEYS[who]
    return checked_client("ecr", server.url, access_key=key, secret=secret)


def creds(server, who: str) -> str:
    token = ecr(server, who).get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return "AWS:" + password_of(token)


def denied(call, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return info.value.response["Error"]["Message"]


def test_the_done_when_scenario(iam_server, skopeo, tmp_path):
    root, reader, pusher = (ecr(iam_server, who) for who in ("root", "reader", "pusher"))
    root.create_repository(repositoryName="team/base")  # the root keeps full access
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"

    assert denied(pusher.create_repository, repositoryName="team/app") == (
        f"User: {PUSHER} is not authorized to perform: ecr:CreateRepository on resource: {arn} "
        "because no identity-based policy allows the ecr:CreateRepository action")
    assert denied(pusher.create_repository, repositoryName="team/app", tags=[{"Key": "team", "Value": "b"}])
    uri = pusher.create_repository(repositoryName="team/app",
                                   tags=[{"Key": "team", "Value": "a"}])["repository"]["repositoryUri"]

    image = make_image("least-privilege", layers=2)
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds(iam_server, "pusher"), source, f"docker://{uri}:v1")
    reader_creds = creds(iam_server, "reader")
    skopeo("copy", "--src-tls-verify=false", "--src-creds", reader_creds, f"docker://{uri}:v1",
           f"oci:{tmp_path / 'pulled'}:v1")
    assert reader.describe_images(repositoryName="team/app")["imageDetails"][0]["imageDigest"] == image.digest

    refused = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", reader_creds,
                     write_oci_layout(str(tmp_path / "other"), make_image("reader-push"), "v2"),
                     f"docker://{uri}:v2", check=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr or "denied" in refused.stderr.lower()
    assert f"User: {READER} is not authorized to perform: ecr:InitiateLayerUpload" in refused.stderr

    assert denied(reader.create_repository, repositoryName="team/other") == (
        f"User: {READER} is not authorized to perform: ecr:CreateRepository on resource: "
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/other "
        "because no identity-based policy allows the ecr:CreateRepository action")
    assert denied(pusher.batch_delete_image, repositoryName="team/app", imageIds=[{"imageTag": "v1"}]) == (
        f"User: {PUSHER} is not authorized to perform: ecr:BatchDeleteImage on resource: {arn} "
        "with an explicit deny in an identity-based policy")
    assert denied(reader.describe_images, repositoryName="other/base").endswith(
        "because no identity-based policy allows the ecr:DescribeImages action")
    # listing every repository is an action on repository/*, which team/* does not cover (as on AWS)
    assert denied(reader.describe_repositories) == (
        f"User: {READER} is not authorized to perform: ecr:DescribeRepositories on resource: "
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/* "
        "because no identity-based policy allows the ecr:DescribeRepositories action")
    assert [r["repositoryName"] for r in reader.describe_repositories(repositoryNames=["team/app"])["repositories"]] \
        == ["team/app"]

    stranger = ecr(iam_server, "stranger")
    assert denied(stranger.get_authorization_token) == (
        f"User: {STRANGER} is not authorized to perform: ecr:GetAuthorizationToken on resource: * "
        "because no identity-based policy allows the ecr:GetAuthorizationToken action")
    assert denied(stranger.describe_repositories, repositoryNames=["team/app"])
    assert any("AKIAEMULATORSTRANGER" in line and STRANGER in line for line in iam_server.output), \
        "the startup warning names the credential whose principal has no entry"

    root.batch_delete_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    root.delete_repository(repositoryName="team/app", force=True)
    root.delete_repository(repositoryName="team/base", force=True)


def test_without_identity_policies_every_call_succeeds(open_server, skopeo, tmp_path):
    root, reader, pusher, stranger = (ecr(open_server, who) for who in ("root", "reader", "pusher", "stranger"))
    root.create_repository(repositoryName="team/base")
    uri = pusher.create_repository(repositoryName="team/app")["repository"]["repositoryUri"]
    reader_creds = creds(open_server, "reader")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", reader_creds,
           write_oci_layout(str(tmp_path / "src"), make_image("open-push"), "v1"), f"docker://{uri}:v1")
    reader.create_repository(repositoryName="team/other")
    pusher.batch_delete_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert stranger.describe_repositories()["repositories"]
    assert not any("identity policies" in line for line in open_server.output)


def test_ecr_public_needs_the_bearer_token_action_and_judges_pushes_by_the_holder(iam_server, skopeo, tmp_path):
    def public(who):
        key, secret, _ = KEYS[who]
        return checked_client("ecr-public", iam_server.url, access_key=key, secret=secret)

    assert denied(public("pusher").get_authorization_token) == (
        f"User: {PUSHER} is not authorized to perform: sts:GetServiceBearerToken on resource: * "
        "because no identity-based policy allows the sts:GetServiceBearerToken action")
    assert denied(public("reader").describe_registries) == (
        f"User: {READER} is not authorized to perform: ecr-public:DescribeRegistries on resource: "
        f"arn:aws:ecr-public::{ACCOUNT}:registry/{ACCOUNT} "
        "because no identity-based policy allows the ecr-public:DescribeRegistries action")
    public("root").create_repository(repositoryName="tools")
    assert denied(public("reader").create_repository, repositoryName="other").endswith(
        "because no identity-based policy allows the ecr-public:CreateRepository action")

    def creds_of(who):
        token = public(who).get_authorization_token()["authorizationData"]["authorizationToken"]
        return "AWS:" + password_of(token)

    target = f"docker://{iam_server.public_host}/public-{ACCOUNT}/tools:v1"
    source = write_oci_layout(str(tmp_path / "src"), make_image("public-push"), "v1")
    refused = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds_of("reader"), source, target, check=False)
    assert refused.returncode != 0
    assert f"User: {READER} is not authorized to perform: ecr-public:InitiateLayerUpload" in refused.stderr
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds_of("root"), source, target)
    skopeo("inspect", "--tls-verify=false", target)  # anonymous pulls need no policy
    public("root").delete_repository(repositoryName="tools", force=True)


def test_pull_through_needs_the_import_actions_and_replication_acts_as_the_service(tmp_path_factory, skopeo, tmp_path):
    """AWS asks the puller for ecr:BatchImportUpstreamImage when the cache imports an image, and
    for ecr:CreateRepository while the repository does not exist: the reader (no import) and the
    pusher (CreateRepository only with a request tag) cannot make the first pull, the root can;
    then the reader pulls the cached image, only the pusher imports a new tag. Replication
    creates and writes the destination repository for the account, outside the users' policies."""
    with ServerProcess("--no-access-log", "--no-registry-auth") as upstream:
        checked_client("ecr", upstream.url).create_repository(repositoryName="lib/tool")
        first, second = make_image("ptc-iam-1"), make_image("ptc-iam-2")
        for tag, image in (("v1", first), ("v2", second)):
            skopeo("copy", "--dest-tls-verify=false", write_oci_layout(str(tmp_path / tag), image, tag),
                   f"docker://{upstream.host}/lib/tool:{tag}")
        path = tmp_path_factory.mktemp("ptc-iam")
        (path / "credentials").write_text(_credentials_file())
        (path / "identity-policies.json").write_text(json.dumps(POLICIES))
        with ServerProcess("--no-access-log", "--credentials-file", str(path / "credentials"),
                           "--identity-policies", str(path / "identity-policies.json"),
                           "--upstream-url", f"public.ecr.aws={upstream.url}") as server:
            root = ecr(server, "root")
            root.create_pull_through_cache_rule(ecrRepositoryPrefix="team", upstreamRegistryUrl="public.ecr.aws")
            root.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": [
                {"region": "us-west-2", "registryId": ACCOUNT}]}]})
            image_ref = f"docker://{server.host}/team/lib/tool"
            arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/lib/tool"

            def pull(who, tag, check=True):
                return skopeo("copy", "--src-tls-verify=false", "--src-creds", creds(server, who),
                              f"{image_ref}:{tag}", f"oci:{tmp_path / who}-{tag}:{tag}", check=check)

            refused = pull("reader", "v1", check=False)
            assert refused.returncode != 0
            assert (f"User: {READER} is not authorized to perform: ecr:BatchImportUpstreamImage on resource: {arn} "
                    "because no identity-based policy allows the ecr:BatchImportUpstreamImage action") in refused.stderr
            refused = pull("pusher", "v1", check=False)
            assert (f"User: {PUSHER} is not authorized to perform: ecr:CreateRepository on resource: {arn} "
                    "because no identity-based policy allows the ecr:CreateRepository action") in refused.stderr
            with pytest.raises(ClientError):
                ecr(server, "reader").batch_get_image(repositoryName="team/lib/tool", imageIds=[{"imageTag": "v1"}])

            pull("root", "v1")
            pull("reader", "v1")  # cached: a plain pull
            assert "ecr:BatchImportUpstreamImage" in pull("reader", "v2", check=False).stderr
            pull("pusher", "v2")  # the repository exists: importing is enough
            pull("reader", "v2")

            west = checked_client("ecr", server.url, region="us-west-2", access_key=KEYS["root"][0],
                                  secret=KEYS["root"][1])

            def replicated():
                names = {r["repositoryName"] for r in west.describe_repositories()["repositories"]}
                if "team/lib/tool" not in names:
                    return None
                digests = {d["imageDigest"] for d in west.describe_images(repositoryName="team/lib/tool")["imageDetails"]}
                return digests if len(digests) == 2 else None

            assert wait_for(replicated) == {first.digest, second.digest}
