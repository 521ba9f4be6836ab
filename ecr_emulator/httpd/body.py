"""A request body received whole before the application runs.

The server reads every body itself, on its event loop, so a client that sends slowly holds a
buffer and a socket but never a request thread. A small body stays in memory; past
``memory_limit`` it goes to a *spool file*, hashed as it arrives (unless the application says
it will not need that: a chunk appended to an upload that has its own running hash). The
application can take the file over with :meth:`SpooledBody.claim` (a rename within one file
system): a pushed blob is written to disk once, and its sha256 is already known when the
request starts.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile


class SpooledBody:
    """The body of one request: ``size`` bytes, in memory or in the file at ``path``."""

    def __init__(self, spool_dir: str | None, memory_limit: int, hash_on_arrival: bool = True) -> None:
        self._spool_dir = spool_dir
        self._memory_limit = memory_limit
        self._hash_on_arrival = hash_on_arrival
        self._memory: bytearray | None = bytearray()
        self._fd: int | None = None
        self._hash = None
        self._file = None
        self._claimed = False
        #: the spool file's path while the body is in one (None: in memory, or claimed)
        self.path: str | None = None
        self.size = 0

    # -- receiving (the event loop) ------------------------------------------------------
    def write(self, data) -> None:
        """Append ``data`` (bytes-like); raises OSError (e.g. ENOSPC) when the spool file fails."""
        size = len(data)
        if self._memory is not None:
            if self.size + size <= self._memory_limit:
                self._memory += data
                self.size += size
                return
            self._spill()
        if self._hash is not None:
            self._hash.update(data)
        _write_all(self._fd, data)
        self.size += size

    def _spill(self) -> None:
        """Move the bytes so far into a new spool file (the body outgrew memory)."""
        fd, self.path = tempfile.mkstemp(prefix="body-", suffix=".spool", dir=self._spool_dir)
        self._fd = fd
        self._hash = hashlib.sha256(self._memory) if self._hash_on_arrival else None
        try:
            _write_all(fd, self._memory)
        finally:
            self._memory = None

    def finish(self) -> None:
        """The whole body is in: make it readable from its start."""
        if self._fd is not None:
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._file = os.fdopen(self._fd, "rb")
            self._fd = None

    # -- the application (a request thread) ----------------------------------------------
    def reader(self):
        """A file object over the body, at its start (``wsgi.input``)."""
        if self._file is not None:
            return self._file
        return io.BytesIO(self._memory or b"")

    @property
    def in_memory(self) -> bool:
        return self._file is None

    def bytes(self) -> bytes:
        """The body in memory (a small one), else read from its file."""
        if self._file is None:
            return bytes(self._memory or b"")
        with open(self._file.fileno(), "rb", closefd=False) as again:
            return again.read()

    def sha256(self):
        """A sha256 object that has seen the whole body (a fresh copy at each call); a spool
        file not hashed on arrival is read once for it."""
        if self._hash is None:
            if self._file is None:
                return hashlib.sha256(self._memory or b"")
            self._hash = _hash_file(self._file.fileno(), self.size)
        return self._hash.copy()

    def claim(self, dest: str) -> bool:
        """Rename the spool file to ``dest`` (same file system); False when the body is in
        memory, was claimed already or the rename fails: then the caller copies."""
        if self._file is None or self._claimed or self.path is None:
            return False
        try:
            os.replace(self.path, dest)
        except OSError:
            return False
        self._claimed = True
        self.path = None
        return True

    def discard(self) -> None:
        """The request is over: close the file and remove it unless it was claimed."""
        for closer in (self._file.close if self._file is not None else None,
                       (lambda: os.close(self._fd)) if self._fd is not None else None):
            if closer is not None:
                try:
                    closer()
                except OSError:
                    pass
        self._file = self._fd = None
        self._memory = None
        if self.path is not None and not self._claimed:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self.path = None


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _hash_file(fd: int, size: int):
    """sha256 of the first ``size`` bytes of ``fd`` (read by offset: the file's position stays)."""
    hasher, offset = hashlib.sha256(), 0
    while offset < size:
        piece = os.pread(fd, min(1 << 20, size - offset), offset)
        if not piece:
            raise OSError(f"the spooled body ended {size - offset} bytes early")
        hasher.update(piece)
        offset += len(piece)
    return hasher
