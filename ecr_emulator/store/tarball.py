"""Snapshots as tar streams: ``GET /_emulator/state`` writes one, ``PUT`` reads one back.

The archive has the state directory's layout (statedir.py): ``blobs/sha256/<hex>`` for each
blob, then ``state.json``, so blobs come before the metadata that references them, an export
can be untarred into a ``--state-dir``, and a state directory tarred up can be imported.
Streams both ways: blobs are sent from where they are kept, and read in pieces on import into
files of a :class:`Spool`, each verified against its name, and used only once the whole archive
has been read and its metadata checked (features/persistence.py), with bounded memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .blobs import Blob
from .statedir import METADATA

BLOCK = 512
PIECE = 1 << 20
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


class Spool:
    """Where an import's blobs wait, one file each, until the whole archive is checked: a
    temporary directory in ``parent`` (the state directory's blob directory, so adopting a file
    is a rename; else the system's temporary directory), removed with what is left in it."""

    def __init__(self, parent: str | None = None) -> None:
        self.directory = tempfile.mkdtemp(prefix=".import-", dir=parent)
        self.files: dict[str, str] = {}

    def write(self, digest: str, size: int, source) -> str:
        """Copy ``size`` bytes of ``source`` to the blob's file, in pieces, verifying the digest."""
        path = os.path.join(self.directory, digest.split(":", 1)[1])
        hasher = hashlib.sha256()
        got = 0
        with open(path, "wb") as out:
            for piece in iter(lambda: source.read(PIECE), b""):
                hasher.update(piece)
                got += len(piece)
                out.write(piece)
        if got != size or "sha256:" + hasher.hexdigest() != digest:
            os.unlink(path)
            raise ArchiveError(f"blobs/sha256/{digest[7:]}: its content does not match its digest")
        self.files[digest] = path
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "Spool":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def read_archive(stream, spool: Spool, limits: Limits) -> dict:
    """The metadata (JSON data) of a tar (optionally gzipped) stream; its blobs go to ``spool``
    (``spool.files``), each verified against the digest its name says. Memory stays bounded
    whatever the archive holds: members are streamed, ``state.json`` is refused from its header
    when it is past ``limits.metadata``, and the whole archive when its members pass ``limits.total``
    (:class:`ArchiveTooLarge`)."""
    metadata = None
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
                if match:
                    spool.write("sha256:" + match.group(1), member.size, tar.extractfile(member))
                elif member.name.lstrip("./") == METADATA:
                    if member.size > limits.metadata:
                        raise ArchiveTooLarge(f"{METADATA} has {member.size} bytes, more than the "
                                              f"{limits.metadata} an import reads (ECR_EMULATOR_SNAPSHOT_METADATA_LIMIT)")
                    try:
                        metadata = json.loads(tar.extractfile(member).read())
                    except (ValueError, RecursionError) as error:
                        raise ArchiveError(f"{METADATA} is not JSON: {error}") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise ArchiveError(f"not a tar archive of an ecr-emulator state: {error}") from None
    if metadata is None:
        raise ArchiveError(f"the archive has no {METADATA}")
    return metadata
