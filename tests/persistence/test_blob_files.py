"""Blob bytes on disk across process deaths: with --state-dir an upload in progress continues
after a kill -9 (a PATCH goes on where it stopped) and leftovers of interrupted writes are
removed at the next start; without it, the private blob directory a kill -9 left behind is
removed by the next server that uses the same --blob-dir."""

from __future__ import annotations

import os
import signal
import time
from urllib.parse import urlsplit

import requests

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of

from ..registry.client import Registry, authorization_token
from .test_restart import _server_pids

MIB = 1 << 20


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def _kill_9(server: ServerProcess) -> None:
    for pid in _server_pids(server):
        os.kill(pid, signal.SIGKILL)
    server._process.wait(timeout=30)
    server.stop()


def test_an_upload_in_progress_continues_after_a_kill_9(tmp_path):
    state = str(tmp_path / "state")
    data = os.urandom(3 * MIB)
    server = ServerProcess("--no-access-log", "--state-dir", state, "--save-interval", "0.2").start()
    try:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="big/app")
        _wait_for(lambda: "big/app" in _read(os.path.join(state, "state.json")), "a save of the repository")
        token = authorization_token(ecr)
        registry = Registry(server.url, token)
        path = urlsplit(registry.start_upload("big/app")).path
        first = registry.patch(path, data=data[:MIB], headers={"Content-Range": f"0-{MIB - 1}"})
        assert first.status_code == 202, first.text
    finally:
        _kill_9(server)
    with open(os.path.join(state, "tmp", "interrupted-write"), "wb") as f:  # as a kill -9 leaves them
        f.write(b"x" * 1000)

    with ServerProcess("--no-access-log", "--state-dir", state) as again:
        registry = Registry(again.url, token)
        status = registry.get(path)
        assert status.status_code == 204, status.text
        assert status.headers["Range"] == f"0-{MIB - 1}"
        second = registry.patch(path, data=data[MIB:2 * MIB], headers={"Content-Range": f"{MIB}-{2 * MIB - 1}"})
        assert second.status_code == 202, second.text
        done = registry.put(path, params={"digest": digest_of(data)}, data=data[2 * MIB:])
        assert done.status_code == 201, done.text
        assert registry.get(f"/v2/big/app/blobs/{digest_of(data)}").content == data
        assert os.listdir(os.path.join(state, "tmp")) == []
        assert os.listdir(os.path.join(state, "uploads")) == []


def test_a_private_blob_directory_left_by_a_kill_9_is_removed_at_the_next_start(tmp_path):
    server = ServerProcess("--no-access-log", "--no-registry-auth", "--blob-dir", str(tmp_path)).start()
    try:
        checked_client("ecr", server.url).create_repository(repositoryName="app")
        Registry(server.url).push_blob("app", os.urandom(MIB))
        (left,) = tmp_path.glob("ecr-emulator-blobs-*")
        assert len(list(left.glob("blobs/sha256/*"))) == 1
    finally:
        _kill_9(server)
    assert left.exists()
    with ServerProcess("--no-access-log", "--blob-dir", str(tmp_path)) as again:
        requests.get(again.url + "/_emulator/health", timeout=10)  # the worker is up
        _wait_for(lambda: not left.exists(), "the stale directory to go")
        assert len(list(tmp_path.glob("ecr-emulator-blobs-*"))) == 1  # the new server's own
    assert not list(tmp_path.glob("ecr-emulator-blobs-*"))
