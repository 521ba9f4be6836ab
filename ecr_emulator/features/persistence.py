"""Persistence (``--state-dir``) and the snapshot endpoints (``/_emulator/state``).

With a state directory the server restores what it holds on start, writes each blob to its
file as it arrives, saves the metadata every ``--save-interval`` seconds (when it changed)
and on shutdown, so a ``kill -9`` loses at most the changes of the last interval plus the
time one save takes; the order of writes (store/statedir.py) keeps what is on disk
consistent at every moment. Uploads in progress live in ``uploads/`` and are resumed on start
(store/uploads.py).

``GET /_emulator/state`` exports the whole state as a tar stream and ``PUT`` replaces the
state with one (``curl -T state.tar``), with or without a state directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import weakref

from ..identity.tokens import TokenSigner
from ..store import schema, snapshot, tarball
from ..store.blobs import StorageFull
from ..store.codec import CodecError
from ..store.statedir import StateDir, StateDirError, open_blob
from .endpoints import STREAM, Call, Endpoint, Refused, Stream

log = logging.getLogger(__name__)

_SAVERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Saver:
    """Saves one emulator's state to its state directory (one save at a time)."""

    def __init__(self, emulator, state: StateDir) -> None:
        self.emulator = emulator
        self.state = state
        self.lock = threading.Lock()
        self._last: bytes | None = None
        #: ``Backend.lock.releases`` right after the last look: unchanged means untouched since
        self._quiet_at = -1
        self.saves = 0

    def save(self, *, wait: bool = True) -> bool:
        """Write the metadata if it changed, then sweep unreferenced blob files; False when
        another save is running and ``wait`` is false (the periodic save then skips a turn)."""
        if not self.lock.acquire(blocking=wait):
            return False
        try:
            backend = self.emulator.backend
            with backend.lock:
                data, blobs = snapshot.capture(backend, self.emulator.tokens.secret)
                self._quiet_at = backend.lock.releases + 1  # counting the release just below
            raw = json.dumps(data, separators=(",", ":")).encode()
            fingerprint = hashlib.sha256(raw).digest()
            if fingerprint != self._last:
                self.state.write(raw)
                self._last = fingerprint
                self.saves += 1
            backend.blobs.sweep(lambda digest: digest in blobs)
            return True
        finally:
            self.lock.release()

    def periodic(self) -> None:
        if self.emulator.backend.lock.releases == self._quiet_at:
            return  # nobody has taken the lock since the last look: nothing changed
        try:
            self.save(wait=False)
        except Exception:  # noqa: BLE001 -- keep serving; the next turn tries again
            log.exception("saving the state to %s failed", self.state.root)


def checked(data: dict) -> snapshot.Snapshot:
    """``state.json`` as a snapshot, once it passed the state's schema (store/schema.py) and
    its consistency checks: what an import and a restart both require before applying anything
    (raises :class:`CodecError` naming the first bad path)."""
    snapshot.check_format(data)
    schema.validate(data)
    snap = snapshot.parse(data)
    schema.check_consistency(snap)
    return snap


def _read_checked(state: StateDir) -> snapshot.Snapshot | None:
    data = state.read()
    if data is None:
        return None
    try:
        return checked(data)
    except CodecError as error:
        raise StateDirError(f"{state.metadata}: {error}") from None


def preflight(settings) -> None:
    """Check (and lock) the state directory before the server starts, so a problem is one
    clear line instead of a failing worker. Raises :class:`StateDirError`."""
    if settings.state_dir:
        _read_checked(StateDir(settings.state_dir).open())


def install(emulator) -> None:
    directory = emulator.settings.state_dir
    if not directory:
        return
    state = StateDir(directory).open()
    snap = _read_checked(state)
    if snap is not None:
        snapshot.apply(emulator.backend, snap, lambda digest, size: open_blob(state.blobs, digest, size))
        emulator.tokens = TokenSigner(snap.token_secret)
        log.info("restored the state saved in %s", state.root)
    emulator.backend.blobs.attach(state.blobs)
    resumed = emulator.backend.uploads.resume()
    if resumed:
        log.info("resumed %d upload(s) in progress from %s", resumed, state.root)
    saver = Saver(emulator, state)
    _SAVERS[emulator] = saver
    saver.save()  # at once: the tokens' key is on disk from the first moment
    emulator.backend.tasks.every(emulator.settings.save_interval, saver.periodic)
    emulator.on_close(saver.save)


def saver_of(emulator) -> Saver | None:
    return _SAVERS.get(emulator)


def export_state(current, call: Call) -> Stream:
    """The whole state as a tar stream (blobs, then ``state.json``)."""
    data, blobs = snapshot.capture(current.backend, current.tokens.secret)
    return Stream(tarball.export_stream(data, blobs), "application/x-tar",
                  {"Content-Disposition": 'attachment; filename="ecr-emulator-state.tar"'})


def _limits(settings) -> tarball.Limits:
    return tarball.Limits(metadata=settings.snapshot_metadata_limit, total=settings.snapshot_size_limit)


def import_state(current, call: Call) -> dict:
    """Replace the whole state with an exported one (the tokens' key included). The archive is
    read (its blobs staged in the blob store, verified against their names), its metadata
    validated against the state's schema (store/schema.py) and checked, before anything is
    applied: on any error nothing changes and the staged blobs are dropped."""
    saver = saver_of(current)
    store = current.backend.blobs
    guard = saver.lock if saver else threading.Lock()
    with guard:  # no save (and no sweep of the files arriving) while importing
        try:
            data, blobs = tarball.read_archive(call.body, store, _limits(current.settings))
        except tarball.ArchiveTooLarge as error:
            raise Refused(str(error), 413) from None
        except tarball.ArchiveError as error:
            raise Refused(str(error)) from None
        except StorageFull as error:
            raise Refused(f"the archive's blobs do not fit: {error.strerror}", 507) from None
        try:
            snap = checked(data)
        except CodecError as error:
            _drop(store, blobs)
            raise Refused(str(error)) from None
        missing = sorted(set(snap.blobs) - set(blobs))
        if missing:
            _drop(store, blobs)
            raise Refused(f"the archive lacks the blobs {', '.join(missing[:5])}"
                          + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
        wrong = [d for d, size in snap.blobs.items() if blobs[d].size != size]
        if wrong:
            _drop(store, blobs)
            raise Refused(f"state.json: $.snapshot.blobs: the sizes of {', '.join(wrong[:5])} are not "
                          "those of their files")
        _drop(store, {d: b for d, b in blobs.items() if d not in snap.blobs})
        key_before = current.tokens.secret
        snapshot.apply(current.backend, snap, lambda digest, size: blobs[digest])
        current.tokens = TokenSigner(snap.token_secret)
    if current.tokens.secret != key_before:
        log.warning("state imported: registry logins issued before the import no longer work (the "
                    "snapshot brings its own token key); clients log in again")
    if saver:
        saver.save()
    registries = current.backend.registries()
    return {"status": "ok", "registries": len(registries),
            "repositories": sum(len(r.repositories) for r in registries), "blobs": len(snap.blobs)}


def _drop(store, staged: dict) -> None:
    for each in staged.values():
        store.drop(each)


ENDPOINTS = (
    Endpoint("/state", ("GET",), export_state),
    Endpoint("/state", ("PUT", "POST"), import_state, body=STREAM),
)
