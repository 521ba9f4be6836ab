"""Memory that comes back: unreferenced blobs are freed after the grace period, upload sessions
expire, and the process gives the memory back (RSS)."""

from __future__ import annotations

import os

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from ..registry.client import Registry, authorization_token, expect_error
from ..tools import requires

GRACE = 3600  # the default blob_grace_seconds


def advance(url: str, seconds: float) -> None:
    assert requests.post(url + "/_emulator/clock/advance", json={"seconds": seconds}, timeout=10).ok


def collect(url: str) -> dict:
    response = requests.post(url + "/_emulator/gc", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def stats(url: str) -> dict:
    return requests.get(url + "/_emulator/stats", timeout=10).json()


@pytest.fixture(scope="module")
def long_deleted_grace():
    """A server whose deleted images' blobs wait a minute of its clock (default: seconds)."""
    with ServerProcess("--no-access-log", "--no-registry-auth",
                       env={"ECR_EMULATOR_DELETED_BLOB_GRACE_SECONDS": "60"}) as server:
        yield server


def test_deleted_image_layers_served_during_grace_then_gone(long_deleted_grace):
    url = long_deleted_grace.url
    ecr, registry, repo = checked_client("ecr", url), Registry(url), "team/app"
    ecr.create_repository(repositoryName=repo)
    image = make_image("gone")
    registry.push_image(repo, image, "v1")
    layer = next(iter(image.blobs))
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    assert registry.get(f"/v2/{repo}/blobs/{layer}").status_code == 200  # still within the grace period
    collect(url)
    assert registry.get(f"/v2/{repo}/blobs/{layer}").status_code == 200
    advance(url, 61)
    freed = collect(url)
    assert freed["blobsFreed"] == len(image.blobs) and freed["blobBytesFreed"] == sum(map(len, image.blobs.values()))
    for digest in image.blobs:
        expect_error(registry.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert stats(url)["blobs"] == 0


def test_shared_layers_stay_while_an_image_uses_them(url, ecr, registry, repo):
    first = make_image("shared", layers=2)
    registry.push_image(repo, first, "first")
    # a second image with the same layers and its own config
    second = make_image("shared", layers=2, config=b'{"architecture":"arm64","os":"linux"}')
    registry.push_image(repo, second, "second")
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "first"}])
    advance(url, GRACE + 1)
    collect(url)
    for digest in second.blobs:
        assert registry.get(f"/v2/{repo}/blobs/{digest}").status_code == 200
    only_first = set(first.blobs) - set(second.blobs)
    assert only_first
    for digest in only_first:
        expect_error(registry.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    # the remaining image still pulls and its layers still check out
    manifest = registry.get(f"/v2/{repo}/manifests/second", headers={"Accept": second.media_type})
    assert manifest.status_code == 200 and digest_of(manifest.content) == second.digest


def test_a_blob_in_another_repository_outlives_the_deleted_one(url, ecr, registry, repo):
    ecr.create_repository(repositoryName="team/other")
    image = make_image("two-repos")
    registry.push_image(repo, image, "v1")
    registry.push_image("team/other", image, "v1")
    ecr.batch_delete_image(repositoryName=repo, imageIds=[{"imageTag": "v1"}])
    advance(url, GRACE + 1)
    collect(url)
    layer = next(iter(image.blobs))
    expect_error(registry.get(f"/v2/{repo}/blobs/{layer}"), 404, "BLOB_UNKNOWN")
    assert registry.get(f"/v2/team/other/blobs/{layer}").content == image.blobs[layer]


def test_uploaded_blob_never_pushed_with_a_manifest_is_collected(url, registry, repo):
    digest = registry.push_blob(repo, b"orphan" * 1000)
    advance(url, GRACE - 1)
    collect(url)
    assert registry.head(f"/v2/{repo}/blobs/{digest}").status_code == 200
    advance(url, 2)
    assert collect(url)["blobsFreed"] == 1
    expect_error(registry.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_a_mount_restarts_the_grace_period(url, ecr, registry, repo):
    ecr.create_repository(repositoryName="team/mounted")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    digest = registry.push_blob(repo, b"mount me" * 1000)
    advance(url, GRACE - 10)
    response = registry.post("/v2/team/mounted/blobs/uploads/", params={"mount": digest, "from": repo})
    assert response.status_code == 201
    advance(url, 20)
    collect(url)
    expect_error(registry.get(f"/v2/{repo}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert registry.head(f"/v2/team/mounted/blobs/{digest}").status_code == 200


def test_abandoned_upload_sessions_expire_and_free_their_bytes(url, registry, repo, ecr):
    location = registry.start_upload(repo)
    assert registry.patch(location, data=b"x" * (4 << 20)).status_code == 202
    layer_upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    assert stats(url)["uploadBytes"] == 4 << 20 and stats(url)["uploads"] == 2
    advance(url, 7 * 24 * 3600 - 60)
    registry.session.headers["Authorization"] = f"Basic {authorization_token(ecr)}"  # a week later
    assert registry.get(location).status_code == 204
    advance(url, 61)
    registry.session.headers["Authorization"] = f"Basic {authorization_token(ecr)}"
    expect_error(registry.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    with pytest.raises(ecr.exceptions.UploadNotFoundException):
        ecr.upload_layer_part(repositoryName=repo, uploadId=layer_upload, partFirstByte=0, partLastByte=0,
                              layerPartBlob=b"x")
    collect(url)
    assert stats(url)["uploads"] == 0 and stats(url)["uploadBytes"] == 0


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _blob_files(parent) -> list:
    """The blob files of the private blob directories under ``parent``."""
    return sorted(parent.glob("ecr-emulator-blobs-*/blobs/sha256/*"))


@requires(os.path.exists("/proc/self/status"), "/proc is not there (RSS is read from it)")
def test_blob_bytes_live_in_a_file_that_goes_when_the_blob_is_freed(tmp_path):
    """Push 128 MiB: the bytes go to a file of the private blob directory under --blob-dir (RSS
    does not grow by them); deleted with a grace period of 0, the file goes at once; the directory
    goes when the server stops."""
    size = 128 << 20
    with ServerProcess("--no-access-log", "--blob-dir", str(tmp_path),
                       env={"ECR_EMULATOR_BLOB_GRACE_SECONDS": "0", "ECR_EMULATOR_GC_INTERVAL": "0"}) as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="big/app")
        registry = Registry(server.url, authorization_token(ecr))
        pid = server.worker_pid()
        image = make_image("big", layers=1, layer_bytes=1024)
        registry.push_image("big/app", image, "v1")
        baseline = _rss(pid)
        data = os.urandom(1 << 20) * (size >> 20)
        digest = digest_of(data)
        location = registry.start_upload("big/app")
        response = registry.put(location, params={"digest": digest}, data=data)
        assert response.status_code == 201
        del data
        assert _rss(pid) < baseline + (64 << 20), (baseline, _rss(pid))  # the bytes are not in memory...
        assert stats(server.url)["blobBytes"] >= size
        files = {path.name: path.stat().st_size for path in _blob_files(tmp_path)}
        assert files[digest.split(":")[1]] == size  # ...but in their file
        collect(server.url)  # an unreferenced upload with grace 0 goes at once, and its file
        assert stats(server.url)["blobBytes"] < size
        assert digest.split(":")[1] not in {path.name for path in _blob_files(tmp_path)}
    assert not list(tmp_path.glob("ecr-emulator-blobs-*"))
