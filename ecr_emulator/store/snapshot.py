"""The whole state as one value: what ``--state-dir`` saves and ``/_emulator/state`` exports.

A :class:`Snapshot` holds every registry (with its repositories, images, tags, policies and
whatever plain-data fields features hang off them), the sizes of the blobs they link, the
clock's offset and the tokens' signing key. It is encoded by the generic codec (codec.py), so
new state is saved with no change here; blob bytes travel beside it, as files named by digest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .blobs import Blob
from .codec import CodecError, decode, encode
from .model import RegistryState

FORMAT = "ecr-emulator-state"
VERSION = 1


@dataclass
class Snapshot:
    registries: list[RegistryState]
    #: digest -> size of every blob a repository links
    blobs: dict[str, int]
    clock_offset_seconds: float
    token_secret: bytes


def capture(backend, token_secret: bytes) -> tuple[dict, dict[str, Blob]]:
    """The state as JSON-ready data, and the blobs it references, taken under the lock (so
    it is one consistent moment; encoding copies everything, nothing is shared after)."""
    with backend.lock:
        linked = {digest for repo in backend.all_repositories() for digest in repo.blobs}
        blobs = {digest: blob for digest, blob in backend.blobs.items() if digest in linked}
        snapshot = Snapshot(
            registries=backend.registries(),
            blobs={digest: blob.size for digest, blob in sorted(blobs.items())},
            clock_offset_seconds=backend.clock.offset.total_seconds(),
            token_secret=token_secret,
        )
        data = {"format": FORMAT, "version": VERSION, "snapshot": encode(snapshot)}
    return data, blobs


def check_format(data) -> None:
    """That JSON ``data`` is an ecr-emulator state this version reads (its format and version
    first: a newer state says "upgrade" rather than failing on the fields it added)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CodecError(f"not an ecr-emulator state (no \"format\": \"{FORMAT}\")")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise CodecError(f"state format version {data.get('version')!r} is newer than this ecr-emulator "
                         f"reads ({VERSION}); upgrade ecr-emulator")


def parse(data) -> Snapshot:
    """The :class:`Snapshot` in JSON data (raises :class:`CodecError` if it is not one)."""
    check_format(data)
    try:
        snapshot = decode(data.get("snapshot"))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:  # a value the codec cannot read
        raise CodecError(f"the state cannot be read: {type(error).__name__}: {error}") from None
    if not isinstance(snapshot, Snapshot):
        raise CodecError("the state holds no snapshot")
    return snapshot


def apply(backend, snapshot: Snapshot, blob_for: Callable[[str, int], Blob]) -> None:
    """Make ``backend`` hold ``snapshot``; ``blob_for(digest, size)`` gives each blob."""
    blobs = {digest: blob_for(digest, size) for digest, size in snapshot.blobs.items()}
    backend.restore(snapshot.registries, blobs, timedelta(seconds=snapshot.clock_offset_seconds))
