"""Snapshots of the whole state: captured from an emulator seeded through the real APIs,
restored into another, compared field by field (so state added later to the model is
covered with no change here); exported and imported as tar streams; kept in --state-dir."""

from __future__ import annotations

import io
import json
import tarfile

import requests

from ecr_emulator.features.persistence import saver_of
from ecr_emulator.store import Backend, snapshot
from ecr_emulator.store.blobs import FileBlob
from ecr_emulator.store.codec import encode
from ecr_emulator.testing import checked_client
from ecr_emulator.testing.synthetic import digest_of, make_image

from ..registry.client import Registry, authorization_token
from .conftest import seed


def _registries(backend: Backend):
    return sorted(backend.registries(), key=lambda r: (r.kind, r.account, r.region))


def _blob_bytes(backend: Backend) -> dict[str, bytes]:
    return {digest: b"".join(bytes(v) for v in blob.iter_bytes()) for digest, blob in backend.blobs.items()}


def assert_same_state(a: Backend, b: Backend) -> None:
    assert _registries(a) == _registries(b)  # dataclass equality: every field, nested
    assert encode(_registries(a)) == encode(_registries(b))
    linked = {d for repo in a.all_repositories() for d in repo.blobs}
    assert {d: v for d, v in _blob_bytes(a).items() if d in linked} == _blob_bytes(b)
    assert a.clock.offset == b.clock.offset


def test_a_seeded_backend_round_trips_through_its_snapshot(in_process):
    source = in_process()
    seed(source.url)
    data, blobs = snapshot.capture(source.app.backend, source.app.tokens.secret)
    parsed = snapshot.parse(json.loads(json.dumps(data)))
    restored = Backend()
    snapshot.apply(restored, parsed, lambda digest, size: blobs[digest])
    assert_same_state(source.app.backend, restored)
    assert parsed.token_secret == source.app.tokens.secret
    assert len(restored.all_repositories()) == 4 and len(restored.blobs) >= 8


def test_export_then_import_into_another_emulator(in_process):
    source, target = in_process(), in_process()
    pushed = seed(source.url)
    token = authorization_token(checked_client("ecr", source.url))
    exported = requests.get(source.url + "/_emulator/state", timeout=30)
    assert exported.status_code == 200 and exported.headers["Content-Type"] == "application/x-tar"
    names = tarfile.open(fileobj=io.BytesIO(exported.content)).getnames()
    assert names[-1] == "state.json" and all(n.startswith("blobs/sha256/") for n in names[:-1])

    answer = requests.put(target.url + "/_emulator/state", data=exported.content, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["repositories"] == 4
    assert_same_state(source.app.backend, target.app.backend)
    # the tokens' key came along: a password of the source opens the target
    registry = Registry(target.url, token)
    manifest = registry.get(f"/v2/team/app/manifests/{pushed['app']}", headers={"Accept": "*/*"})
    assert manifest.status_code == 200 and digest_of(manifest.content) == pushed["app"]
    for layer in json.loads(manifest.content)["layers"]:
        assert digest_of(registry.get(f"/v2/team/app/blobs/{layer['digest']}").content) == layer["digest"]


def test_an_import_that_cannot_be_used_changes_nothing(in_process):
    source, target = in_process(), in_process()
    seed(source.url)
    checked_client("ecr", target.url).create_repository(repositoryName="kept")
    archive = requests.get(source.url + "/_emulator/state", timeout=30).content

    def tampered(change) -> bytes:
        members = []
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar:
                members.append((member, tar.extractfile(member).read()))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            for member, data in change(members):
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
        return out.getvalue()

    cases = {
        "not a tar": b"hello",
        "blob bytes that do not match the name": tampered(
            lambda ms: [(m, d + b"x" if m.name.startswith("blobs/") else d) for m, d in ms]),
        "a blob missing": tampered(lambda ms: ms[1:]),
        "no state.json": tampered(lambda ms: ms[:-1]),
        "not our format": tampered(lambda ms: [(m, b'{"format": "x"}' if m.name == "state.json" else d)
                                              for m, d in ms]),
    }
    for case, body in cases.items():
        answer = requests.put(target.url + "/_emulator/state", data=body, timeout=30)
        assert answer.status_code == 400, (case, answer.text)
        assert answer.json()["error"], case
    names = [r["repositoryName"] for r in checked_client("ecr", target.url).describe_repositories()["repositories"]]
    assert names == ["kept"]


def test_state_dir_keeps_everything_across_emulators(in_process, tmp_path):
    first = in_process(state_dir=str(tmp_path))
    pushed = seed(first.url)
    token = authorization_token(checked_client("ecr", first.url))
    first.close()
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600  # it holds the tokens' key

    second = in_process(state_dir=str(tmp_path))
    assert_same_state(first.app.backend, second.app.backend)
    assert all(isinstance(blob, FileBlob) for _, blob in second.app.backend.blobs.items())
    registry = Registry(second.url, token)
    assert registry.get("/v2/").status_code == 200
    assert registry.get(f"/v2/team/locked/manifests/{pushed['locked']}", headers={"Accept": "*/*"}).status_code == 200
    # a blob pushed now goes to its file before anything references it, and is served from it
    ecr = checked_client("ecr", second.url)
    ecr.create_repository(repositoryName="scratch")
    image = make_image("later", layer_bytes=3 << 20)
    registry.push_image("scratch", image, tag="later")
    files = [tmp_path / "blobs" / "sha256" / digest_of(layer).split(":")[1] for layer in image.layers]
    for layer, path in zip(image.layers, files, strict=True):
        assert path.read_bytes() == layer
        assert registry.get(f"/v2/scratch/blobs/{digest_of(layer)}").content == layer
    # once nothing links them, their files go with the next save (not before: the saved
    # metadata may still reference them)
    ecr.delete_repository(repositoryName="scratch", force=True)
    second.app.backend.collect_garbage()
    assert all(path.exists() for path in files)
    saver_of(second.app).save()
    assert not any(path.exists() for path in files)


def test_the_periodic_save_skips_an_untouched_state(in_process, tmp_path, monkeypatch):
    served = in_process(state_dir=str(tmp_path), save_interval=0)
    saver = saver_of(served.app)
    calls = []
    real = snapshot.capture
    monkeypatch.setattr(snapshot, "capture", lambda *a: calls.append(1) or real(*a))
    saver.periodic()
    assert calls == []  # nothing touched the state since the save made on start
    checked_client("ecr", served.url).create_repository(repositoryName="touched")
    saver.periodic()
    assert calls == [1] and "touched" in (tmp_path / "state.json").read_text()
    saver.periodic()
    assert calls == [1]
