"""Snapshots as tar streams: ``GET /_emulator/state`` writes one, ``PUT`` reads one back.

The archive has the state directory's layout (statedir.py): ``blobs/sha256/<hex>`` for each
blob, then ``state.json``, so blobs come before the metadata that references them, an export
can be untarred into a ``--state-dir``, and a state directory tarred up can be imported.
Streams both ways: blobs are sent from their files, and on import streamed into the blob store
(staged, hashed as they arrive, verified against their names) with bounded memory; nothing is
used until the whole archive is read and its metadata checked (features/persistence.py).
"""

from __future__ import annotations

import json
import re
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

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


#: tar members that hold header data tarfile reads whole into memory (PAX, GNU long names)
_HEADER_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                 tarfile.GNUTYPE_LONGLINK)
#: the most header data one member may carry
MAX_HEADER = 1 << 20


class ArchiveTooLarge(ArchiveError):
    """The archive is past a size limit (answered 413)."""


@dataclass(frozen=True)
class Limits:
    """What an import reads at most: ``state.json``'s bytes (it is parsed in memory, which takes
    several times its size) and the bytes of all members together (blobs go to disk)."""

    metadata: int
    total: int


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses header data past :data:`MAX_HEADER` before tarfile reads it into memory."""

    def _proc_member(self, tarfile_):
        if self.type in _HEADER_TYPES and self.size > MAX_HEADER:
            raise tarfile.HeaderError(f"a header of {self.size} bytes (at most {MAX_HEADER})")
        return super()._proc_member(tarfile_)


def read_archive(stream, store, limits: Limits) -> tuple[dict, dict[str, Staged]]:
    """The metadata (JSON data) and the blobs of a tar (optionally gzipped) stream.

    Each blob is streamed into ``store`` (a ``BlobStore``: :meth:`~BlobStore.stage`, hashed as
    it is written, never whole in memory) and verified against the digest its name says; the
    caller commits the staged blobs (``BlobStore.replace``) or drops them. Memory stays bounded
    whatever the archive holds: ``state.json`` is refused from its header when it is past
    ``limits.metadata``, and the whole archive when its members pass ``limits.total``
    (:class:`ArchiveTooLarge`). On any error the blobs staged so far are dropped.
    """
    metadata = None
    blobs: dict[str, Staged] = {}
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*", tarinfo=_BoundedTarInfo) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                total += member.size
                if total > limits.total:
                    raise ArchiveTooLarge(f"the archive holds more than {limits.total} bytes "
                                          "(ECR_EMULATOR_SNAPSHOT_SIZE_LIMIT)")
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
                    if member.size > limits.metadata:
                        raise ArchiveTooLarge(f"{METADATA} has {member.size} bytes, more than the "
                                              f"{limits.metadata} an import reads (ECR_EMULATOR_SNAPSHOT_METADATA_LIMIT)")
                    try:
                        metadata = json.loads(source.read())
                    except (ValueError, RecursionError) as error:
                        raise ArchiveError(f"{METADATA} is not JSON: {error}") from None
        if metadata is None:
            raise ArchiveError(f"the archive has no {METADATA}")
    except BaseException as error:
        for staged in blobs.values():
            store.drop(staged)
        if isinstance(error, (tarfile.TarError, EOFError, zlib.error)) or (
                isinstance(error, OSError) and not isinstance(error, StorageFull)):
            raise ArchiveError(f"not a tar archive of an ecr-emulator state: {error}") from None
        raise
    return metadata, blobs
