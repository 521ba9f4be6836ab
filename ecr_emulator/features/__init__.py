"""Engines that act on the store: each feature module has ``install(emulator)``, which
subscribes to the store's events (``backend.events``) and schedules periodic work
(``backend.tasks.every``). A feature's emulator endpoints are plain data (``ENDPOINTS``, of
:class:`~ecr_emulator.features.endpoints.Endpoint`), gathered here in :data:`ENDPOINTS`; the
HTTP layer (``runtime/admin.py``) mounts them behind its guards, so no engine imports a web
framework and importing one declares nothing as a side effect.

:func:`install` is called once per :class:`~ecr_emulator.app.Emulator`, so the in-process
``mock_ecr`` and the server get the same features.
"""

from __future__ import annotations

from . import (
    calls,
    collector,
    delivery,
    eventbridge,
    faults,
    lifecycle_runs,
    persistence,
    pull_through,
    replication,
    scanning,
    signing,
)
from .endpoints import Endpoint
from .scanning import canned

#: ``install(emulator)`` of every feature, in order (the event log first: the call log and the
#: EventBridge delivery feed on it; persistence last: it restores the saved state once the
#: others are subscribed)
INSTALLERS: list = [eventbridge.install, calls.install, delivery.install, faults.install, pull_through.install,
                    scanning.install, replication.install, signing.install, lifecycle_runs.install, collector.install,
                    persistence.install]

#: every feature's emulator endpoints (``/_emulator<rule>``), for the HTTP layer to mount
ENDPOINTS: tuple[Endpoint, ...] = (*eventbridge.ENDPOINTS, *calls.ENDPOINTS, *faults.ENDPOINTS,
                                   *canned.ENDPOINTS, *lifecycle_runs.ENDPOINTS, *collector.ENDPOINTS,
                                   *persistence.ENDPOINTS)


def install(emulator) -> None:
    for installer in INSTALLERS:
        installer(emulator)
