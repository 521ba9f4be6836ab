"""Reading an image's layers as a stream and keeping only the files the scanner needs.

A layer is a tar archive, plain, gzip or zstd (told apart by its first bytes, as container
runtimes do, whatever the media type says). It is decompressed and walked as it streams out of
the blob store: nothing holds a whole layer, so memory does not grow with layer size. Whiteouts
(``.wh.<name>`` deletes ``<name>`` of lower layers, ``.wh..wh..opq`` empties a directory of
lower layers' content) are applied layer by layer, so what is left is the image's filesystem.

Budgets (:class:`Budget`, from the ``scan_*`` settings) bound what one scan may cost: the bytes a
layer and the whole image expand to (time: a small gzip can expand to terabytes), and the wanted
files read and kept, by count and by bytes (memory: the kept files are the scan's only large
allocation). Going past one ends the walk with :class:`BudgetExceeded`, which names it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: files larger than this are not read even when wanted (a package database is far smaller)
MAX_FILE = 64 << 20
READ_SIZE = 1 << 20
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True)
class Budget:
    """What one scan may expand and keep (the ``scan_*`` settings; see the README)."""

    layer_bytes: int = 8 << 30
    image_bytes: int = 32 << 30
    files: int = 100_000
    read_bytes: int = 96 << 20

    @classmethod
    def of(cls, settings) -> "Budget":
        return cls(settings.scan_max_layer_bytes, settings.scan_max_image_bytes, settings.scan_max_files,
                   settings.scan_max_read_bytes)


class BudgetExceeded(Exception):
    """The image is past one of the scan's budgets (the message names it and its setting)."""


class _Spent:
    """What a walk has used of its budget so far."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.image_bytes = 0
        self.layer_bytes = 0
        self.files = 0
        self.read_bytes = 0

    def expanded(self, count: int, digest: str) -> None:
        self.layer_bytes += count
        self.image_bytes += count
        if self.layer_bytes > self.budget.layer_bytes:
            raise BudgetExceeded(f"layer {digest} expands to more than {_size(self.budget.layer_bytes)}, the "
                                 "scanner's budget per layer (ECR_EMULATOR_SCAN_MAX_LAYER_BYTES)")
        if self.image_bytes > self.budget.image_bytes:
            raise BudgetExceeded(f"the image's layers expand to more than {_size(self.budget.image_bytes)}, the "
                                 "scanner's budget per image (ECR_EMULATOR_SCAN_MAX_IMAGE_BYTES)")

    def reading(self, size: int, path: str) -> None:
        """About to read and keep a wanted file of ``size`` bytes (checked before reading it)."""
        self.files += 1
        self.read_bytes += size
        if self.files > self.budget.files:
            raise BudgetExceeded(f"the image has more than {self.budget.files} files the scanner reads (at {path}), "
                                 "its budget per image (ECR_EMULATOR_SCAN_MAX_FILES)")
        if self.read_bytes > self.budget.read_bytes:
            raise BudgetExceeded(f"the package databases and manifests the scanner reads exceed "
                                 f"{_size(self.budget.read_bytes)} (at {path}), its budget per image "
                                 "(ECR_EMULATOR_SCAN_MAX_READ_BYTES)")


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift and count % (1 << shift) == 0:
            return f"{count >> shift} {unit}"
    return f"{count} bytes"


class _Counted(io.RawIOBase):
    """The decompressed stream of a layer, counting what it expands to against the budget."""

    def __init__(self, stream, spent: _Spent, digest: str) -> None:
        self._stream, self._spent, self._digest = stream, spent, digest

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        data = self._stream.read(len(target))
        self._spent.expanded(len(data), self._digest)
        target[:len(data)] = data
        return len(data)


class LayerError(Exception):
    """A layer that cannot be read (corrupt, truncated, not a tar)."""

    def __init__(self, digest: str, reason: str) -> None:
        super().__init__(f"layer {digest} could not be read: {reason}")
        self.digest, self.reason = digest, reason


class _ChunkReader(io.RawIOBase):
    """A read-only stream over an iterator of buffers (the blob's stored chunks)."""

    def __init__(self, chunks: Iterable) -> None:
        self._chunks = iter(chunks)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._current:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._current = memoryview(nxt).cast("B")
        n = min(len(target), len(self._current))
        target[:n] = self._current[:n]
        self._current = self._current[n:]
        return n


def open_layer(chunks: Iterable) -> io.BufferedIOBase:
    """The decompressed tar stream of a layer given as buffers."""
    raw = io.BufferedReader(_ChunkReader(chunks), READ_SIZE)
    head = raw.peek(4)[:4]
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if head.startswith(ZSTD_MAGIC):
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, read_size=READ_SIZE), READ_SIZE)
    return raw


@dataclass
class FileVersion:
    layer: str
    #: the file's bytes (a bytearray, as read in place)
    data: bytes | bytearray


@dataclass
class FileSystem:
    """The wanted files of an image, after every layer: ``history[path]`` lists the versions
    each layer wrote since the path last disappeared, oldest first (the last one is current)."""

    history: dict[str, list[FileVersion]] = field(default_factory=dict)
    #: paths of every layer (diff) in order, for reporting
    layers: list[str] = field(default_factory=list)

    def current(self, path: str) -> FileVersion | None:
        versions = self.history.get(path)
        return versions[-1] if versions else None

    def paths(self) -> list[str]:
        return sorted(self.history)


def normalize(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.strip("/")


def _members(stream, digest: str) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
    try:
        with tarfile.open(fileobj=stream, mode="r|", bufsize=READ_SIZE) as tar:
            for member in tar:
                yield member, tar
        while stream.read(READ_SIZE):  # the rest (padding): a truncated or corrupt end still fails
            pass
    except (tarfile.TarError, EOFError, OSError, zlib.error, zstandard.ZstdError) as error:
        raise LayerError(digest, str(error) or type(error).__name__) from None


def walk(layers: list[tuple[str, Iterable]], wanted: Callable[[str], bool],
         budget: Budget = Budget()) -> FileSystem:
    """Apply ``layers`` (``(digest, chunks)``, bottom first) and keep the ``wanted`` files;
    :class:`BudgetExceeded` once the image is past ``budget``."""
    fs = FileSystem()
    spent = _Spent(budget)
    for digest, chunks in layers:
        spent.layer_bytes = 0
        deleted: list[str] = []
        opaque: list[str] = []
        written: dict[str, bytearray | None] = {}
        try:
            stream = io.BufferedReader(_Counted(open_layer(chunks), spent, digest), READ_SIZE)
        except (OSError, zstandard.ZstdError) as error:
            raise LayerError(digest, str(error)) from None
        for member, tar in _members(stream, digest):
            path = normalize(member.name)
            base = path.rsplit("/", 1)[-1]
            parent = path[: -len(base)].rstrip("/")
            if base == OPAQUE:
                opaque.append(parent)
            elif base.startswith(WHITEOUT):
                deleted.append(f"{parent}/{base[len(WHITEOUT):]}".lstrip("/"))
            elif member.isfile() and wanted(path) and member.size <= MAX_FILE:
                spent.reading(member.size, path)
                written[path] = _read(tar, member, digest)
            elif wanted(path) or path in fs.history:
                written[path] = None  # replaced by a directory, link or oversized file
        for gone in deleted:
            _drop(fs, gone)
        for directory in opaque:
            _drop(fs, directory, keep_self=True)
        for path, data in written.items():
            if data is None:
                fs.history.pop(path, None)
            else:
                fs.history.setdefault(path, []).append(FileVersion(digest, data))
        fs.layers.append(digest)
    return fs


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, digest: str) -> bytearray:
    """The member's bytes, read in place into one buffer (a file is never held twice)."""
    data = bytearray(member.size)
    view, got = memoryview(data), 0
    try:
        handle = tar.extractfile(member)
        while handle is not None and got < member.size:
            # piece by piece: tarfile would build a whole-size read out of joined chunks
            count = handle.readinto(view[got:got + READ_SIZE])
            if not count:
                break
            got += count
    except (tarfile.TarError, EOFError, OSError, zlib.error, zstandard.ZstdError) as error:
        raise LayerError(digest, str(error) or type(error).__name__) from None
    finally:
        view.release()
    if got != member.size:
        raise LayerError(digest, f"unexpected end of data in {member.name}")
    return data


def _drop(fs: FileSystem, path: str, keep_self: bool = False) -> None:
    prefix = path + "/" if path else ""
    for existing in [p for p in fs.history if p.startswith(prefix) or (not keep_self and p == path)]:
        del fs.history[existing]
