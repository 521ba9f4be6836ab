"""The pytest plugin (entry point ``pytest11``): fixtures for suites that test against ECR.

``ecr_emulator_server``: one real ``ecr-emulator serve`` per test session (per xdist worker),
bound to a free loopback port. ``ecr_emulator_url``: its base URL.
"""

from __future__ import annotations

import pytest

from .server import ServerProcess


@pytest.fixture(scope="session")
def ecr_emulator_server():
    with ServerProcess("--no-access-log") as server:
        yield server


@pytest.fixture(scope="session")
def ecr_emulator_url(ecr_emulator_server) -> str:
    return ecr_emulator_server.url
