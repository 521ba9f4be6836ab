"""The state directory (``--state-dir``): blob files by digest and one metadata file.

Layout (the same as an exported snapshot's tar, so ``tar -C DIR -c .`` is one too)::

    DIR/state.json              the metadata: every registry, repository, image, policy, the
                                clock's offset and the tokens' signing key (store/snapshot.py)
    DIR/blobs/sha256/<hex>      one file per blob, named by its digest
    DIR/tmp/, DIR/uploads/      bytes arriving and uploads in progress (store/blobfiles.py)
    DIR/lock                    held (flock) by the one server using DIR

Crash consistency, the order that makes a ``kill -9`` at any moment safe:

1. a blob's bytes go to ``tmp/`` (or ``uploads/``) and are renamed to their digest's name *before* the
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

from .blobfiles import BlobFiles, fsync_dir
from .blobs import FileBlob

log = logging.getLogger(__name__)

METADATA = "state.json"

#: state directories this process holds the lock of (path -> fd), so a second Emulator of the
#: same process (the server's worker after the CLI's preflight) does not lock itself out
_HELD: dict[str, int] = {}
_HELD_LOCK = threading.Lock()


class StateDirError(Exception):
    """The state directory cannot be used (message says why and what to do)."""


def open_blob(files: BlobFiles, digest: str, size: int) -> FileBlob:
    """The stored blob of an existing file (raises :class:`StateDirError` if it is missing or short)."""
    path = files.path(digest)
    try:
        actual = os.stat(path).st_size
    except FileNotFoundError:
        raise StateDirError(f"{path} is missing: the state directory was changed by hand") from None
    if actual != size:
        raise StateDirError(f"{path} has {actual} bytes, the metadata says {size}")
    return FileBlob(digest, size, [], path=path)


class StateDir:
    """One state directory, locked for this process."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.metadata = os.path.join(self.root, METADATA)
        self.blobs: BlobFiles | None = None

    def open(self) -> "StateDir":
        """Create the layout if needed and take the directory's lock."""
        try:
            os.makedirs(self.root, exist_ok=True)
            self.blobs = BlobFiles(self.root, durable=True)
        except OSError as error:
            raise StateDirError(f"cannot create the layout in {self.root}: {error.strerror}") from None
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
        fsync_dir(self.root)
