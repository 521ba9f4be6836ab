"""Upload sessions: through ``/v2/<name>/blobs/uploads/`` or the layer-part API.

A session's bytes are a file (``uploads/<id>`` of the blob directory, blobfiles.py), appended
to while hashing, one request at a time and all or nothing: a body that ends early or fails
leaves the file truncated back to where it was. Completing renames the file into the store,
so a blob is written once. A body the server already spooled to a file of the blob directory
(``environ["ecr_emulator.body"]``) becomes the session's file by a rename when it is the
session's first bytes (:meth:`UploadSession.append_spooled`).

With a state directory (durable files) each session also has ``uploads/<id>.json``: after a
restart the session is resumed (its file cut back to the size last recorded, its digest
computed again), so a ``PATCH`` continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .blobfiles import (
    PIECE,
    DigestMismatch,
    IncompleteBody,
    Staged,
    StorageFull,
    copy_into,
    is_full,
    write_stream,
)

log = logging.getLogger(__name__)


class OutOfOrderChunk(Exception):
    """A chunk whose first byte is not the next byte of the upload."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


@dataclass
class UploadSession:
    id: str
    account: str
    region: str
    repository: str
    started_at: datetime
    part_sizes: list = field(default_factory=list)
    size: int = 0
    #: the file of the bytes received so far (created by the first append)
    path: str = ""
    #: where the session is recorded for a restart ("" without a state directory)
    record: str = ""
    #: when a request last used the session (``UploadSessions.get``): a push in flight
    last_active: datetime | None = None

    def __post_init__(self) -> None:
        self._hasher = hashlib.sha256()
        self.lock = threading.Lock()

    # -- appending ---------------------------------------------------------------------------
    def append(self, data: bytes) -> None:
        """Add one part (a layer-API ``UploadLayerPart``) to the end of the upload."""
        self._append(lambda fd, hasher: write_stream(fd, [data] if data else [], None, hasher, self.path))

    def append_stream(self, stream, length: int | None, first_byte: int | None = None) -> int:
        """Read a request body (``stream.read(n)``) into the upload; returns the bytes added.

        ``first_byte`` (from ``Content-Range``) must be the next byte of the upload. A body that
        ends before ``length`` raises :class:`IncompleteBody` and adds nothing."""
        if first_byte is not None and first_byte != self.size:
            raise OutOfOrderChunk(self.size)

        def write(fd, hasher) -> int:
            got = write_stream(fd, stream, length, hasher, self.path)
            if length is not None and got < length:
                raise IncompleteBody(length, got)
            return got

        return self._append(write)

    def append_spooled(self, body, first_byte: int | None = None) -> int:
        """Add a body the server spooled to a file (``ecr_emulator.body`` whose ``path`` is set;
        ``size``, ``claim``, ``sha256``): renamed into place when it is the session's first bytes (no copy, no
        second hash), else copied from its file while hashing."""
        if first_byte is not None and first_byte != self.size:
            raise OutOfOrderChunk(self.size)
        if self.size == 0 and body.path is not None and body.size and body.claim(self.path):
            self._hasher = body.sha256()
            self.size = body.size
            self.part_sizes.append(body.size)
            self._save_record()
            return body.size
        return self._append(lambda fd, hasher: copy_into(fd, body.path, hasher, self.path))

    def _append(self, write) -> int:
        """Run ``write(fd, hasher)`` at the end of the file; all or nothing."""
        hasher = self._hasher.copy()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.lseek(fd, self.size, os.SEEK_SET)
            got = write(fd, hasher)
        except BaseException as error:
            try:
                os.ftruncate(fd, self.size)
            except OSError:
                pass
            os.close(fd)
            if isinstance(error, OSError) and not isinstance(error, StorageFull) and is_full(error):
                raise StorageFull(os.path.dirname(self.path), error) from None
            raise
        os.close(fd)
        self._hasher = hasher
        self.size += got
        self.part_sizes.append(got)
        self._save_record()
        return got

    # -- completing --------------------------------------------------------------------------
    def digest(self) -> str:
        return "sha256:" + self._hasher.copy().hexdigest()

    def verified(self, expected_digest: str) -> Staged:
        """The session's bytes as staged bytes of ``expected_digest`` (DigestMismatch if not)."""
        actual = self.digest()
        if actual != expected_digest:
            raise DigestMismatch(expected_digest, actual)
        if self.size == 0 and not os.path.exists(self.path):
            open(self.path, "wb").close()
        return Staged(self.path, actual, self.size)

    def remove_files(self) -> None:
        for path in (self.path, self.record):
            if path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    # -- surviving a restart -------------------------------------------------------------------
    def _save_record(self) -> None:
        if not self.record:
            return
        data = {"id": self.id, "account": self.account, "region": self.region, "repository": self.repository,
                "startedAt": self.started_at.isoformat(), "size": self.size, "partSizes": self.part_sizes}
        tmp = self.record + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.record)

    @classmethod
    def resume(cls, record: str, path: str) -> "UploadSession":
        """The session recorded in ``record`` (its bytes in ``path`` cut back to the recorded size)."""
        with open(record) as f:
            data = json.load(f)
        session = cls(data["id"], data["account"], data["region"], data["repository"],
                      datetime.fromisoformat(data["startedAt"]), list(data["partSizes"]), int(data["size"]),
                      path=path, record=record)
        if session.size:
            with open(path, "r+b") as f:
                f.truncate(session.size)
                for piece in iter(lambda: f.read(PIECE), b""):
                    session._hasher.update(piece)
        return session


def pushing(activity: list[tuple[datetime, datetime]], since: datetime, now: datetime, window: timedelta) -> bool:
    """Whether a push that may name a blob released at ``since`` is in flight, judged from a
    repository's :meth:`UploadSessions.activity`: an upload session started before
    ``since + window`` (its client may have checked the blob just before it was released) and
    active within the last ``window`` (open, or finished that recently: its manifest is on its way)."""
    return any(started <= since + window and now - active < window for started, active in activity)


class UploadSessions:
    """Uploads in progress, by id (a UUID, as ECR's ``uploadId`` and Docker's upload UUID)."""

    def __init__(self, blobs) -> None:
        self._blobs = blobs
        self._sessions: dict[str, UploadSession] = {}
        self._lock = threading.Lock()
        #: how long after its start a session expires (None: never); set from the settings
        self.max_age: timedelta | None = None
        #: (account, region, repository, started, last active) of recently finished sessions,
        #: for :meth:`activity` (pruned there)
        self._finished: list[tuple[str, str, str, datetime, datetime]] = []

    def start(self, account: str, region: str, repository: str, now: datetime) -> UploadSession:
        files = self._blobs.files
        upload_id = str(uuid.uuid4())
        path = files.upload_path(upload_id)
        session = UploadSession(upload_id, account, region, repository, now, path=path,
                                record=path + ".json" if files.durable else "")
        session._save_record()
        with self._lock:
            self._sessions[session.id] = session
        return session

    def resume(self) -> int:
        """Take back the sessions recorded in a durable directory (after a restart); returns how many."""
        files = self._blobs.files
        count = 0
        for name in os.listdir(files.uploads):
            path = os.path.join(files.uploads, name)
            if name.endswith(".json.tmp"):
                os.unlink(path)
            if not name.endswith(".json"):
                continue
            data_path = path[:-len(".json")]
            try:
                session = UploadSession.resume(path, data_path)
            except (OSError, ValueError, KeyError, TypeError) as error:
                log.warning("dropping the upload recorded in %s: %s", path, error)
                for each in (path, data_path):
                    try:
                        os.unlink(each)
                    except FileNotFoundError:
                        pass
                continue
            with self._lock:
                self._sessions[session.id] = session
            count += 1
        recorded = {s.path for s in self._sessions.values()}
        for name in os.listdir(files.uploads):  # bytes of a session that was never recorded
            path = os.path.join(files.uploads, name)
            if not name.endswith(".json") and path not in recorded:
                os.unlink(path)
        return count

    def holds_bytes(self, upload_id: str) -> bool:
        """Whether upload ``upload_id`` has received bytes already (no access check: a hint for
        how the server receives the next chunk, never an answer to a client)."""
        session = self._sessions.get(upload_id)
        return session is not None and session.size > 0

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
        for session in old:
            session.remove_files()
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
        if session is not None:
            session.remove_files()

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
            gone = [s for s in self._sessions.values() if (s.account, s.region, s.repository) == (account, region, repository)]
            for session in gone:
                del self._sessions[session.id]
        for session in gone:
            session.remove_files()

    def clear(self) -> None:
        with self._lock:
            gone, self._sessions = list(self._sessions.values()), {}
            self._finished.clear()
        for session in gone:
            session.remove_files()
