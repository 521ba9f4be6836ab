"""The store's one door emits ImagePushed whichever door an image came through; background
tasks run, drain, and are dropped by a reset."""

from __future__ import annotations

import threading

from ecr_emulator.store import Backend, Door, ImageDeleted, ImagePushed, TagRemoved
from ecr_emulator.store.image_door import link_blob
from ecr_emulator.store.model import Repository
from ecr_emulator.testing.synthetic import make_image


def _repo(backend: Backend) -> Repository:
    state = backend.private("123456789012", "us-east-1")
    repo = Repository("app", state.account, state.region, state.kind, backend.clock.now())
    state.repositories["app"] = repo
    return repo


def _upload(backend: Backend, repo: Repository, image) -> None:
    from ecr_emulator.store import Blob

    for digest, data in image.blobs.items():
        link_blob(repo, backend.blobs.add(Blob(digest, len(data), [data])), backend.clock.now())


def test_put_image_emits_image_pushed_and_deletes_emit_image_deleted():
    backend = Backend()
    seen = []
    backend.events.subscribe(ImagePushed, seen.append)
    backend.events.subscribe(ImageDeleted, seen.append)
    backend.events.subscribe(TagRemoved, seen.append)
    repo = _repo(backend)
    image = make_image("events")
    _upload(backend, repo, image)
    with backend.lock:
        stored = backend.put_image(repo, image.manifest, door=Door.API, tag="v1")
        backend.put_image(repo, image.manifest, door=Door.REGISTRY, tag="v2")
        backend.remove_tag(repo, "v1")
        backend.remove_tag(repo, "v2")
    assert [(type(e).__name__, getattr(e, "tag", None), getattr(e, "new", None), getattr(e, "door", None))
            for e in seen] == [("ImagePushed", "v1", True, "api"), ("ImagePushed", "v2", False, "registry"),
                               ("TagRemoved", "v1", None, ""), ("ImageDeleted", None, None, "")]
    assert seen[0].image is stored and seen[2].image is stored and seen[3].image is stored


def test_a_failing_listener_does_not_undo_the_push():
    backend = Backend()
    backend.events.subscribe(ImagePushed, lambda event: 1 / 0)
    repo = _repo(backend)
    image = make_image("boom")
    _upload(backend, repo, image)
    with backend.lock:
        backend.put_image(repo, image.manifest, door=Door.API, tag="v1")
    assert repo.tag_index["v1"] == image.digest


def test_tasks_run_and_drain():
    backend = Backend()
    done = []
    for i in range(20):
        backend.tasks.submit(lambda i=i: done.append(i))
    assert backend.tasks.drain(10)
    assert sorted(done) == list(range(20))


def test_work_queued_before_a_reset_is_dropped():
    backend = Backend()
    gate, ran = threading.Event(), []
    for _ in range(2):  # occupy both workers
        backend.tasks.submit(lambda: gate.wait(10))
    backend.tasks.submit(lambda: ran.append("stale"))
    backend.reset()
    gate.set()
    assert backend.tasks.drain(10)
    assert ran == []


def test_stopped_tasks_leave_no_thread_and_finish_queued_work():
    from ecr_emulator.store.tasks import Tasks

    tasks, done, ran = Tasks(), [], threading.Event()
    tasks.every(0.05, ran.set)
    tasks.submit(lambda: done.append("queued"))
    assert ran.wait(10)
    tasks.stop()
    assert done == ["queued"]
    names = [t.name for t in threading.enumerate()]
    mine = [t for t in threading.enumerate() if t.name.startswith("ecr-emulator-") and t.is_alive()]
    assert not [t for t in mine if getattr(t, "_target", None) and getattr(t._target, "__self__", None) is tasks], names
    tasks.submit(lambda: done.append("after"))  # a stopped Tasks starts again on demand
    assert tasks.drain(10) and done == ["queued", "after"]
    tasks.stop()


def test_a_door_is_its_string():
    """``Door`` values compare, hash, print and serialize as the strings they always were."""
    import json

    assert Door.PULL_THROUGH == "pull-through" and Door("signing") is Door.SIGNING
    assert {Door.API: 1}["api"] == 1
    assert str(Door.REGISTRY) == "registry" and f"{Door.LIFECYCLE}" == "lifecycle"
    assert json.dumps({"door": Door.REPLICATION}) == '{"door": "replication"}'
    assert Door.USER == "" and not Door.USER
