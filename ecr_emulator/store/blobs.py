"""The content-addressed blob store and upload sessions.

Bytes are kept as the list of buffers they arrived in: nothing is joined or copied after it
is read off the socket, and the digest is updated as each buffer arrives. A repository "has"
a blob only if it links it (``Repository.blobs``); the store itself is shared, so a mount or
a second push of the same layer costs nothing.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

READ_SIZE = 4 << 20
#: pieces a file-backed blob is read in (the size of the buffers the server sends)
FILE_READ_SIZE = 1 << 20


@dataclass
class Blob:
    digest: str
    size: int
    chunks: list = field(repr=False)

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """The bytes ``[start, end)`` as views of the stored buffers (no copy)."""
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
    """A blob kept in a file of the state directory (``--state-dir``) instead of in memory."""

    path: str = ""

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        end = self.size if end is None else min(end, self.size)
        with open(self.path, "rb") as f:
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

    With :meth:`attach` (a state directory), a blob's bytes go to its file before the blob is
    stored (:meth:`keeping`), and the store keeps :class:`FileBlob` s instead of the bytes.
    """

    def __init__(self) -> None:
        self._blobs: dict[str, Blob] = {}
        self._lock = threading.Lock()
        self.files = None
        #: digests between "file written" and "stored" (a sweep of unreferenced files skips them)
        self._arriving: Counter = Counter()

    def attach(self, files) -> None:
        """Keep blob bytes in ``files`` (a :class:`~ecr_emulator.store.statedir.BlobFiles`)."""
        self.files = files

    @contextmanager
    def keeping(self, blob: Blob):
        """Call outside ``Backend.lock``, and :meth:`add` the blob it gives inside the ``with``:
        with files attached, the bytes are written to the blob's file first (so the metadata
        that will reference it is never on disk before it) and a :class:`FileBlob` is given."""
        with self._lock:
            self._arriving[blob.digest] += 1
            stored = self._blobs.get(blob.digest)
        try:
            if self.files is not None and not isinstance(blob, FileBlob):
                blob = stored if isinstance(stored, FileBlob) else self.files.write(blob)
            yield blob
        finally:
            with self._lock:
                self._arriving[blob.digest] -= 1
                if not self._arriving[blob.digest]:
                    del self._arriving[blob.digest]

    def in_use(self, digest: str) -> bool:
        """Whether ``digest`` is stored or arriving (its file must stay)."""
        with self._lock:
            return digest in self._blobs or digest in self._arriving

    def add(self, blob: Blob) -> Blob:
        """Store ``blob`` unless a blob with its digest exists; return the stored one."""
        with self._lock:
            return self._blobs.setdefault(blob.digest, blob)

    def get(self, digest: str) -> Blob | None:
        return self._blobs.get(digest)

    def discard_unreferenced(self, referenced: set[str]) -> tuple[int, int]:
        """Drop blobs whose digest is not in ``referenced``; returns how many and their bytes."""
        with self._lock:
            gone = [self._blobs.pop(d) for d in [d for d in self._blobs if d not in referenced]]
        return len(gone), sum(b.size for b in gone)

    def stats(self) -> tuple[int, int]:
        """Stored blobs and their bytes."""
        blobs = list(self._blobs.values())
        return len(blobs), sum(b.size for b in blobs)

    def clear(self) -> None:
        with self._lock:
            self._blobs.clear()

    def replace(self, blobs: dict[str, Blob]) -> None:
        with self._lock:
            self._blobs = dict(blobs)

    def items(self) -> list[tuple[str, Blob]]:
        with self._lock:
            return list(self._blobs.items())

    def __len__(self) -> int:
        return len(self._blobs)


class OutOfOrderChunk(Exception):
    """A chunk whose first byte is not the next byte of the upload."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


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


@dataclass
class UploadSession:
    """An upload in progress: through ``/v2/<name>/blobs/uploads/`` or the layer-part API."""

    id: str
    account: str
    region: str
    repository: str
    started_at: datetime
    chunks: list = field(default_factory=list, repr=False)
    part_sizes: list = field(default_factory=list)
    size: int = 0
    #: when a request last used the session (``UploadSessions.get``): a push in flight
    last_active: datetime | None = None

    def __post_init__(self) -> None:
        self._hasher = hashlib.sha256()
        self.lock = threading.Lock()

    def append(self, data: bytes) -> None:
        """Add one part (a layer-API ``UploadLayerPart``) to the end of the upload."""
        self._hasher.update(data)
        if data:
            self.chunks.append(data)
        self.size += len(data)
        self.part_sizes.append(len(data))

    def append_stream(self, stream, length: int | None, first_byte: int | None = None) -> int:
        """Read a request body (``stream.read(n)``) into the upload; returns the bytes added.

        The buffers read off the stream are kept as they are (no join, no copy) and the
        digest is updated as they arrive. All or nothing: the upload changes only once the
        whole body is in, so a body that ends before ``length`` (:class:`IncompleteBody`) or
        a stream error leaves it as it was. ``first_byte`` (from ``Content-Range``) must be
        the next byte of the upload.
        """
        if first_byte is not None and first_byte != self.size:
            raise OutOfOrderChunk(self.size)
        hasher = self._hasher.copy()
        chunks: list[bytes] = []
        got = 0
        while length is None or got < length:
            data = stream.read(READ_SIZE if length is None else min(READ_SIZE, length - got))
            if not data:
                break
            hasher.update(data)
            chunks.append(data)
            got += len(data)
        if length is not None and got < length:
            raise IncompleteBody(length, got)
        self._hasher = hasher
        self.chunks.extend(chunks)
        self.size += got
        self.part_sizes.append(got)
        return got

    def digest(self) -> str:
        return "sha256:" + self._hasher.copy().hexdigest()

    def to_blob(self, expected_digest: str) -> Blob:
        actual = self.digest()
        if actual != expected_digest:
            raise DigestMismatch(expected_digest, actual)
        return Blob(actual, self.size, self.chunks)


def pushing(activity: list[tuple[datetime, datetime]], since: datetime, now: datetime, window: timedelta) -> bool:
    """Whether a push that may name a blob released at ``since`` is in flight, judged from a
    repository's :meth:`UploadSessions.activity`: an upload session started before
    ``since + window`` (its client may have checked the blob just before it was released) and
    active within the last ``window`` (open, or finished that recently: its manifest is on its way)."""
    return any(started <= since + window and now - active < window for started, active in activity)


class UploadSessions:
    """Uploads in progress, by id (a UUID, as ECR's ``uploadId`` and Docker's upload UUID)."""

    def __init__(self) -> None:
        self._sessions: dict[str, UploadSession] = {}
        self._lock = threading.Lock()
        #: how long after its start a session expires (None: never); set from the settings
        self.max_age: timedelta | None = None
        #: (account, region, repository, started, last active) of recently finished sessions,
        #: for :meth:`activity` (pruned there)
        self._finished: list[tuple[str, str, str, datetime, datetime]] = []

    def start(self, account: str, region: str, repository: str, now: datetime) -> UploadSession:
        session = UploadSession(str(uuid.uuid4()), account, region, repository, now)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def get(self, upload_id: str, account: str, region: str, repository: str,
            now: datetime | None = None) -> UploadSession | None:
        """The session, if it belongs to that repository and (given ``now``) has not expired."""
        session = self._sessions.get(upload_id)
        if session and (session.account, session.region, session.repository) == (account, region, repository):
            if now is not None and self.max_age is not None and now >= session.started_at + self.max_age:
                self.finish(upload_id)
                return None
            if now is not None:
                session.last_active = now
            return session
        return None

    def expire(self, now: datetime) -> tuple[int, int]:
        """Drop sessions older than ``max_age``; returns how many and the bytes they held."""
        if self.max_age is None:
            return 0, 0
        with self._lock:
            old = [s for s in self._sessions.values() if now >= s.started_at + self.max_age]
            for session in old:
                del self._sessions[session.id]
        return len(old), sum(s.size for s in old)

    def stats(self) -> tuple[int, int]:
        """Open sessions and the bytes they hold."""
        sessions = list(self._sessions.values())
        return len(sessions), sum(s.size for s in sessions)

    def finish(self, upload_id: str) -> None:
        with self._lock:
            session = self._sessions.pop(upload_id, None)
            if session is not None:
                self._finished.append((session.account, session.region, session.repository, session.started_at,
                                       session.last_active or session.started_at))

    def activity(self, now: datetime, window: timedelta) -> dict[tuple[str, str, str], list[tuple[datetime, datetime]]]:
        """(started, last active) of the sessions open, or finished within ``window``, by
        (account, region, repository): what the collector asks :func:`pushing` about."""
        with self._lock:
            self._finished = [f for f in self._finished if now - f[4] < window]
            records = [(s.account, s.region, s.repository, s.started_at, s.last_active or s.started_at)
                       for s in self._sessions.values()] + self._finished
        found: dict[tuple[str, str, str], list[tuple[datetime, datetime]]] = {}
        for account, region, repository, started, active in records:
            found.setdefault((account, region, repository), []).append((started, active))
        return found

    def drop_repository(self, account: str, region: str, repository: str) -> None:
        with self._lock:
            for key, s in list(self._sessions.items()):
                if (s.account, s.region, s.repository) == (account, region, repository):
                    del self._sessions[key]

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._finished.clear()
