"""skopeo against the emulator's registry: copy single-arch and multi-arch images in and out
with the credentials of GetAuthorizationToken, list tags, delete; digests verified end to end."""

from __future__ import annotations

import json

import pytest
import requests

from ecr_emulator.store.manifests import OCI_INDEX, OCI_MANIFEST
from ecr_emulator.testing.synthetic import digest_of, make_image, make_index, write_oci_layout

from ..registry.client import Registry, authorization_token, password_of
from ..tools import requires
from .conftest import SKOPEO

pytestmark = [
    pytest.mark.slow,
    requires(SKOPEO, "skopeo is not installed"),
]
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}


@pytest.fixture
def creds(ecr) -> str:
    return "AWS:" + password_of(authorization_token(ecr))


def _uri(ecr, name: str, **settings) -> str:
    return ecr.create_repository(repositoryName=name, **settings)["repository"]["repositoryUri"]


def _layout_manifest(path) -> tuple[str, bytes]:
    """The root manifest digest of an OCI layout and its bytes (verified against the digest)."""
    (entry,) = json.loads((path / "index.json").read_text())["manifests"]
    data = (path / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes()
    assert digest_of(data) == entry["digest"]
    return entry["digest"], data


def _blob(path, digest: str) -> bytes:
    data = (path / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    assert digest_of(data) == digest
    return data


def test_copy_a_single_arch_image_in_and_out(skopeo, ecr, creds, tmp_path):
    image = make_image("skopeo-single", layers=3, layer_bytes=200_000)
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    uri = _uri(ecr, "team/single")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:v1")

    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", creds, f"docker://{uri}:v1", f"oci:{out}:v1")
    digest, manifest = _layout_manifest(out)
    assert digest == image.digest and manifest == image.manifest
    for blob_digest, data in image.blobs.items():
        assert _blob(out, blob_digest) == data

    inspected = json.loads(skopeo("inspect", "--tls-verify=false", "--creds", creds, f"docker://{uri}:v1").stdout)
    assert inspected["Digest"] == image.digest
    assert inspected["Layers"] == [digest_of(layer) for layer in image.layers]
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", creds, f"docker://{uri}@{image.digest}").stdout
    assert raw.encode() == image.manifest


def test_copy_a_multi_arch_index_with_all(skopeo, ecr, creds, tmp_path, url):
    children = [make_image("skopeo-amd", arch="amd64"), make_image("skopeo-arm", arch="arm64")]
    index = make_index(children, [AMD64, ARM64])
    source = write_oci_layout(str(tmp_path / "src"), index, "multi")
    uri = _uri(ecr, "team/multi")
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:multi")

    out = tmp_path / "out"
    skopeo("copy", "--all", "--src-tls-verify=false", "--src-creds", creds, f"docker://{uri}:multi",
           f"oci:{out}:multi")
    digest, manifest = _layout_manifest(out)
    assert digest == index.digest and manifest == index.manifest
    for child in children:
        assert _blob(out, child.digest) == child.manifest
        for blob_digest, data in child.blobs.items():
            assert _blob(out, blob_digest) == data

    registry = Registry(url, authorization_token(ecr))
    got = registry.get("/v2/team/multi/manifests/multi", headers={"Accept": OCI_INDEX})
    assert got.content == index.manifest and got.headers["Content-Type"] == OCI_INDEX
    for child in children:
        head = registry.head(f"/v2/team/multi/manifests/{child.digest}", headers={"Accept": OCI_MANIFEST})
        assert head.status_code == 200


def test_describe_images_after_a_skopeo_push(skopeo, ecr, creds, tmp_path):
    image = make_image("skopeo-describe", layers=4, layer_bytes=30_000)
    uri = _uri(ecr, "team/described")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
           write_oci_layout(str(tmp_path / "src"), image, "v1"), f"docker://{uri}:v1")
    (detail,) = ecr.describe_images(repositoryName="team/described")["imageDetails"]
    assert detail["imageDigest"] == image.digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == sum(len(layer) for layer in image.layers)
    assert detail["imageManifestMediaType"] == OCI_MANIFEST


def test_list_tags_and_delete(skopeo, ecr, creds, tmp_path):
    image = make_image("skopeo-tags")
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    uri = _uri(ecr, "team/tags")
    for tag in ("v1", "v2", "latest"):
        skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:{tag}")
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", "--creds", creds, f"docker://{uri}").stdout)
    assert sorted(listed["Tags"]) == ["latest", "v1", "v2"]

    skopeo("delete", "--tls-verify=false", "--creds", creds, f"docker://{uri}@{image.digest}")
    listed = json.loads(skopeo("list-tags", "--tls-verify=false", "--creds", creds, f"docker://{uri}").stdout)
    assert listed["Tags"] == []
    missing = skopeo("inspect", "--tls-verify=false", "--creds", creds, f"docker://{uri}:v1", check=False)
    assert missing.returncode != 0 and "manifest unknown" in missing.stderr.lower()


def test_bad_credentials_and_immutable_tags_fail_with_the_registry_message(skopeo, ecr, creds, tmp_path):
    first, second = make_image("skopeo-first"), make_image("skopeo-second")
    uri = _uri(ecr, "team/locked", imageTagMutability="IMMUTABLE")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
           write_oci_layout(str(tmp_path / "a"), first, "v1"), f"docker://{uri}:v1")
    refused = skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
                     write_oci_layout(str(tmp_path / "b"), second, "v1"), f"docker://{uri}:v1", check=False)
    assert refused.returncode != 0
    assert "cannot be overwritten because the tag is immutable" in refused.stderr
    denied = skopeo("inspect", "--tls-verify=false", "--creds", "AWS:wrong", f"docker://{uri}:v1", check=False)
    assert denied.returncode != 0
    assert "unauthorized" in denied.stderr.lower() or "authentication required" in denied.stderr.lower()


def test_an_archived_image_cannot_be_copied_until_restored_and_a_push_restores_it(skopeo, ecr, creds, tmp_path,
                                                                                  url):
    image = make_image("skopeo-archive", layers=1)
    source = write_oci_layout(str(tmp_path / "src"), image, "v1")
    uri = _uri(ecr, "team/archived")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:v1")
    ecr.update_image_storage_class(repositoryName="team/archived", imageId={"imageTag": "v1"},
                                   targetStorageClass="ARCHIVE")
    pull = ["copy", "--src-tls-verify=false", "--src-creds", creds, f"docker://{uri}:v1", f"oci:{tmp_path / 'out'}:v1"]
    refused = skopeo(*pull, check=False)
    assert refused.returncode != 0 and "manifest unknown" in refused.stderr.lower()

    ecr.update_image_storage_class(repositoryName="team/archived", imageId={"imageTag": "v1"},
                                   targetStorageClass="STANDARD")
    assert skopeo(*pull, check=False).returncode != 0  # ACTIVATING
    requests.post(url + "/_emulator/clock/advance", json={"seconds": 20 * 60 + 1}, timeout=10)
    skopeo(*pull)
    assert _layout_manifest(tmp_path / "out") == (image.digest, image.manifest)

    # archived again, then pushed again: active at once
    ecr.update_image_storage_class(repositoryName="team/archived", imageId={"imageTag": "v1"},
                                   targetStorageClass="ARCHIVE")
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:v1")
    status = ecr.describe_images(repositoryName="team/archived")["imageDetails"][0]["imageStatus"]
    assert status == "ACTIVE"
