"""Pull-through cache: images under a rule's prefix are fetched from the upstream registry on
a miss (``fetcher.py``, over ``client.py``'s OCI distribution client). The rules themselves
are operations of the control plane (``control/pull_through.py``)."""

from __future__ import annotations

from .fetcher import Fetcher


def install(emulator) -> None:
    emulator.backend.upstreams = Fetcher(emulator)
