"""Shared fixtures: one real server per xdist worker (the plugin's ``ecr_emulator_server``, which
the plugin also wipes before each test that uses it), and boto3 clients whose every answer is
checked against botocore's output shapes."""

from __future__ import annotations

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client

pytest_plugins = ["pytester"]


def pytest_runtest_setup(item):
    """``@requires(condition, missing)`` (tests/tools.py): skip locally, fail in CI."""
    from .tools import need

    for mark in item.iter_markers("requires"):
        need(*mark.args)

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"


@pytest.fixture(scope="session")
def _open_server_process():
    with ServerProcess("--no-access-log", "--no-registry-auth") as server:
        yield server


@pytest.fixture
def open_server(_open_server_process):
    """A second server with registry auth off (``--no-registry-auth``), wiped for each test."""
    requests.post(_open_server_process.url + "/_emulator/reset", timeout=10)
    return _open_server_process


@pytest.fixture
def url(ecr_emulator_server, ecr_emulator_url) -> str:
    return ecr_emulator_url


@pytest.fixture
def make_client(url):
    """``make_client("ecr", account=..., region=...)``: a checked client of another identity."""
    def make(service: str = "ecr", **kwargs):
        return checked_client(service, url, **kwargs)

    return make


@pytest.fixture
def ecr(make_client):
    return make_client("ecr")


@pytest.fixture
def ecr_public(make_client):
    return make_client("ecr-public")
