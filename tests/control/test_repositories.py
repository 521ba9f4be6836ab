"""Private ECR repositories: CreateRepository, DescribeRepositories, DeleteRepository,
PutImageTagMutability and PutImageScanningConfiguration, through checked boto3 clients."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0b1f2c3d-1111-2222-3333-444455556666"


def error_of(info) -> dict:
    return info.value.response["Error"]


# -- CreateRepository ---------------------------------------------------------------------

def test_create_repository_defaults(ecr, url):
    before = datetime.now(timezone.utc)
    repo = ecr.create_repository(repositoryName="team/app")["repository"]
    assert repo["repositoryName"] == "team/app"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app"
    assert repo["repositoryUri"] == f"{url.split('://')[1]}/team/app"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert "imageTagMutabilityExclusionFilters" not in repo
    assert before - timedelta(seconds=5) <= repo["createdAt"] <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == []


def test_create_repository_with_every_setting(ecr):
    repo = ecr.create_repository(
        repositoryName="secure/app",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
        tags=[{"Key": "team", "Value": "core"}, {"Key": "env", "Value": ""}],
    )["repository"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS_KEY}
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [{"Key": "env", "Value": ""}, {"Key": "team", "Value": "core"}]
    # DescribeRepositories reports the same settings
    assert ecr.describe_repositories(repositoryNames=["secure/app"])["repositories"] == [repo]


@pytest.mark.parametrize("kind", ["KMS", "KMS_DSSE"])
def test_kms_without_a_key_gets_the_account_managed_key(ecr, kind):
    repo = ecr.create_repository(repositoryName="enc", encryptionConfiguration={"encryptionType": kind})["repository"]
    assert repo["encryptionConfiguration"]["encryptionType"] == kind
    assert repo["encryptionConfiguration"]["kmsKey"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")


def test_aes256_with_a_kms_key_is_refused(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="enc",
                              encryptionConfiguration={"encryptionType": "AES256", "kmsKey": KMS_KEY})
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert "kmsKey" in error_of(info)["Message"]
    assert ecr.describe_repositories()["repositories"] == []


@pytest.mark.parametrize("mode", ["IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])
def test_create_with_exclusion_filters(ecr, mode):
    filters = [{"filterType": "WILDCARD", "filter": "latest"}, {"filterType": "WILDCARD", "filter": "dev-*"}]
    repo = ecr.create_repository(repositoryName="excl", imageTagMutability=mode,
                                 imageTagMutabilityExclusionFilters=filters)["repository"]
    assert repo["imageTagMutability"] == mode
    assert repo["imageTagMutabilityExclusionFilters"] == filters
    described = ecr.describe_repositories(repositoryNames=["excl"])["repositories"][0]
    assert described["imageTagMutabilityExclusionFilters"] == filters


@pytest.mark.parametrize("mode", ["IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])
def test_exclusion_mode_without_filters_is_refused(ecr, mode):
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="excl", imageTagMutability=mode)
    error = error_of(info)
    assert error["Code"] == "InvalidParameterException"
    assert "imageTagMutabilityExclusionFilters" in error["Message"] and mode in error["Message"]


@pytest.mark.parametrize("mode", ["MUTABLE", "IMMUTABLE"])
def test_filters_without_an_exclusion_mode_are_refused(ecr, mode):
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="excl", imageTagMutability=mode,
                              imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "x*"}])
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert "imageTagMutabilityExclusionFilters" in error_of(info)["Message"]


def test_filters_without_a_mode_are_refused(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="excl",
                              imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "x*"}])
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_bad_filter_pattern_is_refused(ecr):
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="excl", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                              imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "a/b"}])
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert "imageTagMutabilityExclusionFilters.1.member.filter" in error_of(info)["Message"]


def test_create_existing_repository(ecr):
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ClientError) as info:
        ecr.create_repository(repositoryName="app")
    assert error_of(info) == {
        "Code": "RepositoryAlreadyExistsException",
        "Message": f"The repository with name 'app' already exists in the registry with id '{ACCOUNT}'",
    }


@pytest.mark.parametrize("name", ["ab", "a__b", "a--b", "a.b/c_d/e-f", "1/2/3", "a" * 256])
def test_valid_names(ecr, name):
    assert ecr.create_repository(repositoryName=name)["repository"]["repositoryName"] == name


# -- DescribeRepositories -----------------------------------------------------------------

def test_describe_by_names(ecr):
    for name in ("one", "two", "three"):
        ecr.create_repository(repositoryName=name)
    found = ecr.describe_repositories(repositoryNames=["three", "one"])["repositories"]
    assert [r["repositoryName"] for r in found] == ["three", "one"]
    assert "nextToken" not in ecr.describe_repositories(repositoryNames=["one"])


def test_describe_unknown_name(ecr):
    ecr.create_repository(repositoryName="one")
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(repositoryNames=["one", "missing"])
    assert error_of(info) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'missing' does not exist in the registry with id '{ACCOUNT}'",
    }


def test_describe_empty_registry(ecr):
    answer = ecr.describe_repositories()
    assert answer["repositories"] == [] and "nextToken" not in answer


def test_paginator_walks_every_repository(ecr):
    names = {f"repo-{i:02d}" for i in range(25)}
    for name in names:
        ecr.create_repository(repositoryName=name)
    pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 10}))
    assert [len(p["repositories"]) for p in pages] == [10, 10, 5]
    seen = [r["repositoryName"] for p in pages for r in p["repositories"]]
    assert len(seen) == 25 and set(seen) == names
    assert "nextToken" not in pages[-1]


def test_manual_next_token(ecr):
    for i in range(25):
        ecr.create_repository(repositoryName=f"repo-{i:02d}")
    seen, token, calls = [], None, 0
    while calls < 10:  # bounded: 25 repos in pages of 7 need 4 calls
        kwargs = {"maxResults": 7, **({"nextToken": token} if token else {})}
        page = ecr.describe_repositories(**kwargs)
        calls += 1
        assert len(page["repositories"]) <= 7
        seen += [r["repositoryName"] for r in page["repositories"]]
        token = page.get("nextToken")
        if token is None:
            break
    assert calls == 4
    assert sorted(seen) == [f"repo-{i:02d}" for i in range(25)]


def test_max_results_larger_than_the_registry(ecr):
    ecr.create_repository(repositoryName="only")
    answer = ecr.describe_repositories(maxResults=1000)
    assert [r["repositoryName"] for r in answer["repositories"]] == ["only"]
    assert "nextToken" not in answer


def test_names_and_max_results_together_are_refused(ecr):
    ecr.create_repository(repositoryName="one")
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(repositoryNames=["one"], maxResults=5)
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert "repositoryNames" in error_of(info)["Message"]


@pytest.mark.parametrize("token", ["garbage", "e30=", "W10=", "eyJvIjogLTEsICJzIjogIngifQ=="])
def test_invalid_next_token(ecr, token):
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(nextToken=token)
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert "nextToken" in error_of(info)["Message"]


def test_next_token_of_another_listing_is_refused(ecr, ecr_public):
    for i in range(3):
        ecr_public.create_repository(repositoryName=f"pub-{i}")
    token = ecr_public.describe_repositories(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(nextToken=token)
    assert error_of(info)["Code"] == "InvalidParameterException"


# -- DeleteRepository ---------------------------------------------------------------------

def test_delete_returns_the_repository(ecr):
    created = ecr.create_repository(repositoryName="gone", tags=[{"Key": "k", "Value": "v"}])["repository"]
    deleted = ecr.delete_repository(repositoryName="gone")["repository"]
    assert deleted == created
    assert ecr.describe_repositories()["repositories"] == []
    with pytest.raises(ClientError) as info:
        ecr.describe_repositories(repositoryNames=["gone"])
    assert error_of(info)["Code"] == "RepositoryNotFoundException"
    # the name is free again, without the old settings or tags
    again = ecr.create_repository(repositoryName="gone")["repository"]
    assert ecr.list_tags_for_resource(resourceArn=again["repositoryArn"])["tags"] == []


def test_delete_unknown_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.delete_repository(repositoryName="missing")
    assert error_of(info) == {
        "Code": "RepositoryNotFoundException",
        "Message": f"The repository with name 'missing' does not exist in the registry with id '{ACCOUNT}'",
    }


def test_delete_empty_repository_with_force(ecr):
    ecr.create_repository(repositoryName="empty")
    assert ecr.delete_repository(repositoryName="empty", force=True)["repository"]["repositoryName"] == "empty"


def _put_small_image(ecr, repo: str) -> str:
    from ecr_emulator.testing.synthetic import make_image

    image = make_image("delete-me", layers=1, layer_bytes=64)
    for digest, data in image.blobs.items():
        upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
        ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0,
                              partLastByte=len(data) - 1, layerPartBlob=data)
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest])
    ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag="v1")
    return image.digest


def test_delete_non_empty_repository_needs_force(ecr):
    ecr.create_repository(repositoryName="full")
    _put_small_image(ecr, "full")
    with pytest.raises(ClientError) as info:
        ecr.delete_repository(repositoryName="full")
    assert error_of(info) == {
        "Code": "RepositoryNotEmptyException",
        "Message": f"The repository with name 'full' in registry with id '{ACCOUNT}' "
                   "cannot be deleted because it still contains images",
    }
    assert ecr.describe_repositories(repositoryNames=["full"])["repositories"]
    assert ecr.delete_repository(repositoryName="full", force=True)["repository"]["repositoryName"] == "full"
    assert ecr.describe_repositories()["repositories"] == []


# -- PutImageTagMutability / PutImageScanningConfiguration --------------------------------

def test_put_image_tag_mutability(ecr):
    ecr.create_repository(repositoryName="app")
    answer = ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="IMMUTABLE")
    assert answer == {"registryId": ACCOUNT, "repositoryName": "app", "imageTagMutability": "IMMUTABLE",
                      "ResponseMetadata": answer["ResponseMetadata"]}
    assert ecr.describe_repositories()["repositories"][0]["imageTagMutability"] == "IMMUTABLE"


def test_put_image_tag_mutability_with_and_then_without_exclusions(ecr):
    ecr.create_repository(repositoryName="app")
    filters = [{"filterType": "WILDCARD", "filter": "latest*"}]
    answer = ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                                          imageTagMutabilityExclusionFilters=filters)
    assert answer["imageTagMutabilityExclusionFilters"] == filters
    repo = ecr.describe_repositories()["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == filters
    # going back to a plain mode drops the filters
    answer = ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="MUTABLE")
    assert "imageTagMutabilityExclusionFilters" not in answer
    repo = ecr.describe_repositories()["repositories"][0]
    assert repo["imageTagMutability"] == "MUTABLE" and "imageTagMutabilityExclusionFilters" not in repo


def test_put_image_tag_mutability_errors(ecr):
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ClientError) as info:
        ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="MUTABLE_WITH_EXCLUSION")
    assert error_of(info)["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as info:
        ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="IMMUTABLE",
                                     imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "a"}])
    assert error_of(info)["Code"] == "InvalidParameterException"
    # a refused change leaves the repository as it was
    assert ecr.describe_repositories()["repositories"][0]["imageTagMutability"] == "MUTABLE"
    with pytest.raises(ClientError) as info:
        ecr.put_image_tag_mutability(repositoryName="missing", imageTagMutability="IMMUTABLE")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_put_image_scanning_configuration(ecr):
    ecr.create_repository(repositoryName="app")
    answer = ecr.put_image_scanning_configuration(repositoryName="app",
                                                  imageScanningConfiguration={"scanOnPush": True})
    assert answer["imageScanningConfiguration"] == {"scanOnPush": True}
    assert answer["repositoryName"] == "app" and answer["registryId"] == ACCOUNT
    assert ecr.describe_repositories()["repositories"][0]["imageScanningConfiguration"] == {"scanOnPush": True}
    ecr.put_image_scanning_configuration(repositoryName="app", imageScanningConfiguration={"scanOnPush": False})
    assert ecr.describe_repositories()["repositories"][0]["imageScanningConfiguration"] == {"scanOnPush": False}
    with pytest.raises(ClientError) as info:
        ecr.put_image_scanning_configuration(repositoryName="missing", imageScanningConfiguration={"scanOnPush": True})
    assert error_of(info)["Code"] == "RepositoryNotFoundException"
