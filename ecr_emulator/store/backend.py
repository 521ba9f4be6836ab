"""The whole emulated world: every registry, the shared blob store, uploads and the clock.

``Backend.private(account, region)`` and ``Backend.public(account)`` create registries on
first use. Metadata changes happen under ``Backend.lock`` (they are quick and in memory);
blob bytes stream in outside it and are committed under it.
"""

from __future__ import annotations

import threading

from .blobs import BlobStore, UploadSessions
from .clock import Clock
from .model import PRIVATE, PUBLIC, RegistryState, Repository

#: ECR Public lives in one region.
PUBLIC_REGION = "us-east-1"


class Backend:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.blobs = BlobStore()
        self.uploads = UploadSessions()
        self._registries: dict[tuple[str, str, str], RegistryState] = {}

    def private(self, account: str, region: str) -> RegistryState:
        return self._registry(account, region, PRIVATE)

    def public(self, account: str) -> RegistryState:
        return self._registry(account, PUBLIC_REGION, PUBLIC)

    def registry(self, account: str, region: str, kind: str) -> RegistryState:
        return self.public(account) if kind == PUBLIC else self.private(account, region)

    def _registry(self, account: str, region: str, kind: str) -> RegistryState:
        key = (kind, account, region)
        state = self._registries.get(key)
        if state is None:
            with self.lock:
                state = self._registries.setdefault(key, RegistryState(account, region, kind))
        return state

    def registries(self) -> list[RegistryState]:
        return list(self._registries.values())

    def all_repositories(self) -> list[Repository]:
        return [repo for state in self.registries() for repo in state.repositories.values()]

    def collect_garbage(self) -> None:
        """Drop blobs no repository links any more (after deletes)."""
        with self.lock:
            linked = {d for repo in self.all_repositories() for d in repo.blobs}
            self.blobs.discard_unreferenced(linked)

    def reset(self) -> None:
        """Forget everything: what ``POST /_emulator/reset`` does."""
        with self.lock:
            self._registries.clear()
            self.blobs.clear()
            self.uploads.clear()
            self.clock.reset()
