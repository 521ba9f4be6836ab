"""Replication backfill states, driven step by step: the background work is captured instead
of run, so PREPARING / IN_PROGRESS / STOPPING are observed deterministically."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ecr_emulator.awsjson import Caller
from ecr_emulator.control import replication
from ecr_emulator.control.context import RequestContext
from ecr_emulator.errors import (
    LimitExceededException,
    ReplicationBackfillInProgressException,
    ReplicationBackfillInvalidStatusException,
)
from ecr_emulator.features import replication as replication_feature
from ecr_emulator.identity.tokens import TokenSigner
from ecr_emulator.settings import Settings
from ecr_emulator.store import Backend, Blob, Door
from ecr_emulator.store.image_door import link_blob
from ecr_emulator.store.repositories import new_repository
from ecr_emulator.testing.synthetic import make_image

ACCOUNT = "123456789012"


class CapturedTasks:
    def __init__(self) -> None:
        self.work = []

    def submit(self, work, name=""):
        self.work.append(work)


@pytest.fixture
def ctx():
    backend = Backend()
    backend.tasks = CapturedTasks()
    # eleven destination regions for the limit test: made-up ones, served as --extra-region
    settings = Settings(extra_regions=tuple(f"us-test-{n}" for n in range(11)))
    replication_feature.install(SimpleNamespace(backend=backend))  # it runs the backfills started
    return RequestContext(backend, settings, TokenSigner(), Caller(ACCOUNT, "us-east-1"), "ecr", "localhost")


def _destination(region: str, account: str = ACCOUNT) -> dict:
    return {"region": region, "registryId": account}


def _configure(ctx, *regions):
    replication.put_replication_configuration(ctx, replication_configuration={
        "rules": [{"destinations": [_destination(r) for r in regions]}]})


def _start(ctx, region: str) -> dict:
    return replication.start_replication_backfill(ctx, destination=_destination(region))


def _describe(ctx, backfill_id):
    return replication.describe_replication_backfill_results(ctx, replication_backfill_id=backfill_id)


def _push(ctx, name: str, seed: str) -> None:
    state = ctx.backend.private(ACCOUNT, "us-east-1")
    repo = state.repositories.get(name) or new_repository(state, name, ctx.now)
    image = make_image(seed)

    for digest, data in image.blobs.items():
        link_blob(repo, ctx.backend.blobs.add(Blob(digest, len(data), [data])), ctx.backend.clock.now())
    ctx.backend.put_image(repo, image.manifest, door=Door.API, tag="v1")


def test_preparing_then_stopped_at_once_without_progress(ctx):
    _configure(ctx, "us-west-2")
    backfill_id = _start(ctx, "us-west-2")["replicationBackfillId"]
    assert _describe(ctx, backfill_id)["status"] == "PREPARING"
    assert _describe(ctx, backfill_id)["progress"] is None
    with pytest.raises(ReplicationBackfillInProgressException):
        _start(ctx, "us-west-2")
    stopped = replication.stop_replication_backfill(ctx, replication_backfill_id=backfill_id)
    assert stopped["status"] == "STOPPED"
    ctx.backend.tasks.work.pop()()  # the captured run sees it stopped and does nothing
    answer = _describe(ctx, backfill_id)
    assert answer["status"] == "STOPPED" and answer["progress"] is None and answer["endedAt"] is not None
    _start(ctx, "us-west-2")  # the Region is free again


def test_stopping_an_in_progress_backfill_lets_the_current_replication_finish(ctx, monkeypatch):
    _configure(ctx, "us-west-2")
    _push(ctx, "team/a", "a")
    _push(ctx, "team/b", "b")
    backfill_id = _start(ctx, "us-west-2")["replicationBackfillId"]
    backfill = ctx.backend.private(ACCOUNT, "us-east-1").replication_backfills[backfill_id]
    real = replication_feature._backfill_one

    def one_then_stop(*args):
        real(*args)
        stopped = replication.stop_replication_backfill(ctx, replication_backfill_id=backfill_id)
        assert stopped["status"] == "STOPPING"

    monkeypatch.setattr(replication_feature, "_backfill_one", one_then_stop)
    ctx.backend.tasks.work.pop()()
    assert backfill.status == "STOPPED"
    assert backfill.progress() == {"totalReplicationCount": 2, "completedReplicationCount": 1,
                                   "failedReplicationCount": 0, "failureCodes": []}
    with pytest.raises(ReplicationBackfillInvalidStatusException):
        replication.stop_replication_backfill(ctx, replication_backfill_id=backfill_id)


def test_at_most_ten_running_backfills(ctx):
    regions = [f"us-test-{n}" for n in range(11)]
    _configure(ctx, *regions)
    for region in regions[:10]:
        _start(ctx, region)
    with pytest.raises(LimitExceededException):
        _start(ctx, regions[10])
