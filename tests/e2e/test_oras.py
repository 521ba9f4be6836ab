"""oras-py against the emulator's registry: push and pull an artifact, push a referrer with a
``subject`` (the registry answers ``OCI-Subject``), find it through the referrers API."""

from __future__ import annotations

import hashlib
import os

import pytest

from ecr_emulator.store.manifests import OCI_INDEX

from ..registry.client import Registry, authorization_token, password_of
from ..tools import import_client

oras_client = import_client("oras.client")
import oras.defaults  # noqa: E402
import oras.oci  # noqa: E402

pytestmark = pytest.mark.slow
SBOM = "application/vnd.example.sbom.v1"


@pytest.fixture
def client(url, ecr):
    host = url.split("://", 1)[1]
    client = oras_client.OrasClient(hostname=host, insecure=True, auth_backend="basic")
    client.auth.set_basic_auth("AWS", password_of(authorization_token(ecr)))
    return client


@pytest.fixture
def registry(url, ecr):
    return Registry(url, authorization_token(ecr))


def _file(path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("chunked", [False, True], ids=["monolithic", "chunked"])
def test_push_and_pull_an_artifact(client, ecr, url, tmp_path, chunked):
    ecr.create_repository(repositoryName="oras/art")
    host = url.split("://", 1)[1]
    payload = _file(tmp_path / "artifact.txt", "hello oras\n" * 5000)
    response = client.push(target=f"{host}/oras/art:v1", files=[f"{payload}:text/plain"],
                         manifest_annotations={"org.example.key": "value"}, disable_path_validation=True,
                         do_chunked=chunked, chunk_size=16 * 1024, quiet=True)
    assert response.status_code == 201
    assert response.headers["Docker-Content-Digest"].startswith("sha256:")
    assert client.get_tags(f"{host}/oras/art") == ["v1"]
    manifest = client.get_manifest(f"{host}/oras/art:v1")
    assert manifest["annotations"]["org.example.key"] == "value"
    out = tmp_path / "out"
    pulled = client.pull(target=f"{host}/oras/art:v1", outdir=str(out))
    assert [os.path.basename(p) for p in pulled] == ["artifact.txt"]
    assert (out / "artifact.txt").read_text() == "hello oras\n" * 5000


def test_referrer_with_a_subject_is_found_through_the_referrers_api(client, registry, ecr, url, tmp_path):
    ecr.create_repository(repositoryName="oras/app")
    host = url.split("://", 1)[1]
    payload = _file(tmp_path / "app.txt", "the subject\n")
    pushed = client.push(target=f"{host}/oras/app:v1", files=[f"{payload}:text/plain"],
                       disable_path_validation=True, quiet=True)
    subject_digest = pushed.headers["Docker-Content-Digest"]
    raw = registry.get("/v2/oras/app/manifests/v1", headers={"Accept": oras.defaults.default_manifest_media_type})
    assert "sha256:" + hashlib.sha256(raw.content).hexdigest() == subject_digest
    subject = oras.oci.Subject(mediaType=raw.headers["Content-Type"], digest=subject_digest, size=len(raw.content))

    sbom = _file(tmp_path / "sbom.json", '{"sbom": true}\n')
    config = _file(tmp_path / "config.json", "{}")
    answer = client.push(target=f"{host}/oras/app:sbom", files=[f"{sbom}:application/spdx+json"], subject=subject,
                       manifest_config=f"{config}:{SBOM}", manifest_annotations={"org.example.kind": "sbom"},
                       disable_path_validation=True, quiet=True)
    assert answer.status_code == 201
    assert answer.headers["OCI-Subject"] == subject_digest
    referrer_digest = answer.headers["Docker-Content-Digest"]

    listing = registry.get(f"/v2/oras/app/referrers/{subject_digest}")
    assert listing.status_code == 200 and listing.headers["Content-Type"] == OCI_INDEX
    (entry,) = listing.json()["manifests"]
    assert entry["digest"] == referrer_digest
    assert entry["artifactType"] == SBOM
    assert entry["annotations"]["org.example.kind"] == "sbom"
    filtered = registry.get(f"/v2/oras/app/referrers/{subject_digest}", params={"artifactType": "other/type"})
    assert filtered.json()["manifests"] == [] and filtered.headers["OCI-Filters-Applied"] == "artifactType"

    # the same referrer through the control plane
    (referrer,) = ecr.list_image_referrers(repositoryName="oras/app", subjectId={"imageDigest": subject_digest})[
        "referrers"]
    assert (referrer["digest"], referrer["artifactType"]) == (referrer_digest, SBOM)
    assert referrer["annotations"]["org.example.kind"] == "sbom"
    assert ecr.list_image_referrers(repositoryName="oras/app", subjectId={"imageDigest": subject_digest},
                                    filter={"artifactTypes": ["other/type"]})["referrers"] == []

    out = tmp_path / "out"
    client.pull(target=f"{host}/oras/app@{referrer_digest}", outdir=str(out))
    assert (out / "sbom.json").read_text() == '{"sbom": true}\n'
    assert sorted(client.get_tags(f"{host}/oras/app")) == ["sbom", "v1"]
    assert client.delete_tag(f"{host}/oras/app", "sbom")
    assert client.get_tags(f"{host}/oras/app") == ["v1"]
