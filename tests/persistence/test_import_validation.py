"""Snapshot import (``PUT /_emulator/state``) is validated whole before anything is applied.

The issue's malformed snapshots (fields of the wrong type deep in ``state.json``) are refused
with a 4xx naming the first bad path, change nothing (state, tokens, logins) and every call
afterwards is answered 2xx; a gzip bomb (1 GiB behind a few MB) is refused with bounded
memory. Against a real server process, seeded through its APIs. A restart on a --state-dir
whose state.json is malformed in the same ways does not start, and leaves it as it was.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import zlib

import pytest
import requests

from ecr_emulator.store.schema import state_schema
from ecr_emulator.testing import ServerProcess, checked_client

from ..registry.client import Registry, authorization_token
from .conftest import seed

MIB = 1 << 20


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--no-access-log") as running:
        yield running


@pytest.fixture(scope="module")
def archive(server) -> bytes:
    """An export of a seeded state (every kind of state), from the module's server."""
    requests.post(server.url + "/_emulator/reset", timeout=10).raise_for_status()
    seed(server.url)
    response = requests.get(server.url + "/_emulator/state", timeout=60)
    assert response.status_code == 200
    return response.content


def _members(archive: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return [(member, tar.extractfile(member).read()) for member in tar]


def _with_metadata(archive: bytes, change) -> bytes:
    """``archive`` with its ``state.json`` changed by ``change(data)`` (in place)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, data in _members(archive):
            if member.name == "state.json":
                state = json.loads(data)
                change(state)
                data = json.dumps(state).encode()
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out.getvalue()


def _repository(state: dict, name: str = "team/app") -> dict:
    for registry in state["snapshot"]["registries"]:
        repositories = registry["repositories"]
        if name in repositories:
            return repositories[name]
    raise AssertionError(name)


def _set(path: str, value):
    """A change setting ``value`` at ``path``: ``registries`` / ``token_secret`` of the snapshot,
    or ``repo.<field>`` of repository team/app."""
    def change(state: dict) -> None:
        if path.startswith("repo."):
            _repository(state)[path[5:]] = value
        else:
            state["snapshot"][path] = value
    return change


MALFORMED = {
    "registries are numbers": (_set("registries", [1, 2]), "$.snapshot.registries[0]"),
    "token_secret is a number": (_set("token_secret", 5), "$.snapshot.token_secret"),
    "images is a number": (_set("repo.images", 12345), ".images"),
    "tag_index is a number": (_set("repo.tag_index", 12345), ".tag_index"),
    "encryption is a number": (_set("repo.encryption", 12345), ".encryption"),
    "mutability_exclusions is a number": (_set("repo.mutability_exclusions", 12345), ".mutability_exclusions"),
    "blobs is a string": (_set("blobs", "all of them"), "$.snapshot.blobs"),
    "created_at is not a date": (_set("repo.created_at", {"$dt": "yesterday"}), ".created_at"),
    "catalog data is a number": (lambda s: _repository(s, "tool").__setitem__("catalog_data", 12345),
                                 ".catalog_data"),
    "a tag points at no image": (lambda s: _repository(s)["tag_index"].__setitem__("ghost", "sha256:" + "0" * 64),
                                 "tag_index"),
    "a blob size is negative": (lambda s: _first_blob_size(s, -1), "is negative"),
    "a manifest is not its digest": (lambda s: next(iter(_repository(s)["images"].values())).__setitem__(
        "manifest", {"$b": "e30="}), "the key is not the digest of the image's manifest"),
}


def _first_blob_size(state: dict, size: int) -> None:
    blobs = state["snapshot"]["blobs"]  # {digest: size}: digests never start with "$"
    blobs[next(iter(blobs))] = size


def _every_call_answers(server, before_token: str) -> dict:
    """Every kind of call is 2xx after a refused import; what the state looks like."""
    ecr = checked_client("ecr", server.url)
    repositories = sorted(r["repositoryName"] for r in ecr.describe_repositories()["repositories"])
    for name in repositories:
        ecr.list_images(repositoryName=name)
        ecr.describe_images(repositoryName=name)
    token = authorization_token(ecr)
    registry = Registry(server.url, token)
    assert registry.get("/v2/").status_code == 200
    assert registry.get("/v2/_catalog").status_code == 200
    assert Registry(server.url, before_token).get("/v2/").status_code == 200  # logins still open the registry
    stats = requests.get(server.url + "/_emulator/stats", timeout=10)
    assert stats.status_code == 200
    assert requests.get(server.url + "/_emulator/state", timeout=60).status_code == 200
    return {"repositories": repositories, "images": stats.json()["images"], "blobs": stats.json()["blobs"]}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_snapshot_is_refused_and_changes_nothing(server, archive, case):
    change, path = MALFORMED[case]
    requests.post(server.url + "/_emulator/reset", timeout=10).raise_for_status()
    ecr = checked_client("ecr", server.url)
    ecr.create_repository(repositoryName="kept")
    before_token = authorization_token(ecr)
    before = _every_call_answers(server, before_token)
    answer = requests.put(server.url + "/_emulator/state", data=_with_metadata(archive, change), timeout=60)
    assert answer.status_code == 400, (case, answer.status_code, answer.text)
    message = answer.json()["error"]
    assert path in message, (case, message)
    assert _every_call_answers(server, before_token) == before


def test_the_unchanged_archive_is_accepted(server, archive):
    answer = requests.put(server.url + "/_emulator/state", data=_with_metadata(archive, lambda s: None), timeout=60)
    assert answer.status_code == 200, answer.text
    assert _every_call_answers(server, authorization_token(checked_client("ecr", server.url)))["repositories"]


def test_the_schema_covers_every_field_of_the_model():
    """Built from the dataclasses: every field of the repository is typed (none left ``{}``)."""
    schema = state_schema()
    repository = schema["$defs"]["ecr_emulator.store.model:Repository"]["properties"]
    assert repository["images"] and repository["tag_index"] and repository["catalog_data"]
    for name, definition in schema["$defs"].items():
        for field, value in definition["properties"].items():
            assert value, f"{name}.{field} has an empty schema"
    templates = schema["$defs"]["ecr_emulator.store.model:RegistryState"]["properties"]["creation_templates"]
    assert "ecr_emulator.store.templates:CreationTemplate" in json.dumps(templates)


# -- bombs ------------------------------------------------------------------------------------

def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _gzip_bomb(name: str, size: int) -> bytes:
    """A gzipped tar of one member ``name`` of ``size`` bytes of ``{`` (a few MB compressed)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [compressor.compress(_header(name, size))]
    piece = b"{" * MIB
    for _ in range(size // MIB):
        out.append(compressor.compress(piece))
    out.append(compressor.compress(b"\0" * (-size % 512 + 1024)))
    out.append(compressor.flush())
    return b"".join(out)


def _header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.PAX_FORMAT)


@pytest.mark.parametrize("member, status", [
    ("state.json", 413),
    ("blobs/sha256/" + "ab" * 32, 400),
])
def test_a_gzip_bomb_is_refused_with_bounded_memory(member, status):
    bomb = _gzip_bomb(member, 1 << 30)
    assert len(bomb) < 8 * MIB
    with ServerProcess("--no-access-log") as running:
        ecr = checked_client("ecr", running.url)
        ecr.create_repository(repositoryName="kept")
        requests.get(running.url + "/_emulator/state", timeout=30)  # warm: the import path is loaded
        pid = running.worker_pid()
        before = _peak_rss(pid)
        answer = requests.put(running.url + "/_emulator/state", data=bomb, timeout=300)
        grown = _peak_rss(pid) - before
        assert answer.status_code == status, answer.text
        assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["kept"]
    assert grown < 200 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB"


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory):
    """The state directory a server saved of a seeded state."""
    directory = tmp_path_factory.mktemp("saved") / "state"
    with ServerProcess("--no-access-log", "--state-dir", str(directory)) as running:
        seed(running.url)
    return directory


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_state_dir_stops_the_start_with_one_line_and_is_left_as_it_was(saved_state, tmp_path, case):
    """A restart reads state.json with the same checks as an import: the server does not start
    on a state it would answer 500 from, says which path is wrong, and writes nothing."""
    change, path = MALFORMED[case]
    directory = tmp_path / "state"
    shutil.copytree(saved_state, directory)  # its blob files too: only the metadata is wrong
    metadata = directory / "state.json"
    state = json.loads(metadata.read_bytes())
    change(state)
    metadata.write_text(json.dumps(state))
    before = metadata.read_bytes()
    result = subprocess.run([sys.executable, "-m", "ecr_emulator", "serve", "--port", "0", "--public-port", "0",
                             "--download-port", "0", "--state-dir", str(directory)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert result.stderr.startswith("ecr-emulator: ") and path in result.stderr, (case, result.stderr)
    assert metadata.read_bytes() == before
