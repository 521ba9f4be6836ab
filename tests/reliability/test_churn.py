"""Garbage under churn, at the default settings (no shortened grace, no clock advance): the blobs
of deleted images are freed seconds after the deletes, while a blob a push in flight may still
name survives (mounted, checked with HEAD, or checked before the delete by a push whose upload
is still going). Small sizes; the RSS figures of a real churn are in ``scripts/soak.py``."""

from __future__ import annotations

import json
import time

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from ..registry.client import Registry

#: wall-clock seconds a test waits at most for the collector (the default grace is 3 s)
DEADLINE = 45


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--no-access-log", "--no-registry-auth") as running:
        yield running


@pytest.fixture
def fresh(server):
    requests.post(server.url + "/_emulator/reset", timeout=10).raise_for_status()
    ecr = checked_client("ecr", server.url)
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    for name in ("churn/a", "churn/b", "churn/control"):
        ecr.create_repository(repositoryName=name)
    return ecr, Registry(server.url)


def _gone(registry: Registry, repo: str, digest: str) -> bool:
    """GET, not HEAD: a HEAD is a pushing client's check, which keeps a released blob."""
    return registry.get(f"/v2/{repo}/blobs/{digest}").status_code == 404


def _wait_until_gone(registry: Registry, repo: str, digests, keep_alive=lambda: None) -> float:
    """Seconds until every digest is BLOB_UNKNOWN in ``repo`` (``keep_alive`` runs in between)."""
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE:
        keep_alive()
        if all(_gone(registry, repo, d) for d in digests):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{list(digests)} still in {repo} after {DEADLINE} s")


def _released_control(ecr, registry: Registry) -> list[str]:
    """An image pushed and deleted in churn/control: its blobs' collection shows a collection
    past the grace has run (nothing protects them)."""
    control = make_image("control")
    registry.push_image("churn/control", control, "v1")
    ecr.batch_delete_image(repositoryName="churn/control", imageIds=[{"imageTag": "v1"}])
    return list(control.blobs)


def test_deleted_images_blobs_are_freed_within_seconds(server, fresh):
    ecr, registry = fresh
    images = [make_image(f"churn{i}", layers=2, layer_bytes=256 << 10) for i in range(6)]
    for i, image in enumerate(images):
        registry.push_image("churn/a", image, f"v{i}")
        ecr.batch_delete_image(repositoryName="churn/a", imageIds=[{"imageTag": f"v{i}"}])
    digests = [d for image in images for d in image.blobs]
    _wait_until_gone(registry, "churn/a", digests)
    for digest in digests[:2]:
        response = registry.get(f"/v2/churn/a/blobs/{digest}")
        assert response.status_code == 404 and response.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
    stats = requests.get(server.url + "/_emulator/stats", timeout=10).json()
    assert stats["blobs"] == 0 and stats["blobBytes"] == 0


def test_a_blob_mounted_during_a_push_survives(fresh):
    ecr, registry = fresh
    first = make_image("mounted", layers=1)
    registry.push_image("churn/a", first, "v1")
    ecr.batch_delete_image(repositoryName="churn/a", imageIds=[{"imageTag": "v1"}])
    # another push mounts the released layer (and the config) into churn/b, then takes its time
    for digest in first.blobs:
        response = registry.post("/v2/churn/b/blobs/uploads/", params={"mount": digest, "from": "churn/a"})
        assert response.status_code == 201, response.text
    _wait_until_gone(registry, "churn/a", first.blobs)  # the source's link went with its grace
    _wait_until_gone(registry, "churn/control", _released_control(ecr, registry))
    response = registry.put_manifest("churn/b", "v1", first.manifest, first.media_type)
    assert response.status_code == 201, response.text
    for digest, data in first.blobs.items():
        assert registry.get(f"/v2/churn/b/blobs/{digest}").content == data


def test_a_blob_checked_with_head_after_the_delete_survives(fresh):
    ecr, registry = fresh
    first = make_image("checked", layers=1)
    registry.push_image("churn/a", first, "v1")
    ecr.batch_delete_image(repositoryName="churn/a", imageIds=[{"imageTag": "v1"}])
    for digest in first.blobs:  # a client pushing the same image again: "already exists", skip it
        assert registry.head(f"/v2/churn/a/blobs/{digest}").status_code == 200
    _wait_until_gone(registry, "churn/control", _released_control(ecr, registry))
    response = registry.put_manifest("churn/a", "v2", first.manifest, first.media_type)
    assert response.status_code == 201, response.text
    checked = ecr.batch_check_layer_availability(repositoryName="churn/a", layerDigests=list(first.blobs))
    assert {layer["layerDigest"] for layer in checked["layers"]} == set(first.blobs)


def test_a_push_in_flight_at_the_delete_keeps_the_blob_it_checked(fresh):
    """The client checked the layer while the old image still used it, then uploads another
    layer slowly; the old image is deleted meanwhile. Its manifest must still be accepted."""
    ecr, registry = fresh
    old = make_image("old", layers=1)
    registry.push_image("churn/a", old, "old")
    shared = next(d for d in old.blobs if old.blobs[d] != old.config)
    assert registry.head(f"/v2/churn/a/blobs/{shared}").status_code == 200
    location = registry.start_upload("churn/a")
    ecr.batch_delete_image(repositoryName="churn/a", imageIds=[{"imageTag": "old"}])
    slow = [b"slow layer piece %d " % i * 512 for i in range(400)]
    sent = []

    def upload_a_piece() -> None:
        nonlocal location
        piece = slow[len(sent)]
        start = sum(map(len, sent))
        response = registry.patch(location, data=piece, headers={
            "Content-Range": f"{start}-{start + len(piece) - 1}", "Content-Type": "application/octet-stream"})
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        sent.append(piece)

    control = _released_control(ecr, registry)
    _wait_until_gone(registry, "churn/control", control, keep_alive=upload_a_piece)
    new_layer = b"".join(sent)
    response = registry.put(location, params={"digest": digest_of(new_layer)})
    assert response.status_code == 201, response.text
    manifest, media_type = _manifest_with(old, shared, new_layer, registry)
    response = registry.put_manifest("churn/a", "new", manifest, media_type)
    assert response.status_code == 201, response.text


def _manifest_with(old, shared: str, new_layer: bytes, registry: Registry) -> tuple[bytes, str]:
    """An OCI manifest naming the old image's layer ``shared`` and ``new_layer`` (its config
    uploaded fresh)."""

    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    registry.push_blob("churn/a", config)
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": shared,
                    "size": len(old.blobs[shared])},
                   {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(new_layer),
                    "size": len(new_layer)}],
    }
    return json.dumps(manifest).encode(), manifest["mediaType"]
