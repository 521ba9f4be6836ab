"""The state directory (``--state-dir``): blob files by digest and one metadata file.

Layout (the same as an exported snapshot's tar, so ``tar -C DIR -c .`` is one too)::

    DIR/state.json              the metadata: every registry, repository, image, policy, the
                                clock's offset and the tokens' signing key (store/snapshot.py)
    DIR/blobs/sha256/<hex>      one file per blob, named by its digest
    DIR/lock                    held (flock) by the one server using DIR

Crash consistency, the order that makes a ``kill -9`` at any moment safe:

1. a blob's bytes go to ``blobs/.tmp-*`` and are renamed to their digest's name *before* the
   blob is stored in memory, so no metadata can reference a blob whose file is not complete;
2. a save fsyncs the blob files written since the last save, then writes ``state.json.tmp``,
   fsyncs it and renames it over ``state.json`` (then fsyncs the directory): the metadata on
   disk is always one whole snapshot whose blobs are all on disk;
3. only after that, files no snapshot and no live blob references are deleted.

So after a crash the directory holds the last saved snapshot, complete, plus perhaps some
blob files nothing references yet (swept at the next save).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import threading
import uuid

from .blobs import Blob, FileBlob

log = logging.getLogger(__name__)

METADATA = "state.json"
BLOB_DIR = os.path.join("blobs", "sha256")
TMP_PREFIX = ".tmp-"

#: state directories this process holds the lock of (path -> fd), so a second Emulator of the
#: same process (the server's worker after the CLI's preflight) does not lock itself out
_HELD: dict[str, int] = {}
_HELD_LOCK = threading.Lock()


class StateDirError(Exception):
    """The state directory cannot be used (message says why and what to do)."""


def blob_path(root: str, digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return os.path.join(root, BLOB_DIR, hexdigest)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobFiles:
    """Blob bytes as files; files written since the last save are fsynced by the next save."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.directory = os.path.join(root, BLOB_DIR)
        self._unsynced: set[str] = set()
        self._lock = threading.Lock()

    def path(self, digest: str) -> str:
        return blob_path(self.root, digest)

    def write(self, blob: Blob) -> FileBlob:
        """Write ``blob``'s bytes to its file (temp file + rename: the name only ever holds
        whole, verified bytes)."""
        return self.write_pieces(blob.digest, blob.size, blob.iter_bytes())

    def write_pieces(self, digest: str, size: int, pieces) -> FileBlob:
        final = self.path(digest)
        tmp = os.path.join(self.directory, f"{TMP_PREFIX}{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as f:
                for piece in pieces:
                    f.write(piece)
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        with self._lock:
            self._unsynced.add(final)
        return FileBlob(digest, size, [], path=final)

    def adopt(self, digest: str, size: int, path: str) -> FileBlob:
        """Make the verified file ``path`` (on this file system: an import's spool) the blob's file."""
        final = self.path(digest)
        os.replace(path, final)
        with self._lock:
            self._unsynced.add(final)
        return FileBlob(digest, size, [], path=final)

    def open(self, digest: str, size: int) -> FileBlob:
        """The blob of an existing file (raises :class:`StateDirError` if it is missing or short)."""
        path = self.path(digest)
        try:
            actual = os.stat(path).st_size
        except FileNotFoundError:
            raise StateDirError(f"{path} is missing: the state directory was changed by hand") from None
        if actual != size:
            raise StateDirError(f"{path} has {actual} bytes, the metadata says {size}")
        return FileBlob(digest, size, [], path=path)

    def sync(self) -> None:
        """fsync the files written since the last call, and their directory."""
        with self._lock:
            paths, self._unsynced = self._unsynced, set()
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if paths:
            _fsync_dir(self.directory)

    def sweep(self, keep) -> int:
        """Delete blob files for which ``keep(digest)`` is false, and leftover temp files."""
        removed = 0
        for name in os.listdir(self.directory):
            if name.startswith(TMP_PREFIX):
                continue  # a write in progress (leftovers are removed by remove_leftovers)
            if keep("sha256:" + name):
                continue
            try:
                os.unlink(os.path.join(self.directory, name))
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def remove_leftovers(self) -> None:
        """Temp files of writes a crash interrupted (call before serving)."""
        for name in os.listdir(self.directory):
            if name.startswith(TMP_PREFIX):
                os.unlink(os.path.join(self.directory, name))


class StateDir:
    """One state directory, locked for this process."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.metadata = os.path.join(self.root, METADATA)
        self.blobs = BlobFiles(self.root)

    def open(self) -> "StateDir":
        """Create the layout if needed and take the directory's lock."""
        try:
            os.makedirs(self.blobs.directory, exist_ok=True)
        except OSError as error:
            raise StateDirError(f"cannot create {self.blobs.directory}: {error.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise StateDirError(f"{self.root} is not writable")
        self._lock()
        self.blobs.remove_leftovers()
        return self

    def _lock(self) -> None:
        with _HELD_LOCK:
            if self.root in _HELD:
                return
            fd = os.open(os.path.join(self.root, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise StateDirError(f"{self.root} is in use by another ecr-emulator; stop it or "
                                        "choose another state directory") from None
                raise
            _HELD[self.root] = fd

    def read(self) -> dict | None:
        """The saved metadata as JSON data, or None when nothing was saved yet."""
        try:
            with open(self.metadata, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        try:
            return json.loads(raw)
        except ValueError as error:
            raise StateDirError(f"{self.metadata} is not valid JSON ({error}); it was not written by "
                                "ecr-emulator, whose writes are atomic") from None

    def write(self, raw: bytes) -> None:
        """Make ``raw`` the saved metadata, atomically and durably (blob files first)."""
        self.blobs.sync()
        tmp = self.metadata + ".tmp"
        # 0600: the metadata holds the key that signs registry passwords
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.metadata)
        _fsync_dir(self.root)
