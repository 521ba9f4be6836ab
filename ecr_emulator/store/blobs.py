"""The content-addressed blob store: blobs by digest, their bytes in files (blobfiles.py).

A repository "has" a blob only if it links it (``Repository.blobs``); the store itself is
shared, so a mount or a second push of the same layer costs nothing: bytes that arrive for a
digest already stored are dropped, not written twice. The bytes of a blob are never only in
memory: every way a blob arrives streams it to a file while hashing it (:meth:`BlobStore.stage`),
then :meth:`BlobStore.commit` renames the file to its digest's name. Memory holds at most a
bounded cache of small hot blobs (blobcache.py), always a copy of a file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from .blobcache import BlobCache
from .blobfiles import BlobFiles, DigestMismatch, IncompleteBody, Staged, StorageFull, private_files
from .uploads import OutOfOrderChunk, UploadSession, UploadSessions

__all__ = ["Blob", "BlobStore", "DigestMismatch", "FileBlob", "IncompleteBody", "OutOfOrderChunk", "Staged",
           "StorageFull", "UploadSession", "UploadSessions"]

#: pieces a file-backed blob is read in when it is not sent as a file
FILE_READ_SIZE = 1 << 20


@dataclass
class Blob:
    """Bytes in memory (a small blob made by the emulator itself, e.g. a signature, or by a
    test): :meth:`BlobStore.add` writes them to a file and stores a :class:`FileBlob`."""

    digest: str
    size: int
    chunks: list = field(repr=False)

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The bytes ``[start, end)`` as views of the buffers (no copy)."""
        end = self.size if end is None else min(end, self.size)
        offset = 0
        for chunk in self.chunks:
            chunk_end = offset + len(chunk)
            if chunk_end > start and offset < end:
                view = memoryview(chunk)
                yield view[max(start - offset, 0): min(end - offset, len(chunk))]
            offset = chunk_end
            if offset >= end:
                return


@dataclass
class FileBlob(Blob):
    """A stored blob: its bytes are the file ``path`` (named by the digest)."""

    path: str = ""

    def open(self):
        """The file, open for reading (raises FileNotFoundError once the blob was freed)."""
        return open(self.path, "rb")

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        end = self.size if end is None else min(end, self.size)
        with self.open() as f:
            f.seek(start)
            left = end - start
            while left > 0:
                data = f.read(min(FILE_READ_SIZE, left))
                if not data:
                    raise OSError(f"{self.path} is shorter than the {self.size} bytes of {self.digest}")
                left -= len(data)
                yield memoryview(data)


class BlobStore:
    """Blobs by digest, shared by every repository of every registry.

    The directory is private (created on first use under ``parent``, see :meth:`configure`)
    unless a state directory is attached (:meth:`attach`). ``commit``, ``add``,
    ``discard_unreferenced`` and ``replace`` run with ``Backend.lock`` held, so a blob being
    committed is never collected half-way.
    """

    def __init__(self) -> None:
        self._blobs: dict[str, FileBlob] = {}
        self._lock = threading.Lock()
        self._files: BlobFiles | None = None
        self._files_lock = threading.Lock()  # not ``_lock``: commit asks for ``files`` holding it
        self._parent = ""
        self.cache = BlobCache()

    # -- where the bytes go ------------------------------------------------------------------
    def configure(self, *, parent: str = "", cache_bytes: int | None = None) -> None:
        """``parent``: where the private directory is made (``--blob-dir``; default TMPDIR);
        ``cache_bytes``: the memory budget of the hot-blob cache (``--blob-cache-bytes``)."""
        self._parent = parent
        if cache_bytes is not None:
            self.cache = BlobCache(cache_bytes)

    def attach(self, files: BlobFiles) -> None:
        """Keep blob bytes in ``files`` (a state directory's, durable)."""
        self._files = files

    def open_directory(self) -> BlobFiles:
        """Make the private directory now (removing stale ones) unless one is there already."""
        return self.files

    @property
    def files(self) -> BlobFiles:
        """The blob directory (a private one is made on first use)."""
        if self._files is None:
            with self._files_lock:
                if self._files is None:
                    self._files = private_files(self._parent)
        return self._files

    @property
    def spool_dir(self) -> str:
        """Where a server may spool request bodies so that they can be renamed into the store."""
        return self.files.tmp

    # -- arriving bytes ----------------------------------------------------------------------
    def stage(self, source, expected_digest: str | None = None, size: int | None = None) -> Staged:
        """Stream ``source`` (``read(n)``, or an iterable of buffers) into a temporary file while
        hashing it; verified against ``expected_digest`` and ``size`` when given. Call outside
        ``Backend.lock``, then :meth:`commit` (or :meth:`drop`) it. Raises DigestMismatch,
        IncompleteBody, StorageFull, and whatever reading ``source`` raises; nothing stays.

        The one door for bytes that arrive whole from a stream (pull-through, snapshot import):
        stage outside the lock, then commit and link under it in one go (a blob committed and
        not linked in the same ``Backend.lock`` section may be collected in between)."""
        return self.files.stage(source, expected_digest, size)

    def commit(self, staged: Staged) -> FileBlob:
        """Make staged bytes a stored blob (call with ``Backend.lock`` held); a digest already
        stored keeps its file and the staged copy is dropped. Returns the stored blob."""
        with self._lock:
            existing = self._blobs.get(staged.digest)
            if existing is not None:
                self.drop(staged)
                return existing
            path = self.files.place(staged)
            blob = self._blobs[staged.digest] = FileBlob(staged.digest, staged.size, [], path=path)
            return blob

    def drop(self, staged: Staged) -> None:
        """Forget staged bytes that will not be committed."""
        if staged.path != self.files.path(staged.digest):
            try:
                os.unlink(staged.path)
            except FileNotFoundError:
                pass

    def add(self, blob: Blob) -> FileBlob:
        """Store ``blob`` unless its digest is stored; return the stored one. Bytes in memory
        (a :class:`Blob`) are written to a file first: meant for small blobs (call with
        ``Backend.lock`` held)."""
        if isinstance(blob, FileBlob):
            with self._lock:
                return self._blobs.setdefault(blob.digest, blob)
        existing = self.get(blob.digest)
        if existing is not None:
            return existing
        return self.commit(self.stage(blob.iter_bytes(), blob.digest))

    # -- reading -----------------------------------------------------------------------------
    def get(self, digest: str) -> FileBlob | None:
        return self._blobs.get(digest)

    def cached(self, blob: FileBlob) -> bytes | None:
        """The bytes of ``blob`` from the memory cache (read into it when the blob fits the
        cache), or None: send the file."""
        return self.cache.get_or_load(blob)

    # -- going away ----------------------------------------------------------------------------
    def discard_unreferenced(self, referenced: set[str]) -> tuple[int, int]:
        """Drop blobs whose digest is not in ``referenced``; returns how many and their bytes.
        A private directory's files go at once (a GET already streaming one keeps its open file)."""
        with self._lock:
            gone = [self._blobs.pop(d) for d in [d for d in self._blobs if d not in referenced]]
            for blob in gone:
                self.cache.drop(blob.digest)
                if self._files is not None:
                    self._files.remove(blob.digest)
        return len(gone), sum(b.size for b in gone)

    def sweep(self, keep) -> int:
        """Durable directory: delete blob files neither stored nor ``keep(digest)`` (the last
        saved metadata's); each decision and unlink is atomic with respect to :meth:`commit`."""
        files = self._files
        if files is None:
            return 0
        removed = 0
        for digest in files.names():
            with self._lock:
                if digest in self._blobs or keep(digest):
                    continue
                try:
                    os.unlink(files.path(digest))
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    def stats(self) -> tuple[int, int]:
        """Stored blobs and their bytes."""
        blobs = list(self._blobs.values())
        return len(blobs), sum(b.size for b in blobs)

    def clear(self) -> None:
        self.replace({})

    def replace(self, blobs: dict) -> None:
        """Hold exactly ``blobs`` (digest -> FileBlob or Staged; call with ``Backend.lock``
        held): staged ones are committed, and a private directory drops the files of the rest."""
        with self._lock:
            old, self._blobs = self._blobs, {}
        for digest, blob in blobs.items():
            if isinstance(blob, Staged):
                self.commit(blob)
            else:
                with self._lock:
                    self._blobs[digest] = blob
        with self._lock:
            for digest in set(old) - set(self._blobs):
                self.cache.drop(digest)
                if self._files is not None:
                    self._files.remove(digest)

    def items(self) -> list[tuple[str, FileBlob]]:
        with self._lock:
            return list(self._blobs.items())

    def __len__(self) -> int:
        return len(self._blobs)
