"""The blob store's files: streamed while hashing, one file per digest, nothing left behind by a
full disk, sessions all-or-nothing, a bounded memory cache; and a full disk answered 507 by the
registry (in-process, so the failure can be injected)."""

from __future__ import annotations

import errno
import io
import os

import pytest
import requests

from ecr_emulator import mock_ecr
from ecr_emulator.store import Backend, DigestMismatch, StorageFull, blobfiles
from ecr_emulator.store.blobcache import BlobCache
from ecr_emulator.testing.synthetic import digest_of

MIB = 1 << 20


@pytest.fixture
def backend(tmp_path):
    backend = Backend()
    backend.blobs.configure(parent=str(tmp_path))
    return backend


@pytest.fixture
def full_after(monkeypatch):
    """``full_after(n)``: writes of the blob files fail with ENOSPC once ``n`` bytes went."""
    real = blobfiles._write_all

    def arm(limit: int | None) -> None:
        written = [0]

        def write(fd, data):
            if limit is not None and written[0] + len(data) > limit:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written[0] += len(data)
            return real(fd, data)

        monkeypatch.setattr(blobfiles, "_write_all", write)

    return arm


def _files(store, sub: str) -> list[str]:
    return os.listdir(os.path.join(store.files.root, sub))


def test_the_same_bytes_twice_make_one_file(backend):
    data = os.urandom(3 * MIB)
    store = backend.blobs
    with backend.lock:
        first = store.commit(store.stage([data[:MIB], data[MIB:]], digest_of(data)))
        second = store.commit(store.stage(iter([data])))
    assert first is second and first.size == len(data)
    assert _files(store, "blobs/sha256") == [digest_of(data).split(":")[1]]
    assert _files(store, "tmp") == []
    with open(first.path, "rb") as f:
        assert f.read() == data


def test_bytes_that_do_not_match_their_digest_leave_nothing(backend):
    with pytest.raises(DigestMismatch):
        backend.blobs.stage([b"abc"], digest_of(b"abd"))
    assert _files(backend.blobs, "tmp") == []


def test_a_full_disk_fails_the_write_and_leaves_nothing(backend, full_after):
    full_after(MIB)
    with pytest.raises(StorageFull):
        backend.blobs.stage([os.urandom(MIB)] * 3)
    assert _files(backend.blobs, "tmp") == []
    assert len(backend.blobs) == 0


def test_a_full_disk_during_a_chunk_leaves_the_upload_as_it_was(backend, full_after, tmp_path):
    data = os.urandom(4 * MIB)
    session = backend.uploads.start("123456789012", "us-east-1", "app", backend.clock.now())
    session.append(data[:MIB])
    full_after(MIB)  # room for one more MiB only
    source = open(tmp_path / "body", "wb+")
    source.write(data[MIB:]), source.seek(0)
    with pytest.raises(StorageFull):
        session.append_stream(source, 3 * MIB)
    assert session.size == MIB and os.path.getsize(session.path) == MIB
    assert session.digest() == digest_of(data[:MIB])
    full_after(None)  # space freed: the same chunk goes in, and the upload completes
    source.seek(0)
    session.append_stream(source, 3 * MIB)
    with backend.lock:
        blob = backend.blobs.commit(session.verified(digest_of(data)))
    with open(blob.path, "rb") as f:
        assert f.read() == data


def test_the_memory_cache_keeps_to_its_budget(backend):
    store = backend.blobs
    cache = BlobCache(budget=16 * 4096)  # items up to 4096 bytes
    blobs = []
    with backend.lock:
        for i in range(40):
            blobs.append(store.commit(store.stage([bytes([i]) * 3000])))
        big = store.commit(store.stage([b"x" * 5000]))
    for blob in blobs:
        assert cache.get_or_load(blob) == bytes([blobs.index(blob)]) * 3000
        assert cache.stats()[1] <= cache.budget
    assert cache.get_or_load(big) is None  # too big to cache: sent from its file
    assert cache.stats()[0] == cache.budget // 3000


def test_the_registry_answers_a_full_disk_with_507(full_after):
    with mock_ecr(registry=True, registry_auth=False) as mock:
        mock.client().create_repository(repositoryName="app")
        base = mock.registry_url + "/v2/app/blobs/uploads/"
        location = requests.post(base, timeout=10).headers["Location"]
        assert requests.patch(location, data=b"a" * 1000, timeout=10).status_code == 202
        full_after(500)
        refused = requests.patch(location, data=os.urandom(MIB), timeout=30)
        assert refused.status_code == 507
        assert refused.json()["errors"][0]["code"] == "INSUFFICIENT_STORAGE"
        status = requests.get(location, timeout=10)
        assert status.headers["Range"] == "0-999"  # the upload kept its bytes, nothing more


class _SpooledBody:
    """The server contract's ``environ["ecr_emulator.body"]`` for a body spooled to ``path``."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path, self.size, self._data = path, len(data), data
        self.claimed_to: str | None = None

    def sha256(self):
        import hashlib

        return hashlib.sha256(self._data)

    def claim(self, dest: str) -> bool:
        os.rename(self.path, dest)
        self.claimed_to = dest
        return True


class _Unreadable(io.BytesIO):
    def read(self, *_):
        raise AssertionError("the body was read again instead of renamed")


def _contract(body: _SpooledBody) -> dict:
    """What the server sets: the spooled body and its real length."""
    return {"ecr_emulator.body": body, "CONTENT_LENGTH": str(body.size), "wsgi.input_terminated": True}


def _spooled(app, data: bytes) -> _SpooledBody:
    path = os.path.join(app.spool_dir, os.urandom(8).hex())
    with open(path, "wb") as f:
        f.write(data)
    return _SpooledBody(path, data)


def test_a_spooled_body_becomes_the_blob_by_a_rename(tmp_path):
    """The server contract's fast path: the spool file (in the app's ``spool_dir``, on the blobs'
    filesystem) is renamed into the store, its digest reused; later chunks are copied from it."""
    import json

    from werkzeug.test import Client

    from ecr_emulator.app import create_app
    from ecr_emulator.settings import Settings

    app = create_app(Settings(registry_auth=False, blob_dir=str(tmp_path)))
    client = Client(app)
    created = client.post("/", data=json.dumps({"repositoryName": "app"}), headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
        "Content-Type": "application/x-amz-json-1.1"})
    assert created.status_code == 200, created.get_data()
    data = os.urandom(3 * MIB)
    body = _spooled(app, data)
    inode = os.stat(body.path).st_ino
    answer = client.post(f"/v2/app/blobs/uploads/?digest={digest_of(data)}", input_stream=_Unreadable(),
                         environ_overrides=_contract(body))
    assert answer.status_code == 201, answer.get_data()
    blob = app.backend.blobs.get(digest_of(data))
    assert os.stat(blob.path).st_ino == inode  # the same file: renamed, not written again

    more = os.urandom(MIB)
    location = client.post("/v2/app/blobs/uploads/").headers["Location"]
    path = location.split("://", 1)[1].split("/", 1)[1]
    first = _spooled(app, data)
    assert client.patch("/" + path, input_stream=_Unreadable(),
                        environ_overrides=_contract(first)).status_code == 202
    assert first.claimed_to is not None
    second = _spooled(app, more)
    done = client.put(f"/{path}?digest={digest_of(data + more)}", input_stream=_Unreadable(),
                      environ_overrides=_contract(second))
    assert done.status_code == 201, done.get_data()
    assert second.claimed_to is None  # appended: copied from its file
    with open(app.backend.blobs.get(digest_of(data + more)).path, "rb") as f:
        assert f.read() == data + more


class _Spooled:
    """What the server hands an upload: a body in a spool file (never claimed here)."""

    def __init__(self, path) -> None:
        self.path, self.size = str(path), os.path.getsize(path)

    def claim(self, dest: str) -> bool:
        return False


@pytest.mark.parametrize("kernel", ["copies", "cannot copy", "disk full"])
def test_a_spooled_chunk_appends_by_the_kernel_or_by_pieces_all_or_nothing(backend, tmp_path, monkeypatch,
                                                                           kernel):
    """A later chunk is copied by copy_file_range while hashed from a mapping; where the kernel
    cannot copy between the files it goes through pieces; a full disk leaves the upload as it was."""
    data = os.urandom(5 * MIB)
    (tmp_path / "chunk").write_bytes(data[MIB:])
    session = backend.uploads.start("123456789012", "us-east-1", "app", backend.clock.now())
    session.append(data[:MIB])
    real = os.copy_file_range
    calls = []

    def copy_file_range(src, dst, count, offset_src=None, offset_dst=None):
        calls.append(count)
        if kernel == "cannot copy":
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        if kernel == "disk full" and len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, count, offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", copy_file_range)
    if kernel == "disk full":
        with pytest.raises(StorageFull):
            session.append_spooled(_Spooled(tmp_path / "chunk"), MIB)
        assert session.size == MIB and os.path.getsize(session.path) == MIB
        assert session.digest() == digest_of(data[:MIB])
        return
    assert session.append_spooled(_Spooled(tmp_path / "chunk"), MIB) == 4 * MIB
    assert calls  # the kernel was asked
    assert session.digest() == digest_of(data)
    with backend.lock:
        blob = backend.blobs.commit(session.verified(digest_of(data)))
    with open(blob.path, "rb") as f:
        assert f.read() == data
