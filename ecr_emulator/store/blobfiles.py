"""Where blob bytes live: one directory of files named by digest, never the process's memory.

Layout (the state directory's, see statedir.py; a private directory has the same)::

    ROOT/blobs/sha256/<hex>     one file per stored blob, named by its digest
    ROOT/tmp/                   bytes arriving (a stream being hashed, the server's spooled
                                request bodies: ``spool_dir``), renamed into blobs/ once verified
    ROOT/uploads/<id>           the bytes of an upload session in progress
    ROOT/uploads/<id>.json      (state directory only) what the session needs after a restart

Two kinds of directory:

- **durable** (``--state-dir``): files are fsynced before the metadata that references them is
  saved, and a blob file is deleted only by the sweep that follows a save (statedir.py);
- **private** (the default): a fresh ``ecr-emulator-blobs-*`` directory under ``--blob-dir``
  (default: TMPDIR), locked (flock) for as long as this process lives and removed when it ends;
  a directory whose lock nobody holds was left by a ``kill -9`` and is removed at the next start.
  A TMPDIR on tmpfs puts the blobs back in RAM.

Every write streams: pieces are hashed and written as they arrive, nothing is held whole. A
full disk (ENOSPC, EDQUOT) raises :class:`StorageFull` after removing what was written.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import mmap
import os
import queue
import shutil
import tempfile
import threading
import uuid
import weakref
from dataclasses import dataclass

log = logging.getLogger(__name__)

BLOB_DIR = os.path.join("blobs", "sha256")
TMP_DIR = "tmp"
UPLOAD_DIR = "uploads"
#: prefix of the private directories (default mode)
PRIVATE_PREFIX = "ecr-emulator-blobs-"
#: pieces a stream is read and written in
PIECE = 1 << 20
_FULL = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(OSError):
    """The blob directory's filesystem is full: nothing of the write was kept."""

    def __init__(self, directory: str, error: OSError) -> None:
        super().__init__(error.errno, f"no space left for blob bytes in {directory} ({error.strerror})")
        self.directory = directory


class IncompleteBody(Exception):
    """A request body that ended before its declared length (the client went away)."""

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(expected, received)
        self.expected, self.received = expected, received


class DigestMismatch(Exception):
    """The digest the client named is not the sha256 of the bytes it sent."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(expected, actual)
        self.expected, self.actual = expected, actual


def is_full(error: OSError) -> bool:
    return isinstance(error, StorageFull) or error.errno in _FULL


def hex_of(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexdigest


@dataclass
class Staged:
    """Verified bytes in a temporary file, not yet a stored blob (``BlobStore.commit``)."""

    path: str
    digest: str
    size: int


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_stream(fd: int, source, limit: int | None, hasher, directory: str) -> int:
    """Copy ``source`` (``read(n)`` or an iterable of buffers) to ``fd`` while hashing; at most
    ``limit`` bytes from a reader (None: to its end). Returns the bytes written; raises
    :class:`StorageFull` on a full disk (the caller removes what was written).

    From the second piece on, pieces are written by a helper thread while this one hashes (and
    receives) the next: hashing and the copy into the file each release the GIL, so on two
    cores a large body costs about the larger of the two instead of their sum. At most
    :data:`PIPELINE` pieces are in flight."""
    pieces = _pieces(source, limit)
    got = 0
    writer = None
    try:
        for data in pieces:
            if writer is None and got:
                writer = _Writer(fd)
            hasher.update(data)
            if writer is None:
                _write_all(fd, data)
            else:
                writer.put(data)
            got += len(data)
        if writer is not None:
            writer.close()
    except OSError as error:
        _raise(error, directory)
    finally:
        if writer is not None:
            writer.abandon()
    return got


def _pieces(source, limit: int | None):
    if not hasattr(source, "read"):
        yield from source
        return
    got = 0
    while limit is None or got < limit:
        data = source.read(PIECE if limit is None else min(PIECE, limit - got))
        if not data:
            return
        got += len(data)
        yield data


#: pieces handed to a :class:`_Writer` and not yet written, at most
PIPELINE = 4


class _Writer:
    """Writes pieces to ``fd`` on a helper thread, in order; the first error is raised by the
    next :meth:`put` or by :meth:`close`."""

    def __init__(self, fd: int) -> None:
        self._queue: queue.Queue = queue.Queue(PIPELINE)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fd,), name="blob-writer", daemon=True)
        self._thread.start()

    def _run(self, fd: int) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._error is None:
                try:
                    _write_all(fd, data)
                except BaseException as error:  # noqa: BLE001 -- handed to the reading thread
                    self._error = error

    def put(self, data) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        """Wait until everything is written; raises the first write error."""
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """After an error elsewhere: stop the thread (what it had is written or dropped)."""
        if self._thread is not None:
            self._error = self._error or OSError("abandoned")
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class BlobFiles:
    """One blob directory (durable or private); see the module docstring."""

    def __init__(self, root: str, *, durable: bool) -> None:
        self.root = root
        self.durable = durable
        self.directory = os.path.join(root, BLOB_DIR)
        self.tmp = os.path.join(root, TMP_DIR)
        self.uploads = os.path.join(root, UPLOAD_DIR)
        self._unsynced: set[str] = set()
        self._lock = threading.Lock()
        for path in (self.directory, self.tmp, self.uploads):
            os.makedirs(path, exist_ok=True)

    # -- names -------------------------------------------------------------------------
    def path(self, digest: str) -> str:
        return os.path.join(self.directory, hex_of(digest))

    def temp_path(self) -> str:
        return os.path.join(self.tmp, uuid.uuid4().hex)

    def upload_path(self, upload_id: str) -> str:
        return os.path.join(self.uploads, upload_id)

    # -- writes ------------------------------------------------------------------------
    def stage(self, source, expected_digest: str | None = None, size: int | None = None) -> Staged:
        """Stream ``source`` into a temporary file while hashing it, and verify it: the bytes
        must have ``expected_digest`` (DigestMismatch) and, from a reader, ``size`` bytes
        (IncompleteBody). Nothing stays behind on any error."""
        path = self.temp_path()
        hasher = hashlib.sha256()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                got = write_stream(fd, source, size, hasher, self.root)
            finally:
                os.close(fd)
            if size is not None and got != size:
                raise IncompleteBody(size, got)
            digest = "sha256:" + hasher.hexdigest()
            if expected_digest is not None and digest != expected_digest:
                raise DigestMismatch(expected_digest, digest)
        except BaseException:
            _unlink(path)
            raise
        return Staged(path, digest, got)

    def place(self, staged: Staged) -> str:
        """Rename staged bytes to their digest's name (an existing file of that digest is the
        same bytes: the staged copy is dropped). Returns the final path."""
        final = self.path(staged.digest)
        if os.path.exists(final):
            if staged.path != final:
                _unlink(staged.path)
            return final
        os.replace(staged.path, final)
        if self.durable:
            with self._lock:
                self._unsynced.add(final)
        return final

    def remove(self, digest: str) -> None:
        """A private directory's blob file goes at once; a durable one waits for the sweep
        that follows the next save (the last saved metadata may still reference it)."""
        if not self.durable:
            _unlink(self.path(digest))

    # -- durability (state directory) --------------------------------------------------
    def sync(self) -> None:
        """fsync the files placed since the last call, and their directory."""
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
            fsync_dir(self.directory)

    def names(self) -> list[str]:
        """The digests of the blob files present."""
        return ["sha256:" + name for name in os.listdir(self.directory) if len(name) == 64]

    def remove_leftovers(self) -> None:
        """Temporary files of writes a crash interrupted (call before serving). Upload files
        stay: with a durable directory they are resumed (store/uploads.py)."""
        for name in os.listdir(self.tmp):
            _unlink(os.path.join(self.tmp, name))
        for name in os.listdir(self.directory):  # the layout before tmp/ existed
            if name.startswith(".tmp-"):
                _unlink(os.path.join(self.directory, name))


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_files(parent: str = "") -> BlobFiles:
    """A fresh private directory under ``parent`` (default: TMPDIR), locked by this process and
    removed when the process ends (or this object is collected); stale ones first go."""
    parent = parent or tempfile.gettempdir()
    os.makedirs(parent, exist_ok=True)
    remove_stale(parent)
    # made under another name and renamed once locked: a directory with the private prefix
    # always has a lock file, held by its process for as long as it lives
    making = tempfile.mkdtemp(prefix="." + PRIVATE_PREFIX, dir=parent)
    fd = os.open(os.path.join(making, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    root = os.path.join(parent, os.path.basename(making)[1:])
    os.rename(making, root)
    files = BlobFiles(root, durable=False)
    weakref.finalize(files, _remove_private, root, fd)
    return files


def _remove_private(root: str, fd: int) -> None:
    shutil.rmtree(root, ignore_errors=True)
    try:
        os.close(fd)
    except OSError:
        pass


def remove_stale(parent: str) -> int:
    """Remove the private directories in ``parent`` whose process is gone (their lock is free:
    a ``kill -9`` left them); returns how many went."""
    removed = 0
    try:
        names = [n for n in os.listdir(parent) if n.startswith(PRIVATE_PREFIX)]
    except OSError:
        return 0
    for name in names:
        root = os.path.join(parent, name)
        try:
            fd = os.open(os.path.join(root, "lock"), os.O_RDWR)
        except OSError:
            continue  # not ours, or being created right now
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live emulator holds it
        try:
            shutil.rmtree(root, ignore_errors=True)
            removed += 1
            log.info("removed %s, left by an ecr-emulator that was killed", root)
        finally:
            os.close(fd)
    return removed


def copy_into(fd: int, source_path: str, hasher, directory: str) -> int:
    """Append the file ``source_path`` to ``fd`` while hashing it; returns the bytes copied.

    The kernel copies (``copy_file_range``, on a helper thread) while this thread hashes a
    mapping of the file: no byte passes through a buffer of ours, and the two overlap on two
    cores. Where the kernel cannot copy between these files, pieces are read and written."""
    with open(source_path, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        if size >= PIECE and _kernel_copy(source.fileno(), fd, size, hasher, directory):
            return size
        return write_stream(fd, iter(lambda: source.read(PIECE), b""), None, hasher, directory)


#: copy_file_range's answers for "not between these files" (then the bytes go through Python)
_NO_KERNEL_COPY = (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF)


def _kernel_copy(source: int, fd: int, size: int, hasher, directory: str) -> bool:
    """Copy ``size`` bytes of ``source`` to ``fd`` with ``copy_file_range`` while hashing them
    from a mapping; False (nothing written, nothing hashed) if the kernel cannot copy them."""
    start = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        first = os.copy_file_range(source, fd, min(size, PIECE), 0)
    except OSError as error:
        if error.errno in _NO_KERNEL_COPY:
            os.lseek(fd, start, os.SEEK_SET)
            return False
        _raise(error, directory)
    failure: list[OSError] = []

    def copy_rest() -> None:
        done = first
        try:
            while done < size:
                got = os.copy_file_range(source, fd, size - done, done)
                if not got:
                    raise OSError(errno.EIO, f"the file ended {size - done} bytes early")
                done += got
        except OSError as error:
            failure.append(error)

    copier = threading.Thread(target=copy_rest, name="ecr-blob-copy", daemon=True)
    copier.start()
    try:
        with mmap.mmap(source, size, prot=mmap.PROT_READ) as mapping:
            hasher.update(mapping)
    finally:
        copier.join()
    if failure:
        _raise(failure[0], directory)
    return True


def _raise(error: OSError, directory: str):
    """Raise ``error``, as :class:`StorageFull` when it says the disk is full."""
    if error.errno in _FULL:
        raise StorageFull(directory, error) from None
    raise error
