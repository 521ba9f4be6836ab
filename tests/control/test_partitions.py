"""Partitions and regions: ARNs and host names follow the region's partition (botocore's data);
only regions AWS has (or the settings add) are served, and a request signed for any other region
is refused without creating anything."""

from __future__ import annotations

import base64
import random
import string

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from ecr_emulator.addressing import partitions
from ecr_emulator.testing import ServerProcess, checked_client

ACCOUNT = "123456789012"


@pytest.mark.parametrize("region, partition, suffix", [
    ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ("eu-west-1", "aws", "amazonaws.com"),
])
def test_repository_arn_and_uri_follow_the_partition(make_client, region, partition, suffix):
    ecr = make_client("ecr", region=region)
    repo = ecr.create_repository(repositoryName="app",
                                 encryptionConfiguration={"encryptionType": "KMS"})["repository"]
    assert repo["repositoryArn"] == f"arn:{partition}:ecr:{region}:{ACCOUNT}:repository/app"
    # the AWS managed key of the region's partition
    assert repo["encryptionConfiguration"]["kmsKey"].startswith(f"arn:{partition}:kms:{region}:{ACCOUNT}:key/")
    described = ecr.describe_repositories()["repositories"][0]
    assert described["repositoryArn"] == repo["repositoryArn"]
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])
    assert tags["tags"] == []


def test_aws_style_uris_and_proxy_endpoint_use_the_partitions_dns_suffix():
    with ServerProcess("--no-access-log", "--uri-style", "aws") as server:
        for region, host in [("cn-north-1", f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn"),
                             ("us-gov-west-1", f"{ACCOUNT}.dkr.ecr.us-gov-west-1.amazonaws.com")]:
            ecr = checked_client("ecr", server.url, region=region)
            repo = ecr.create_repository(repositoryName="app")["repository"]
            assert repo["repositoryUri"] == f"{host}/app"
            data = ecr.get_authorization_token()["authorizationData"][0]
            assert data["proxyEndpoint"] == f"https://{host}"


def test_a_china_registry_host_reaches_that_regions_registry(open_server):
    ecr = checked_client("ecr", open_server.url, region="cn-north-1")
    ecr.create_repository(repositoryName="app")
    host = f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn:{open_server.url.rsplit(':', 1)[1]}"
    answer = requests.get(open_server.url + "/v2/_catalog", headers={"Host": host}, timeout=10)
    assert answer.status_code == 200 and answer.json()["repositories"] == ["app"]


def test_partition_data_comes_from_botocore():
    from botocore.loaders import create_loader

    data = create_loader().load_data("partitions")
    for item in data["partitions"]:
        for region in item["regions"]:
            if region.endswith("-global"):
                assert region not in partitions.known_regions()  # endpoint aliases, not regions
                continue
            assert partitions.partition_of(region).name == item["id"]
            assert partitions.dns_suffix(region) == item["outputs"]["dnsSuffix"]


def _made_up_regions(count: int) -> list[str]:
    rng = random.Random(13)
    names = set()
    while len(names) < count:
        name = f"{rng.choice(['zz', 'qq', 'us', 'eu'])}-{''.join(rng.choices(string.ascii_lowercase, k=6))}-{rng.randint(1, 9)}"
        if name not in partitions.known_regions():
            names.add(name)
    return sorted(names)


def _private_page(url: str) -> str:
    return requests.get(url + "/gallery/private", timeout=10).text


def test_thirty_made_up_regions_are_refused_and_create_nothing(url, make_client):
    before = _private_page(url)
    for region in _made_up_regions(30):
        client = make_client("ecr", region=region)
        calls = ((client.create_repository, {"repositoryName": "app"}), (client.describe_repositories, {}),
                 (client.get_authorization_token, {}))
        for call, arguments in calls:
            with pytest.raises(ClientError) as info:
                call(**arguments)
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert info.value.response["Error"] == {
                "Code": "InvalidSignatureException",
                "Message": f"Credential should be scoped to a valid region, not '{region}'."}
    after = _private_page(url)
    assert after == before
    stats = requests.get(url + "/_emulator/stats", timeout=10).json()
    assert stats["repositories"] == 0
    # a region AWS has does make a registry (so the page above can tell)
    make_client("ecr", region="ap-southeast-7").describe_repositories()
    assert "ap-southeast-7" in _private_page(url)


def test_a_scope_that_is_no_region_name_is_refused_without_echo(url):
    answer = requests.post(url + "/", data="{}", timeout=10, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/US_EAST_1&x=y/ecr/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    assert answer.status_code == 403
    assert answer.json() == {"__type": "InvalidSignatureException",
                             "message": "Credential should be scoped to a valid region."}


def test_extra_regions_are_served_and_named_in_the_certificate(tmp_path):
    with ServerProcess("--no-access-log", "--extra-region", "xx-test-1", "--extra-region", "zz-lab-2") as server:
        for region in ("xx-test-1", "zz-lab-2"):
            ecr = checked_client("ecr", server.url, region=region)
            arn = ecr.create_repository(repositoryName="app")["repository"]["repositoryArn"]
            assert arn == f"arn:aws:ecr:{region}:{ACCOUNT}:repository/app"
        with pytest.raises(ClientError) as info:
            checked_client("ecr", server.url, region="xx-test-2").describe_repositories()
        assert info.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_extra_regions_from_the_environment():
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_EXTRA_REGIONS": "xx-one-1,xx-two-1"}) as server:
        for region in ("xx-one-1", "xx-two-1"):
            checked_client("ecr", server.url, region=region).describe_repositories()


def test_the_registry_door_refuses_a_host_of_a_made_up_region(open_server):
    for region in _made_up_regions(5):
        host = f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com:{open_server.url.rsplit(':', 1)[1]}"
        answer = requests.get(open_server.url + "/v2/_catalog", headers={"Host": host}, timeout=10)
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["code"] == "NAME_UNKNOWN"
        assert region not in _private_page(open_server.url)


def test_canned_findings_refuse_a_made_up_region(url):
    answer = requests.post(url + "/_emulator/scan-findings", timeout=10, json={
        "imageDigest": "sha256:" + "a" * 64, "findings": [], "region": "zz-madeab-1"})
    assert answer.status_code == 400
    assert "zz-madeab-1" not in _private_page(url)


def test_tls_certificate_names_every_served_region(tmp_path):
    from cryptography import x509

    from ecr_emulator.runtime import tls
    from ecr_emulator.settings import Settings

    settings = Settings(tls=True, tls_dir=str(tmp_path), extra_regions=("xx-test-1",))
    paths = tls.ensure(settings)
    with open(paths["cert"], "rb") as f:
        cert = x509.load_pem_x509_certificates(f.read())[0]
    names = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                .get_values_for_type(x509.DNSName))
    for wanted in ("*.dkr.ecr.cn-north-1.amazonaws.com.cn", "api.ecr.cn-northwest-1.amazonaws.com.cn",
                   "*.dkr.ecr.us-gov-west-1.amazonaws.com", "*.dkr.ecr-fips.us-gov-east-1.amazonaws.com",
                   "*.dkr.ecr.eu-west-3.amazonaws.com", "*.dkr.ecr.xx-test-1.amazonaws.com", "public.ecr.aws"):
        assert wanted in names
    for region in partitions.known_regions():
        assert f"api.ecr.{region}.{partitions.dns_suffix(region)}" in names


def test_a_token_works_only_in_its_own_partitions_region(url):
    ecr = boto3.client("ecr", endpoint_url=url, region_name="cn-north-1", aws_access_key_id=ACCOUNT,
                       aws_secret_access_key="s", config=Config(retries={"max_attempts": 1}))
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert base64.b64decode(token).startswith(b"AWS:")
    port = url.rsplit(":", 1)[1]
    ok = requests.get(url + "/v2/", timeout=10, headers={
        "Authorization": f"Basic {token}", "Host": f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn:{port}"})
    assert ok.status_code == 200
    other = requests.get(url + "/v2/", timeout=10, headers={
        "Authorization": f"Basic {token}", "Host": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com:{port}"})
    assert other.status_code in (401, 403)


@pytest.mark.parametrize("region, why", [("zz-madeab-1", "is not a region"),
                                         ("cn-north-1", "replication stays within a partition")])
def test_replication_destinations_are_served_regions_of_the_same_partition_message_is_ours(ecr, url, region, why):
    with pytest.raises(ClientError) as info:
        ecr.put_replication_configuration(replicationConfiguration={"rules": [
            {"destinations": [{"region": region, "registryId": ACCOUNT}]}]})
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidParameterException" and why in error["Message"]
    assert "rules.1.member.destinations.1.member.region" in error["Message"]
    assert region not in _private_page(url)


def test_replication_within_the_china_partition_is_accepted(make_client):
    china = make_client("ecr", region="cn-north-1")
    china.put_replication_configuration(replicationConfiguration={"rules": [
        {"destinations": [{"region": "cn-northwest-1", "registryId": ACCOUNT}]}]})
    rules = china.describe_registry()["replicationConfiguration"]["rules"]
    assert rules[0]["destinations"] == [{"region": "cn-northwest-1", "registryId": ACCOUNT}]


def test_access_denied_in_china_names_china_arns(make_client):
    make_client("ecr", account="222222222222", region="cn-north-1").create_repository(repositoryName="app")
    other = make_client("ecr", account="111111111111", region="cn-north-1")
    with pytest.raises(ClientError) as info:
        other.describe_repositories(registryId="222222222222", repositoryNames=["app"])
    message = info.value.response["Error"]["Message"]
    assert message.startswith("User: arn:aws-cn:iam::111111111111:root is not authorized to perform: "
                              "ecr:DescribeRepositories on resource: "
                              "arn:aws-cn:ecr:cn-north-1:222222222222:repository/app")
