"""The plugin's fixtures, used by this suite as any project would use them."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import timedelta

import pytest

from ecr_emulator.testing import PushError
from ecr_emulator.testing.synthetic import make_layer


def test_push_an_image_and_read_it_back(ecr_emulator_ecr, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="team/app")
    image = ecr_emulator_push_image("team/app", "v1", files={"hello.txt": b"hello"})
    [detail] = ecr_emulator_ecr.describe_images(repositoryName="team/app")["imageDetails"]
    assert detail["imageDigest"] == image.digest and detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == sum(len(layer) for layer in image.layers)
    [got] = ecr_emulator_ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]
    assert got["imageManifest"].encode() == image.manifest


def test_push_given_layers_and_files(ecr_emulator_ecr, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="app")
    base = make_layer({"etc/os-release": b"ID=test\n"})
    image = ecr_emulator_push_image("app", "v2", layers=[base, {"bin/tool": b"#!/bin/sh\n"}], files={"app": b"x"})
    assert len(image.layers) == 3 and image.layers[0] == base
    answer = ecr_emulator_ecr.batch_check_layer_availability(
        repositoryName="app", layerDigests=[layer["digest"] for layer in json.loads(image.manifest)["layers"]])
    assert [a["layerAvailability"] for a in answer["layers"]] == ["AVAILABLE"] * 3


def test_push_by_digest_only(ecr_emulator_ecr, ecr_emulator_push_image):
    ecr_emulator_ecr.create_repository(repositoryName="app")
    image = ecr_emulator_push_image("app", None)
    [detail] = ecr_emulator_ecr.describe_images(repositoryName="app")["imageDetails"]
    assert detail["imageDigest"] == image.digest and "imageTags" not in detail


def test_push_to_a_missing_repository_says_why(ecr_emulator_push_image):
    with pytest.raises(PushError, match="NAME_UNKNOWN"):
        ecr_emulator_push_image("nope", "v1")


def test_login_opens_the_registry(ecr_emulator_login, ecr_emulator_url):
    assert ecr_emulator_login.username == "AWS"
    assert ecr_emulator_login.creds == f"AWS:{ecr_emulator_login.password}"
    assert ecr_emulator_login.endpoint == ecr_emulator_url
    basic = base64.b64encode(ecr_emulator_login.creds.encode()).decode()
    request = urllib.request.Request(f"http://{ecr_emulator_login.registry}/v2/",
                                     headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_clock_advances_in_one_call(ecr_emulator_ecr, ecr_emulator_clock):
    before = ecr_emulator_clock.now()
    after = ecr_emulator_clock.advance(days=30, hours=1)
    assert after - before >= timedelta(days=30, hours=1)
    created = ecr_emulator_ecr.create_repository(repositoryName="later")["repository"]["createdAt"]
    assert created >= after - timedelta(seconds=1)


def test_clients_of_other_accounts_and_regions(ecr_emulator_client, ecr_emulator_ecr_public):
    eu = ecr_emulator_client("ecr", account="111111111111", region="eu-west-1")
    arn = eu.create_repository(repositoryName="app")["repository"]["repositoryArn"]
    assert arn == "arn:aws:ecr:eu-west-1:111111111111:repository/app"
    public = ecr_emulator_ecr_public.create_repository(repositoryName="pub")["repository"]
    assert public["repositoryName"] == "pub"


def test_every_test_starts_empty(ecr_emulator_ecr):
    """The reset before each test: a repository another test made is not here."""
    assert ecr_emulator_ecr.describe_repositories()["repositories"] == []
    ecr_emulator_ecr.create_repository(repositoryName="team/app")
