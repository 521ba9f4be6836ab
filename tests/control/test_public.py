"""ECR Public control plane: repositories, catalog data, registries, policies, tags, tokens."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
import requests
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
OTHER = "210987654321"
ALIAS = f"public-{ACCOUNT}"
# a complete 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"


def error_of(info) -> dict:
    return info.value.response["Error"]


def test_create_repository_minimal(ecr_public, ecr_emulator_server):
    answer = ecr_public.create_repository(repositoryName="team/tool")
    repo = answer["repository"]
    assert repo["repositoryName"] == "team/tool"
    assert repo["registryId"] == ACCOUNT
    assert repo["repositoryArn"] == f"arn:aws:ecr-public::{ACCOUNT}:repository/team/tool"
    # the public registry's listener, not the API's port: the URI works as returned
    assert repo["repositoryUri"] == f"{ecr_emulator_server.public_host}/{ALIAS}/team/tool"
    now = datetime.now(timezone.utc)
    assert now - timedelta(minutes=1) <= repo["createdAt"] <= now + timedelta(minutes=1)
    assert answer["catalogData"] == {"marketplaceCertified": False}


def test_create_repository_with_catalog_data_and_tags(ecr_public):
    catalog = {
        "description": "A tool",
        "architectures": ["x86-64", "ARM 64"],
        "operatingSystems": ["Linux"],
        "aboutText": "# About",
        "usageText": "docker run it",
    }
    answer = ecr_public.create_repository(repositoryName="tool", catalogData=catalog,
                                          tags=[{"Key": "team", "Value": "core"}])
    assert answer["catalogData"] == {**catalog, "marketplaceCertified": False}
    got = ecr_public.get_repository_catalog_data(repositoryName="tool")["catalogData"]
    assert got == {**catalog, "marketplaceCertified": False}
    tags = ecr_public.list_tags_for_resource(resourceArn=answer["repository"]["repositoryArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "core"}]


def test_create_existing_public_repository(ecr_public):
    ecr_public.create_repository(repositoryName="tool")
    with pytest.raises(ClientError) as info:
        ecr_public.create_repository(repositoryName="tool")
    assert error_of(info)["Code"] == "RepositoryAlreadyExistsException"


def test_public_and_private_repositories_are_separate(ecr, ecr_public):
    ecr_public.create_repository(repositoryName="same")
    ecr.create_repository(repositoryName="same")
    ecr.delete_repository(repositoryName="same")
    assert [r["repositoryName"] for r in ecr_public.describe_repositories()["repositories"]] == ["same"]
    assert ecr.describe_repositories()["repositories"] == []


def test_describe_repositories(ecr_public):
    created = [ecr_public.create_repository(repositoryName=f"r{i}")["repository"] for i in range(5)]
    assert ecr_public.describe_repositories(repositoryNames=["r3"])["repositories"] == [created[3]]
    pages = list(ecr_public.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["repositories"]) for p in pages] == [2, 2, 1]
    assert sorted(r["repositoryName"] for p in pages for r in p["repositories"]) == [f"r{i}" for i in range(5)]
    with pytest.raises(ClientError) as info:
        ecr_public.describe_repositories(repositoryNames=["nope"])
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_public_region_does_not_matter(ecr_public, make_client):
    """ECR Public has one registry per account, whichever endpoint region signs the call."""
    ecr_public.create_repository(repositoryName="tool")
    west = make_client("ecr-public", region="us-west-2")
    assert [r["repositoryName"] for r in west.describe_repositories()["repositories"]] == ["tool"]


def test_delete_repository(ecr_public):
    created = ecr_public.create_repository(repositoryName="tool")["repository"]
    assert ecr_public.delete_repository(repositoryName="tool")["repository"] == created
    assert ecr_public.describe_repositories()["repositories"] == []
    with pytest.raises(ClientError) as info:
        ecr_public.delete_repository(repositoryName="tool")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


def test_tags(ecr_public):
    arn = ecr_public.create_repository(repositoryName="tool")["repository"]["repositoryArn"]
    ecr_public.tag_resource(resourceArn=arn, tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ecr_public.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecr_public.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "2"}]


def test_put_repository_catalog_data_replaces(ecr_public):
    ecr_public.create_repository(repositoryName="tool", catalogData={"description": "old", "aboutText": "x"})
    answer = ecr_public.put_repository_catalog_data(repositoryName="tool", catalogData={"description": "new"})
    assert answer["catalogData"] == {"description": "new", "marketplaceCertified": False}
    got = ecr_public.get_repository_catalog_data(repositoryName="tool")["catalogData"]
    assert got == {"description": "new", "marketplaceCertified": False}


def test_catalog_data_of_missing_repository(ecr_public):
    with pytest.raises(ClientError) as info:
        ecr_public.get_repository_catalog_data(repositoryName="missing")
    assert error_of(info)["Code"] == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as info:
        ecr_public.put_repository_catalog_data(repositoryName="missing", catalogData={"description": "x"})
    assert error_of(info)["Code"] == "RepositoryNotFoundException"


@pytest.mark.parametrize("logo, content_type", [(PNG, "image/png"), (JPEG, "image/jpeg")])
def test_logo_url_serves_the_logo(ecr_public, logo, content_type):
    ecr_public.create_repository(repositoryName="team/tool")
    catalog = ecr_public.put_repository_catalog_data(
        repositoryName="team/tool", catalogData={"logoImageBlob": logo, "description": "d"}
    )["catalogData"]
    assert "logoImageBlob" not in catalog
    response = requests.get(catalog["logoUrl"], timeout=10)
    assert response.status_code == 200
    assert response.content == logo
    assert response.headers["Content-Type"] == content_type
    again = ecr_public.get_repository_catalog_data(repositoryName="team/tool")["catalogData"]
    assert again["logoUrl"] == catalog["logoUrl"]


def test_logo_created_with_the_repository_and_gone_with_it(ecr_public):
    catalog = ecr_public.create_repository(repositoryName="tool", catalogData={"logoImageBlob": PNG})["catalogData"]
    assert requests.get(catalog["logoUrl"], timeout=10).content == PNG
    ecr_public.put_repository_catalog_data(repositoryName="tool", catalogData={"description": "no logo"})
    assert requests.get(catalog["logoUrl"], timeout=10).status_code == 404
    ecr_public.put_repository_catalog_data(repositoryName="tool", catalogData={"logoImageBlob": PNG})
    ecr_public.delete_repository(repositoryName="tool")
    assert requests.get(catalog["logoUrl"], timeout=10).status_code == 404


def test_registry_catalog_data(ecr_public):
    assert ecr_public.get_registry_catalog_data()["registryCatalogData"] == {"displayName": ""}
    answer = ecr_public.put_registry_catalog_data(displayName="My Org")
    assert answer["registryCatalogData"] == {"displayName": "My Org"}
    assert ecr_public.get_registry_catalog_data()["registryCatalogData"] == {"displayName": "My Org"}
    # no displayName leaves it as it is
    assert ecr_public.put_registry_catalog_data()["registryCatalogData"] == {"displayName": "My Org"}


def test_describe_registries(ecr_public, ecr_emulator_server):
    registries = ecr_public.describe_registries()["registries"]
    assert registries == [{
        "registryId": ACCOUNT,
        "registryArn": f"arn:aws:ecr-public::{ACCOUNT}:registry/{ACCOUNT}",
        "registryUri": f"{ecr_emulator_server.public_host}/{ALIAS}",
        "verified": False,
        "aliases": [{"name": ALIAS, "status": "ACTIVE", "primaryRegistryAlias": True, "defaultRegistryAlias": True}],
    }]


def test_get_public_authorization_token(ecr_public):
    before = datetime.now(timezone.utc)
    data = ecr_public.get_authorization_token()["authorizationData"]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    assert before + timedelta(hours=12) - timedelta(minutes=1) <= data["expiresAt"]
    assert data["expiresAt"] <= before + timedelta(hours=12, minutes=1)


def test_public_repository_of_another_account_is_denied(ecr_public):
    with pytest.raises(ClientError) as info:
        ecr_public.describe_repositories(registryId=OTHER)
    assert error_of(info)["Code"] == "AccessDeniedException"


def test_public_name_is_limited_to_205(ecr_public):
    assert ecr_public.create_repository(repositoryName="a" * 205)["repository"]["repositoryName"] == "a" * 205


@pytest.mark.parametrize("catalog, member", [
    ({"description": "d" * 1025}, "catalogData.description"),
    ({"aboutText": "a" * 25601}, "catalogData.aboutText"),
    ({"usageText": "u" * 25601}, "catalogData.usageText"),
    ({"architectures": ["x86-64"] * 51}, "catalogData.architectures"),
    ({"architectures": ["a" * 51]}, "catalogData.architectures"),
    ({"operatingSystems": ["Linux"] * 51}, "catalogData.operatingSystems"),
    ({"logoImageBlob": PNG + b"\0" * 512_001}, "catalogData.logoImageBlob"),
    ({"logoImageBlob": b"GIF89a" + b"\0" * 16}, "catalogData.logoImageBlob"),
    ({"logoImageBlob": b"<svg onload=alert(1)>"}, "catalogData.logoImageBlob"),
], ids=["description", "about", "usage", "architectures", "architecture", "systems", "logo-size", "logo-gif",
        "logo-svg"])
def test_catalog_data_over_its_limits(ecr_public, catalog, member):
    ecr_public.create_repository(repositoryName="tool", catalogData={"description": "kept"})
    for call in (lambda: ecr_public.put_repository_catalog_data(repositoryName="tool", catalogData=catalog),
                 lambda: ecr_public.create_repository(repositoryName="other", catalogData=catalog)):
        with pytest.raises(ClientError) as info:
            call()
        assert error_of(info)["Code"] == "InvalidParameterException"
        assert member in error_of(info)["Message"]
    # nothing changed
    assert ecr_public.get_repository_catalog_data(repositoryName="tool")["catalogData"]["description"] == "kept"
    assert [r["repositoryName"] for r in ecr_public.describe_repositories()["repositories"]] == ["tool"]


def test_catalog_data_at_its_limits(ecr_public):
    catalog = {"description": "d" * 1024, "aboutText": "a" * 25600, "usageText": "u" * 25600,
               "architectures": ["x" * 50] * 50, "operatingSystems": ["Linux"] * 50,
               "logoImageBlob": PNG + b"\0" * (512_000 - len(PNG))}
    answer = ecr_public.create_repository(repositoryName="tool", catalogData=catalog)["catalogData"]
    assert answer["description"] == catalog["description"] and "logoUrl" in answer
    assert requests.get(answer["logoUrl"], timeout=10).content == catalog["logoImageBlob"]


def test_display_name_over_its_limit(ecr_public):
    with pytest.raises(ClientError) as info:
        ecr_public.put_registry_catalog_data(displayName="n" * 101)
    assert error_of(info)["Code"] == "InvalidParameterException"
    assert ecr_public.put_registry_catalog_data(displayName="n" * 100)["registryCatalogData"]["displayName"] == "n" * 100


@pytest.mark.parametrize("registry_id", ["UPPER", "has space", "-dash-first", "ab..c", "x" * 51, "9starts-with-digit"])
def test_an_invalid_alias_as_registry_id(ecr_public, registry_id):
    ecr_public.create_repository(repositoryName="tool")
    with pytest.raises(ClientError) as info:
        ecr_public.initiate_layer_upload(registryId=registry_id, repositoryName="tool")
    assert error_of(info)["Code"] == "InvalidParameterException"


def test_an_unknown_alias_as_registry_id(ecr_public):
    ecr_public.create_repository(repositoryName="tool")
    with pytest.raises(ClientError) as info:
        ecr_public.initiate_layer_upload(registryId="nobody-here", repositoryName="tool")
    assert error_of(info)["Code"] == "RegistryNotFoundException"
    upload = ecr_public.initiate_layer_upload(registryId=ALIAS, repositoryName="tool")
    assert upload["uploadId"]


@pytest.mark.parametrize("call", [
    lambda c: c.get_repository_catalog_data(repositoryName="missing"),
    lambda c: c.describe_images(repositoryName="missing"),
    lambda c: c.describe_image_tags(repositoryName="missing"),
    lambda c: c.put_image(repositoryName="missing", imageManifest="{}", imageTag="v1"),
    lambda c: c.initiate_layer_upload(repositoryName="missing"),
    lambda c: c.batch_delete_image(repositoryName="missing", imageIds=[{"imageTag": "v1"}]),
], ids=["catalog", "describe-images", "describe-image-tags", "put-image", "initiate-upload", "batch-delete"])
def test_unknown_repository(ecr_public, call):
    with pytest.raises(ClientError) as info:
        call(ecr_public)
    assert error_of(info)["Code"] == "RepositoryNotFoundException"
