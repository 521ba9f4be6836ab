"""One store, two doors: images pushed through the ECR API are pulled with skopeo through the
registry, and images pushed with skopeo are read back through the ECR API.

Needs the OCI registry data plane (``/v2/``) and skopeo; skipped when either is missing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError

from ecr_emulator.testing.synthetic import OCI_MANIFEST, digest_of, make_image, make_index, write_oci_layout

from ..control.test_layers import error_of, push_image
from ..tools import need

pytestmark = pytest.mark.slow

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}


@pytest.fixture
def registry(url):
    """The server's URL, once skopeo is known to be installed."""
    need(os.path.exists(SKOPEO), "skopeo is not installed")
    return url


@pytest.fixture
def password(ecr) -> str:
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, secret = base64.b64decode(token).decode().partition(":")
    assert user == "AWS"
    return secret


def skopeo(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
    assert done.returncode == 0, f"skopeo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def repository_uri(ecr, name: str, **settings) -> str:
    return ecr.create_repository(repositoryName=name, **settings)["repository"]["repositoryUri"]


def read_layout(path: str) -> tuple[str, dict[str, bytes]]:
    """The root manifest digest of an OCI layout and its blobs by digest."""
    with open(os.path.join(path, "index.json")) as f:
        root = json.load(f)["manifests"][0]["digest"]
    blob_dir = os.path.join(path, "blobs", "sha256")
    blobs = {}
    for name in os.listdir(blob_dir):
        with open(os.path.join(blob_dir, name), "rb") as f:
            blobs[f"sha256:{name}"] = f.read()
    return root, blobs


def test_pushed_with_the_layer_api_pulled_with_skopeo(registry, ecr, password, tmp_path):
    uri = repository_uri(ecr, "cross/api-to-skopeo")
    image = make_image("api-push", layers=3, layer_bytes=50_000)
    push_image(ecr, "cross/api-to-skopeo", image, "v1")
    out = tmp_path / "pulled"
    skopeo("copy", "--preserve-digests", "--src-creds", f"AWS:{password}", "--src-tls-verify=false",
           f"docker://{uri}:v1", f"oci:{out}:v1")
    root, blobs = read_layout(str(out))
    assert root == image.digest
    assert blobs[image.digest] == image.manifest
    for digest, data in image.blobs.items():
        assert blobs[digest] == data
        assert digest_of(blobs[digest]) == digest
    # the pull through the registry is a pull
    assert ecr.describe_images(repositoryName="cross/api-to-skopeo")["imageDetails"][0].get("lastRecordedPullTime")


def test_index_pushed_with_the_layer_api_pulled_with_skopeo(registry, ecr, password, tmp_path):
    uri = repository_uri(ecr, "cross/api-index")
    amd, arm = make_image("amd", arch="amd64"), make_image("arm", arch="arm64")
    push_image(ecr, "cross/api-index", amd)
    push_image(ecr, "cross/api-index", arm)
    index = make_index([amd, arm], [AMD64, ARM64])
    push_image(ecr, "cross/api-index", index, "multi")
    out = tmp_path / "pulled"
    skopeo("copy", "--all", "--preserve-digests", "--src-creds", f"AWS:{password}", "--src-tls-verify=false",
           f"docker://{uri}:multi", f"oci:{out}:multi")
    root, blobs = read_layout(str(out))
    assert root == index.digest
    for image in (amd, arm):
        assert blobs[image.digest] == image.manifest
        assert all(blobs[d] == data for d, data in image.blobs.items())


def test_pushed_with_skopeo_read_back_with_the_api(registry, ecr, password, tmp_path):
    uri = repository_uri(ecr, "cross/skopeo-to-api")
    image = make_image("skopeo-push", layers=2, layer_bytes=80_000)
    source = write_oci_layout(str(tmp_path / "layout"), image, "v1")
    skopeo("copy", "--preserve-digests", "--dest-creds", f"AWS:{password}", "--dest-tls-verify=false",
           source, f"docker://{uri}:v1")

    (detail,) = ecr.describe_images(repositoryName="cross/skopeo-to-api")["imageDetails"]
    assert detail["imageDigest"] == image.digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == image.layer_size
    assert detail["imageManifestMediaType"] == OCI_MANIFEST

    got = ecr.batch_get_image(repositoryName="cross/skopeo-to-api", imageIds=[{"imageTag": "v1"}])
    assert got["failures"] == []
    manifest = got["images"][0]["imageManifest"]
    assert digest_of(manifest.encode()) == image.digest
    for descriptor in [json.loads(manifest)["config"], *json.loads(manifest)["layers"]]:
        answer = ecr.get_download_url_for_layer(repositoryName="cross/skopeo-to-api",
                                                layerDigest=descriptor["digest"])
        fetched = requests.get(answer["downloadUrl"], timeout=30)
        assert fetched.status_code == 200
        assert fetched.content == image.blobs[descriptor["digest"]]

    layers = ecr.batch_check_layer_availability(repositoryName="cross/skopeo-to-api", layerDigests=list(image.blobs))
    assert layers["failures"] == []
    assert {layer["layerDigest"]: layer["layerSize"] for layer in layers["layers"]} == {
        digest: len(data) for digest, data in image.blobs.items()}


def test_immutable_tag_pushed_with_skopeo_refuses_put_image(registry, ecr, password, tmp_path):
    uri = repository_uri(ecr, "cross/immutable", imageTagMutability="IMMUTABLE")
    first, second = make_image("first"), make_image("second")
    source = write_oci_layout(str(tmp_path / "layout"), first, "v1")
    skopeo("copy", "--preserve-digests", "--dest-creds", f"AWS:{password}", "--dest-tls-verify=false",
           source, f"docker://{uri}:v1")
    push_image(ecr, "cross/immutable", second)  # blobs and an untagged image
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName="cross/immutable", imageManifest=second.manifest.decode(), imageTag="v1")
    assert error_of(info)["Code"] == "ImageTagAlreadyExistsException"
    with pytest.raises(ClientError) as info:
        ecr.put_image(repositoryName="cross/immutable", imageManifest=first.manifest.decode(), imageTag="v1")
    assert error_of(info)["Code"] == "ImageAlreadyExistsException"
    tags = ecr.list_images(repositoryName="cross/immutable", filter={"tagStatus": "TAGGED"})["imageIds"]
    assert tags == [{"imageDigest": first.digest, "imageTag": "v1"}]


def test_put_image_tag_is_pulled_by_skopeo(registry, ecr, password, tmp_path):
    """A tag added with PutImage (retagging, no blob upload) is served by the registry."""
    uri = repository_uri(ecr, "cross/retag")
    image = make_image("retag")
    source = write_oci_layout(str(tmp_path / "layout"), image, "v1")
    skopeo("copy", "--preserve-digests", "--dest-creds", f"AWS:{password}", "--dest-tls-verify=false",
           source, f"docker://{uri}:v1")
    manifest = ecr.batch_get_image(repositoryName="cross/retag", imageIds=[{"imageTag": "v1"}])["images"][0]
    ecr.put_image(repositoryName="cross/retag", imageManifest=manifest["imageManifest"], imageTag="release")
    inspected = json.loads(skopeo("inspect", "--raw", "--creds", f"AWS:{password}", "--tls-verify=false",
                                  f"docker://{uri}:release").stdout)
    assert inspected == json.loads(image.manifest)
