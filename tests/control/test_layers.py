"""The layer API (BatchCheckLayerAvailability, Initiate/UploadLayerPart/CompleteLayerUpload,
GetDownloadUrlForLayer), through checked boto3 clients against the real server.

``upload_blob`` and ``push_image`` are also used by test_images.py and the cross-door e2e tests.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import OCI_CONFIG, OCI_LAYER, digest_of, make_image

MIB = 1024 * 1024


def upload_blob(client, repo: str, data: bytes, part_size: int | None = None, **kwargs) -> str:
    """Upload ``data`` with Initiate/UploadLayerPart/CompleteLayerUpload; returns the digest."""
    upload = client.initiate_layer_upload(repositoryName=repo, **kwargs)
    size = part_size or upload["partSize"]
    for first in range(0, len(data), size):
        part = data[first:first + size]
        answer = client.upload_layer_part(
            repositoryName=repo, uploadId=upload["uploadId"], partFirstByte=first,
            partLastByte=first + len(part) - 1, layerPartBlob=part, **kwargs,
        )
        assert answer["lastByteReceived"] == first + len(part) - 1
    done = client.complete_layer_upload(repositoryName=repo, uploadId=upload["uploadId"],
                                        layerDigests=[digest_of(data)], **kwargs)
    assert done["layerDigest"] == digest_of(data)
    return done["layerDigest"]


def push_image(client, repo: str, image, tag: str | None = None, **kwargs) -> dict:
    """Push ``image`` the way the ECR proxy does: check, upload what is missing, PutImage."""
    blobs = getattr(image, "blobs", {})
    if blobs:
        checked = client.batch_check_layer_availability(repositoryName=repo, layerDigests=list(blobs), **kwargs)
        present = {layer["layerDigest"] for layer in checked["layers"]}
        for digest, data in blobs.items():
            if digest not in present:
                upload_blob(client, repo, data, **kwargs)
    put = {"repositoryName": repo, "imageManifest": image.manifest.decode(), **kwargs}
    if tag is not None:
        put["imageTag"] = tag
    return client.put_image(**put)["image"]


def error_of(info) -> dict:
    return info.value.response["Error"]


@pytest.fixture
def repo(ecr):
    ecr.create_repository(repositoryName="app")
    return "app"


def _upload(ecr, repo):
    return ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]


def _part(ecr, repo, upload_id, first, data, last=None):
    return ecr.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=first,
                                 partLastByte=first + len(data) - 1 if last is None else last,
                                 layerPartBlob=data)


# -- uploads -------------------------------------------------------------------------------

def test_initiate_layer_upload_answers_an_upload_id_and_part_size(ecr, repo):
    answer = ecr.initiate_layer_upload(repositoryName=repo)
    assert len(answer["uploadId"]) == 36
    assert 5 * MIB <= answer["partSize"] <= 20 * MIB


def test_single_part_upload_links_the_layer(ecr, repo):
    data = b"layer bytes" * 100
    digest = upload_blob(ecr, repo, data)
    layers = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert layers["failures"] == []
    # no manifest names its media type yet
    assert layers["layers"] == [{"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": len(data)}]


def test_upload_layer_part_answers_where_the_upload_stands(ecr, repo):
    upload_id = _upload(ecr, repo)
    answer = _part(ecr, repo, upload_id, 0, b"abc")
    assert answer == {"registryId": "123456789012", "repositoryName": repo, "uploadId": upload_id,
                      "lastByteReceived": 2, "ResponseMetadata": answer["ResponseMetadata"]}


def test_multi_part_upload_with_a_5_mib_first_part(ecr, repo):
    data = hashlib.sha256(b"seed").digest() * (5 * MIB // 32) + b"tail" * 1000
    digest = upload_blob(ecr, repo, data, part_size=5 * MIB)
    assert digest == digest_of(data)
    layer = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])["layers"][0]
    assert layer["layerSize"] == len(data)


def test_three_parts_of_5_mib_5_mib_and_1_byte(ecr, repo):
    data = bytes(range(256)) * (10 * MIB // 256) + b"!"
    assert upload_blob(ecr, repo, data, part_size=5 * MIB) == digest_of(data)


def test_non_final_part_under_5_mib_is_refused_at_completion_message_is_ours(ecr, repo):
    upload_id = _upload(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"a" * 1024)
    _part(ecr, repo, upload_id, 1024, b"b" * 1024)
    with pytest.raises(ClientError) as info:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id,
                                  layerDigests=[digest_of(b"a" * 1024 + b"b" * 1024)])
    assert error_of(info) == {"Code": "LayerPartTooSmallException",
                              "Message": "All layer parts except the last part should be at least 5MB"}


def test_part_that_does_not_follow_the_last_byte_is_refused(ecr, repo):
    upload_id = _upload(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"0123456789")
    for first in (5, 11, 0):
        with pytest.raises(ClientError) as info:
            _part(ecr, repo, upload_id, first, b"xyz")
        error = error_of(info)
        assert error["Code"] == "InvalidLayerPartException"
        body = info.value.response
        assert body["lastValidByteReceived"] == 9
        assert body["uploadId"] == upload_id
        assert body["repositoryName"] == repo
        assert body["registryId"] == "123456789012"
    # the upload is intact and continues where it stood
    assert _part(ecr, repo, upload_id, 10, b"abc")["lastByteReceived"] == 12


def test_first_part_must_start_at_byte_zero(ecr, repo):
    upload_id = _upload(ecr, repo)
    with pytest.raises(ClientError) as info:
        _part(ecr, repo, upload_id, 5, b"123456")
    assert error_of(info)["Code"] == "InvalidLayerPartException"
    assert "lastValidByteReceived" not in info.value.response


def test_part_range_must_match_the_blob_length(ecr, repo):
    upload_id = _upload(ecr, repo)
    with pytest.raises(ClientError) as info:
        _part(ecr, repo, upload_id, 0, b"123456", last=9)
    assert error_of(info)["Code"] == "InvalidLayerPartException"


def test_unknown_upload_id(ecr, repo):
    bogus = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as info:
        _part(ecr, repo, bogus, 0, b"x")
    assert error_of(info)["Code"] == "UploadNotFoundException"
    with pytest.raises(ClientError) as info:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=bogus, layerDigests=[digest_of(b"x")])
    assert error_of(info)["Code"] == "UploadNotFoundException"


def test_upload_id_belongs_to_its_repository(ecr, repo):
    ecr.create_repository(repositoryName="other")
    upload_id = _upload(ecr, "other")
    with pytest.raises(ClientError) as info:
        _part(ecr, repo, upload_id, 0, b"x")
    assert error_of(info)["Code"] == "UploadNotFoundException"


def test_completing_an_empty_upload(ecr, repo):
    upload_id = _upload(ecr, repo)
    with pytest.raises(ClientError) as info:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest_of(b"")])
    assert error_of(info)["Code"] == "EmptyUploadException"


def test_completing_with_the_wrong_digest(ecr, repo):
    upload_id = _upload(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"data")
    with pytest.raises(ClientError) as info:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest_of(b"other")])
    assert error_of(info)["Code"] == "InvalidLayerException"
    # nothing was linked
    failures = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest_of(b"other")])
    assert failures["failures"][0]["failureCode"] == "MissingLayerDigest"


def test_completed_upload_is_gone(ecr, repo):
    upload_id = _upload(ecr, repo)
    _part(ecr, repo, upload_id, 0, b"data")
    ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest_of(b"data")])
    with pytest.raises(ClientError) as info:
        _part(ecr, repo, upload_id, 4, b"more")
    assert error_of(info)["Code"] == "UploadNotFoundException"


def test_uploading_a_layer_the_repository_has(ecr, repo):
    upload_blob(ecr, repo, b"same content")
    with pytest.raises(ClientError) as info:
        upload_blob(ecr, repo, b"same content")
    assert error_of(info)["Code"] == "LayerAlreadyExistsException"
    # the same bytes in another repository are a new layer there
    ecr.create_repository(repositoryName="other")
    assert upload_blob(ecr, "other", b"same content") == digest_of(b"same content")


def test_layer_operations_on_a_missing_repository(ecr):
    with pytest.raises(ClientError) as info:
        ecr.initiate_layer_upload(repositoryName="nope")
    assert error_of(info) == {
        "Code": "RepositoryNotFoundException",
        "Message": "The repository with name 'nope' does not exist in the registry with id '123456789012'",
    }
    for call in (
        lambda: ecr.batch_check_layer_availability(repositoryName="nope", layerDigests=[digest_of(b"")]),
        lambda: ecr.get_download_url_for_layer(repositoryName="nope", layerDigest=digest_of(b"")),
        lambda: ecr.complete_layer_upload(repositoryName="nope", uploadId="00000000-0000-0000-0000-000000000000",
                                          layerDigests=[digest_of(b"")]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_of(info)["Code"] == "RepositoryNotFoundException"


# -- availability --------------------------------------------------------------------------

def test_batch_check_layer_availability_after_a_push(ecr, repo):
    image = make_image("check")
    push_image(ecr, repo, image, "v1")
    config, *layers = image.blobs
    missing = digest_of(b"never pushed")
    answer = ecr.batch_check_layer_availability(
        repositoryName=repo, layerDigests=[config, *layers, missing, "not-a-digest", ""])
    assert answer["layers"] == [
        {"layerDigest": config, "layerAvailability": "AVAILABLE", "layerSize": len(image.config),
         "mediaType": OCI_CONFIG},
        *({"layerDigest": digest, "layerAvailability": "AVAILABLE", "layerSize": len(image.blobs[digest]),
           "mediaType": OCI_LAYER} for digest in layers),
    ]
    assert answer["failures"] == [
        {"layerDigest": missing, "failureCode": "MissingLayerDigest", "failureReason": "Could not find layer"},
        {"layerDigest": "not-a-digest", "failureCode": "InvalidLayerDigest",
         "failureReason": "Invalid request parameters: layer digest should satisfy the regex "
                          "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
        {"layerDigest": "", "failureCode": "InvalidLayerDigest",
         "failureReason": "Invalid request parameters: layer digest should satisfy the regex "
                          "'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"},
    ]


def test_layers_are_per_repository(ecr, repo):
    digest = upload_blob(ecr, repo, b"only here")
    ecr.create_repository(repositoryName="other")
    answer = ecr.batch_check_layer_availability(repositoryName="other", layerDigests=[digest])
    assert answer["layers"] == []
    assert answer["failures"][0]["failureCode"] == "MissingLayerDigest"


# -- downloads -----------------------------------------------------------------------------

def test_get_download_url_for_layer_serves_the_exact_bytes(ecr, repo, ecr_emulator_server):
    """An S3-style pre-signed URL on the download listener (another origin than the API), which
    serves the bytes without credentials and refuses them with an Authorization header."""
    image = make_image("download", layers=1, layer_bytes=300_000)
    push_image(ecr, repo, image, "v1")
    layer = image.layers[0]
    answer = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest_of(layer))
    assert answer["layerDigest"] == digest_of(layer)
    download = answer["downloadUrl"]
    assert download.startswith(f"{ecr_emulator_server.download_url}/")
    assert ecr_emulator_server.download_url != ecr_emulator_server.url
    query = parse_qs(urlsplit(download).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["3600"]
    assert {"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"} <= set(query)
    fetched = requests.get(download, timeout=30)
    assert fetched.status_code == 200
    assert fetched.content == layer
    ranged = requests.get(download, headers={"Range": "bytes=10-19"}, timeout=30)
    assert (ranged.status_code, ranged.content) == (206, layer[10:20])
    refused = requests.get(download, headers={"Authorization": "Basic eDp5"}, timeout=30)
    assert refused.status_code == 400
    assert "<Code>InvalidArgument</Code>" in refused.text
    assert "Only one auth mechanism allowed" in refused.text
    config = ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest_of(image.config))
    assert requests.get(config["downloadUrl"], timeout=30).content == image.config


def test_download_url_of_an_unknown_layer(ecr, repo):
    with pytest.raises(ClientError) as info:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest_of(b"nothing"))
    assert error_of(info)["Code"] == "LayersNotFoundException"


def test_download_url_of_a_layer_no_image_references(ecr, repo):
    digest = upload_blob(ecr, repo, b"uploaded, never pushed with a manifest")
    with pytest.raises(ClientError) as info:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest)
    assert error_of(info)["Code"] == "LayerInaccessibleException"


def test_download_url_after_the_image_is_deleted(ecr, repo):
    image = make_image("gone", layers=1)
    pushed = push_image(ecr, repo, image, "v1")
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageDigest": pushed["imageId"]["imageDigest"]}])
    with pytest.raises(ClientError) as info:
        ecr.get_download_url_for_layer(repositoryName=repo, layerDigest=digest_of(image.layers[0]))
    assert error_of(info)["Code"] == "LayerInaccessibleException"


# -- ECR Public ----------------------------------------------------------------------------

def test_public_push_by_alias_and_read_back(ecr_public):
    ecr_public.create_repository(repositoryName="pub")
    image = make_image("public")
    for registry_id in ("public-123456789012", "123456789012"):
        upload = ecr_public.initiate_layer_upload(repositoryName="pub", registryId=registry_id)
        assert len(upload["uploadId"]) == 36
    pushed = push_image(ecr_public, "pub", image, "v1", registryId="public-123456789012")
    assert pushed["imageId"] == {"imageDigest": image.digest, "imageTag": "v1"}
    assert pushed["registryId"] == "123456789012"
    detail = ecr_public.describe_images(repositoryName="pub")["imageDetails"][0]
    assert detail["imageDigest"] == image.digest
    assert detail["imageSizeInBytes"] == image.layer_size
    assert detail["imageTags"] == ["v1"]
    tags = ecr_public.describe_image_tags(repositoryName="pub")["imageTagDetails"]
    assert [t["imageTag"] for t in tags] == ["v1"]
    assert tags[0]["imageDetail"]["imageDigest"] == image.digest
    assert tags[0]["imageDetail"]["imageSizeInBytes"] == image.layer_size
    deleted = ecr_public.batch_delete_image(repositoryName="pub", registryId="public-123456789012",
                                            imageIds=[{"imageTag": "v1"}])
    assert deleted["imageIds"] == [{"imageDigest": image.digest, "imageTag": "v1"}]
    assert ecr_public.describe_images(repositoryName="pub")["imageDetails"] == []


def test_public_tag_times_are_when_each_tag_was_set(ecr_public, url):
    ecr_public.create_repository(repositoryName="pub")
    image = make_image("tagged")
    push_image(ecr_public, "pub", image, "first")
    advanced = requests.post(url + "/_emulator/clock/advance", json={"seconds": 3600}, timeout=10)
    assert advanced.status_code == 200
    ecr_public.put_image(repositoryName="pub", imageManifest=image.manifest.decode(), imageTag="second")
    tags = {t["imageTag"]: t for t in ecr_public.describe_image_tags(repositoryName="pub")["imageTagDetails"]}
    pushed_at = tags["first"]["imageDetail"]["imagePushedAt"]
    assert tags["first"]["createdAt"] == pushed_at
    assert 3599 <= (tags["second"]["createdAt"] - pushed_at).total_seconds() <= 3700
    assert tags["second"]["imageDetail"]["imagePushedAt"] == pushed_at


def test_public_unknown_alias(ecr_public):
    ecr_public.create_repository(repositoryName="pub")
    with pytest.raises(ClientError) as info:
        ecr_public.initiate_layer_upload(repositoryName="pub", registryId="no-such-alias")
    assert error_of(info)["Code"] == "RegistryNotFoundException"


def test_public_layer_part_errors(ecr_public):
    ecr_public.create_repository(repositoryName="pub")
    upload_id = ecr_public.initiate_layer_upload(repositoryName="pub")["uploadId"]
    with pytest.raises(ClientError) as info:
        ecr_public.upload_layer_part(repositoryName="pub", uploadId=upload_id, partFirstByte=3,
                                     partLastByte=5, layerPartBlob=b"abc")
    assert error_of(info)["Code"] == "InvalidLayerPartException"
