"""A real server on a --state-dir: stopped and started again it serves the same images, byte
for byte (through skopeo and plain HTTP); killed with SIGKILL in the middle of pushes, it
comes back with a consistent state: every image it lists pulls, with its digest."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image, make_index, write_oci_layout

from ..registry.client import Registry, authorization_token, password_of
from ..tools import requires

SKOPEO = shutil.which("skopeo")
pytestmark = pytest.mark.slow
ACCEPT = {"Accept": "*/*"}


def _images(ecr, repo: str) -> list[dict]:
    return sorted(ecr.describe_images(repositoryName=repo, maxResults=1000)["imageDetails"],
                  key=lambda d: d["imageDigest"])


def _pull_everything(registry: Registry, repo: str, digest: str) -> dict[str, bytes]:
    """The manifest named ``digest`` and everything it references, each checked against its digest."""
    response = registry.get(f"/v2/{repo}/manifests/{digest}", headers=ACCEPT)
    assert response.status_code == 200, (repo, digest, response.text)
    assert digest_of(response.content) == digest
    found = {digest: response.content}
    manifest = json.loads(response.content)
    for child in manifest.get("manifests", []):
        found.update(_pull_everything(registry, repo, child["digest"]))
    for descriptor in [manifest["config"], *manifest["layers"]] if "config" in manifest else []:
        blob = registry.get(f"/v2/{repo}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200 and digest_of(blob.content) == descriptor["digest"], descriptor
        found[descriptor["digest"]] = blob.content
    return found


@requires(SKOPEO, "skopeo is not installed")
def test_stop_and_restart_serves_the_same_images_byte_for_byte(tmp_path):
    state = str(tmp_path / "state")
    image = make_image("persisted", layers=3, layer_bytes=200_000)
    index = make_index([make_image("p-amd"), make_image("p-arm", arch="arm64")],
                       [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}])
    # --save-interval 0: nothing is saved until the server stops, so this shows the save on stop
    with ServerProcess("--no-access-log", "--state-dir", state, "--save-interval", "0") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="team/app")
        token = authorization_token(ecr)
        creds = "AWS:" + password_of(token)
        layout = write_oci_layout(str(tmp_path / "layout"), image, "v1")
        subprocess.run([SKOPEO, "--insecure-policy", "copy", "--dest-tls-verify=false", "--dest-creds", creds,
                        layout, f"docker://{server.host}/team/app:v1"], check=True, capture_output=True,
                       timeout=120, env={**os.environ, "HOME": str(tmp_path)})
        registry = Registry(server.url, token)
        registry.push_image("team/app", index, tag="multi")
        before = _images(ecr, "team/app")
        pulled = {d["imageDigest"]: _pull_everything(registry, "team/app", d["imageDigest"]) for d in before}
    assert len(before) == 4  # the image, the index and its two children

    with ServerProcess("--no-access-log", "--state-dir", state) as server:
        ecr = checked_client("ecr", server.url)
        assert [{k: v for k, v in d.items() if k != "lastRecordedPullTime"} for d in _images(ecr, "team/app")] \
            == [{k: v for k, v in d.items() if k != "lastRecordedPullTime"} for d in before]
        registry = Registry(server.url, token)  # a password issued before the restart still works
        for digest, content in pulled.items():
            assert _pull_everything(registry, "team/app", digest) == content
        out = tmp_path / "out"
        subprocess.run([SKOPEO, "--insecure-policy", "copy", "--src-tls-verify=false", "--src-creds", creds,
                        f"docker://{server.host}/team/app:v1", f"oci:{out}:v1"], check=True, capture_output=True,
                       timeout=120, env={**os.environ, "HOME": str(tmp_path)})
        for layer in image.layers:
            assert (out / "blobs" / "sha256" / digest_of(layer).split(":")[1]).read_bytes() == layer


def _server_pids(server: ServerProcess) -> list[int]:
    """The server process (which holds the state) and any children it has."""
    master = server._process.pid
    children = []
    for task in os.listdir(f"/proc/{master}/task"):
        with open(f"/proc/{master}/task/{task}/children") as f:
            children += [int(p) for p in f.read().split()]
    return [*children, master]


def _saved_digests(state: str) -> str:
    try:
        with open(os.path.join(state, "state.json")) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_sigkill_in_the_middle_of_pushes_leaves_a_consistent_state(tmp_path):
    state = str(tmp_path / "state")
    server = ServerProcess("--no-access-log", "--state-dir", state, "--save-interval", "0.2").start()
    try:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="load")
        token = authorization_token(ecr)
        registry = Registry(server.url, token)
        early = [registry.push_image("load", make_image(f"early-{i}"), tag=f"early-{i}") for i in range(3)]
        deadline = time.monotonic() + 30
        while not all(d in _saved_digests(state) for d in early):  # a periodic save has them
            assert time.monotonic() < deadline, "no save within 30 s"
            time.sleep(0.05)

        pushed: list[str] = []
        stop = threading.Event()

        def push_forever() -> None:
            pusher = Registry(server.url, token)
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    image = make_image(f"late-{i}", layers=2, layer_bytes=300_000)
                    pushed.append(pusher.push_image("load", image, tag=f"late-{i % 7}"))
                except Exception:  # the server was killed under it
                    return

        threads = [threading.Thread(target=push_forever) for _ in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(pushed) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid in _server_pids(server):
            os.kill(pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()

    with ServerProcess("--no-access-log", "--state-dir", state) as again:
        ecr = checked_client("ecr", again.url)
        registry = Registry(again.url, token)
        listed = _images(ecr, "load")
        digests = {d["imageDigest"] for d in listed}
        assert set(early) <= digests
        for detail in listed:
            _pull_everything(registry, "load", detail["imageDigest"])
            for tag in detail.get("imageTags", []):
                head = registry.head(f"/v2/load/manifests/{tag}", headers=ACCEPT)
                assert head.headers["Docker-Content-Digest"] == detail["imageDigest"]
        assert registry.get("/v2/load/tags/list").json()["tags"] == sorted(
            t for d in listed for t in d.get("imageTags", []))
        # what was lost is at most the pushes after the last save; nothing half-made remains
        assert not [n for n in os.listdir(os.path.join(state, "blobs", "sha256")) if n.startswith(".tmp-")]
