"""python-dxf against the emulator's registry: blobs pushed (file, and a chunked stream) and
pulled with verified digests, aliases (manifests), mount, deletes.

python-dxf refuses to send credentials over plain HTTP, so this runs against a server with
registry auth off (``--no-registry-auth``).
"""

from __future__ import annotations

import hashlib
import os

import pytest
import requests

from ecr_emulator.testing import checked_client

from ..tools import import_client

dxf = import_client("dxf")

pytestmark = pytest.mark.slow


@pytest.fixture
def host(open_server):
    server = open_server
    ecr = checked_client("ecr", server.url)
    for name in ("dxf/blobs", "dxf/other"):
        ecr.create_repository(repositoryName=name)
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")  # for mount_blob
    return server.host


def test_blobs_aliases_mount_and_deletes(host, tmp_path):
    client = dxf.DXF(host, "dxf/blobs", insecure=True)
    body, response = client.api_version_check()
    assert body == "{}" and response.headers["Docker-Distribution-API-Version"] == "registry/2.0"

    payload = os.urandom(2_000_000)
    path = tmp_path / "blob"
    path.write_bytes(payload)
    digest = client.push_blob(str(path))
    assert digest == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert client.blob_size(digest) == len(payload)
    assert b"".join(client.pull_blob(digest, chunk_size=1 << 20)) == payload  # dxf verifies the digest
    assert client.push_blob(str(path)) == digest  # HEAD says it exists: no second upload

    streamed = os.urandom(300_000)
    streamed_digest = "sha256:" + hashlib.sha256(streamed).hexdigest()
    pieces = (streamed[i:i + 65536] for i in range(0, len(streamed), 65536))
    assert client.push_blob(data=pieces, digest=streamed_digest, check_exists=False) == streamed_digest
    assert b"".join(client.pull_blob(streamed_digest)) == streamed

    manifest = client.set_alias("v1", digest, streamed_digest)
    assert client.list_aliases() == ["v1"]
    assert client.get_alias("v1") == [digest, streamed_digest]
    assert client.get_digest("v1") == digest  # the config blob: dxf makes the first blob the config
    manifest_digest, _ = client.head_manifest_and_response("v1")
    assert manifest_digest == "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()

    other = dxf.DXF(host, "dxf/other", insecure=True)
    assert other.mount_blob("dxf/blobs", digest) == digest
    assert other.blob_size(digest) == len(payload)

    client.del_alias("v1")
    assert client.list_aliases() == []
    client.del_blob(streamed_digest)
    with pytest.raises(requests.HTTPError) as info:
        client.blob_size(streamed_digest)
    assert info.value.response.status_code == 404
