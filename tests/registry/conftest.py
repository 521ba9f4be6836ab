"""Registry fixtures: an authenticated client of the session server, a repository, and extra
servers (auth off; tokens that expire at once) started only by the tests that need them."""

from __future__ import annotations

import pytest

from ecr_emulator.testing import ServerProcess, checked_client

from .client import Registry, authorization_token


@pytest.fixture
def registry(url, ecr) -> Registry:
    return Registry(url, authorization_token(ecr))


@pytest.fixture
def anonymous(url) -> Registry:
    return Registry(url)


@pytest.fixture
def repo(ecr) -> str:
    """A repository whose name has a slash, as most real ones do."""
    return ecr.create_repository(repositoryName="team/app")["repository"]["repositoryName"]


@pytest.fixture
def open_registry(open_server):
    return Registry(open_server.url)


@pytest.fixture
def open_ecr(open_server):
    return checked_client("ecr", open_server.url)


@pytest.fixture(scope="session")
def expiring_server():
    """A server whose authorization tokens expire the moment they are issued."""
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_TOKEN_HOURS": "0"}) as server:
        yield server
