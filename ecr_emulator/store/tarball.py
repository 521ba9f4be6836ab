"""Snapshots as tar streams: ``GET /_emulator/state`` writes one, ``PUT`` reads one back.

The archive has the state directory's layout (statedir.py): ``blobs/sha256/<hex>`` for each
blob, then ``state.json``, so blobs come before the metadata that references them, an export
can be untarred into a ``--state-dir``, and a state directory tarred up can be imported.
Streams both ways: blobs are sent from their files, and streamed to files on import, each
verified against its name before it is used.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator

from .blobs import Blob, DigestMismatch, IncompleteBody, Staged, StorageFull
from .statedir import METADATA

BLOCK = 512
_BLOB_NAME = re.compile(r"^(?:\./)?blobs/sha256/([0-9a-f]{64})$")


class ArchiveError(ValueError):
    """The body is not a readable snapshot archive (message says why)."""


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def export_stream(metadata: dict, blobs: dict[str, Blob]) -> Iterator[bytes]:
    """The tar archive of a captured snapshot (store/snapshot.py ``capture``), piece by piece."""
    for digest, blob in blobs.items():
        yield _header("blobs/sha256/" + digest.split(":", 1)[1], blob.size)
        for view in blob.iter_bytes():
            obj = view.obj
            yield obj if isinstance(obj, bytes) and len(obj) == len(view) else bytes(view)
        yield _padding(blob.size)
    raw = json.dumps(metadata, separators=(",", ":")).encode()
    yield _header(METADATA, len(raw)) + raw + _padding(len(raw))
    yield b"\0" * (2 * BLOCK)


def read_archive(stream, store) -> tuple[dict, dict[str, Staged]]:
    """The metadata (JSON data) and the blobs of a tar (optionally gzipped) stream.

    Each blob is streamed into ``store`` (a ``BlobStore``: :meth:`~BlobStore.stage`, hashed as
    it is written, never whole in memory) and verified against the digest its name says; the
    caller commits the staged blobs (``BlobStore.replace``) or drops them. On any error the
    blobs staged so far are dropped.
    """
    metadata = None
    blobs: dict[str, Staged] = {}
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                match = _BLOB_NAME.match(member.name)
                source = tar.extractfile(member)
                if match:
                    digest = "sha256:" + match.group(1)
                    try:
                        staged = store.stage(source, digest, member.size)
                    except (DigestMismatch, IncompleteBody):
                        raise ArchiveError(f"blobs/sha256/{match.group(1)}: its content does not match its "
                                           "digest") from None
                    if digest in blobs:
                        store.drop(blobs[digest])
                    blobs[digest] = staged
                elif member.name.lstrip("./") == METADATA:
                    try:
                        metadata = json.loads(source.read())
                    except ValueError as error:
                        raise ArchiveError(f"{METADATA} is not JSON: {error}") from None
        if metadata is None:
            raise ArchiveError(f"the archive has no {METADATA}")
    except BaseException as error:
        for staged in blobs.values():
            store.drop(staged)
        if isinstance(error, (tarfile.TarError, EOFError)) or (
                isinstance(error, OSError) and not isinstance(error, StorageFull)):
            raise ArchiveError(f"not a tar archive of an ecr-emulator state: {error}") from None
        raise
    return metadata, blobs
