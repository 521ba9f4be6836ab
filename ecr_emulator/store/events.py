"""What happened to images, for the features that react to it (scan on push, replication,
signing, ...). The store's doors emit; features subscribe in ``features.install``.

Listeners run synchronously, with ``Backend.lock`` held, right after the change is committed:
they must be quick (record a status, submit work to ``Backend.tasks``) and must not raise. A
listener that raises is logged and the others still run: a feature's bug never undoes a push.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .model import Image, Repository
from .scans import ImageScan

log = logging.getLogger(__name__)


class Door(str, enum.Enum):
    """Who changed an image, as ``Backend.put_image`` / ``delete_image`` / ``remove_tag`` are told
    and the events carry it (a ``str``, so it compares, hashes and serializes as its value):

    - ``registry``: a manifest PUT or DELETE (the registry);
    - ``api``: PutImage (the control plane);
    - ``replication``: a replica arriving, or delete replication;
    - ``pull-through``: an image a pull-through cache rule fetched from its upstream;
    - ``signing``: a signature managed signing pushed as a referrer;
    - ``lifecycle``: a lifecycle policy expiring an image;
    - ``""`` (``USER``): a user's delete or untag, through either door.
    """

    USER = ""
    REGISTRY = "registry"
    API = "api"
    REPLICATION = "replication"
    PULL_THROUGH = "pull-through"
    SIGNING = "signing"
    LIFECYCLE = "lifecycle"

    __str__ = str.__str__


@dataclass(frozen=True)
class ImagePushed:
    """An image arrived in ``repo`` (new, or an existing manifest given a new tag).

    ``door`` (a :class:`Door`): ``registry``, ``api``, ``replication``, ``pull-through`` or
    ``signing``, so a feature can tell replicas from pushes (replication does not chain) and
    signatures from images (they are not signed again).
    """

    repo: Repository
    image: Image
    tag: str | None
    new: bool
    door: Door


@dataclass(frozen=True)
class ImageDeleted:
    repo: Repository
    image: Image
    #: who deleted it: ``Door.USER`` (a user, through either door), ``Door.REPLICATION`` (delete
    #: replication) or ``Door.LIFECYCLE`` (a lifecycle policy expired it)
    door: Door = Door.USER


@dataclass(frozen=True)
class TagRemoved:
    """``tag`` was taken off ``image``, which stays in ``repo`` with its other tags (when the
    last tag goes, the image goes: :class:`ImageDeleted`)."""

    repo: Repository
    image: Image
    tag: str
    door: Door = Door.USER


@dataclass(frozen=True)
class ScanStarted:
    """A scan of ``image`` was recorded (``store.image_door.start_scan``: on push or StartImageScan);
    the scanner runs it."""

    repo: Repository
    image: Image
    scan: ImageScan


@dataclass(frozen=True)
class ScanFinished:
    """``scan`` of ``image`` ended (``scan.status``: COMPLETE, ACTIVE, FAILED, UNSUPPORTED_IMAGE...)
    and its result is recorded (``features/scanning``)."""

    repo: Repository
    image: Image
    scan: ImageScan


@dataclass(frozen=True)
class ImageReplicated:
    """Replication of ``image`` (tagged ``tag``) of ``source`` to the registry of ``account`` in
    ``region`` was attempted: ``failure`` is None when it arrived, else the failure code."""

    source: Repository
    image: Image
    tag: str | None
    account: str
    region: str
    failure: str | None = None


@dataclass(frozen=True)
class PullThroughSynced:
    """A pull-through cache rule fetched (or failed to fetch) ``tag``/``digest`` of repository
    ``name`` from its upstream; ``failure``/``reason`` are set when it failed."""

    account: str
    region: str
    name: str
    prefix: str
    upstream_registry_url: str
    tag: str | None
    digest: str | None
    failure: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StorageClassChanged:
    """``image`` moved to ``storage_class`` (ARCHIVE, or STANDARD once a restore started)."""

    repo: Repository
    image: Image
    storage_class: str


@dataclass(frozen=True)
class ScanningConfigured:
    """PutRegistryScanningConfiguration replaced ``state.scanning``; ``previous`` is the
    configuration it had (``scans.ScanningConfiguration``)."""

    state: object
    previous: object


@dataclass(frozen=True)
class BackfillStarted:
    """StartReplicationBackfill added ``backfill`` (``store.backfills.ReplicationBackfill``,
    PREPARING) to ``state``; the replication feature runs it."""

    state: object
    backfill: object


@dataclass(frozen=True)
class StateReset:
    """Everything was forgotten (``Backend.reset``): features drop what they keep besides the store."""


class Events:
    def __init__(self) -> None:
        self._listeners: dict[type, list[Callable]] = {}

    def subscribe(self, kind: type, listener: Callable) -> None:
        self._listeners.setdefault(kind, []).append(listener)

    def emit(self, event) -> None:
        for listener in self._listeners.get(type(event), ()):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 -- a feature's bug must not undo the change
                log.exception("listener %r failed on %s", listener, type(event).__name__)
