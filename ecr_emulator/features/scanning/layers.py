"""Reading an image's layers as a stream and keeping only the files the scanner needs.

A layer is a tar archive, plain, gzip or zstd (told apart by its first bytes, as container
runtimes do, whatever the media type says). It is decompressed and walked as it streams out of
the blob store: nothing holds a whole layer, so memory does not grow with layer size. Whiteouts
(``.wh.<name>`` deletes ``<name>`` of lower layers, ``.wh..wh..opq`` empties a directory of
lower layers' content) are applied layer by layer, so what is left is the image's filesystem.
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
    data: bytes


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


def walk(layers: list[tuple[str, Iterable]], wanted: Callable[[str], bool]) -> FileSystem:
    """Apply ``layers`` (``(digest, chunks)``, bottom first) and keep the ``wanted`` files."""
    fs = FileSystem()
    for digest, chunks in layers:
        deleted: list[str] = []
        opaque: list[str] = []
        written: dict[str, bytes | None] = {}
        try:
            stream = open_layer(chunks)
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


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo, digest: str) -> bytes:
    try:
        handle = tar.extractfile(member)
        data = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError, zlib.error, zstandard.ZstdError) as error:
        raise LayerError(digest, str(error) or type(error).__name__) from None
    if len(data) != member.size:
        raise LayerError(digest, f"unexpected end of data in {member.name}")
    return data


def _drop(fs: FileSystem, path: str, keep_self: bool = False) -> None:
    prefix = path + "/" if path else ""
    for existing in [p for p in fs.history if p.startswith(prefix) or (not keep_self and p == path)]:
        del fs.history[existing]
