"""A preview in progress: a second StartLifecyclePolicyPreview is refused until the first
one's background work has run (held back here, so the test does not race the workers)."""

from __future__ import annotations

import json

from werkzeug.test import Client

from ecr_emulator.app import create_app
from ecr_emulator.settings import Settings

POLICY = json.dumps({"rules": [{"rulePriority": 1, "selection": {
    "tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]})


def _call(client: Client, operation: str, **body) -> tuple[int, dict]:
    response = client.post("/", data=json.dumps(body), headers={
        "X-Amz-Target": f"AmazonEC2ContainerRegistry_V20150921.{operation}",
        "Content-Type": "application/x-amz-json-1.1"})
    return response.status_code, json.loads(response.get_data())


def test_one_preview_at_a_time_per_repository():
    emulator = create_app(Settings(lifecycle_interval=0))
    held = []
    emulator.backend.tasks.submit = lambda work, name="": held.append(work)
    client = Client(emulator)
    assert _call(client, "CreateRepository", repositoryName="app")[0] == 200
    status, started = _call(client, "StartLifecyclePolicyPreview", repositoryName="app", lifecyclePolicyText=POLICY)
    assert (status, started["status"]) == (200, "IN_PROGRESS")
    status, busy = _call(client, "StartLifecyclePolicyPreview", repositoryName="app", lifecyclePolicyText=POLICY)
    assert status == 400 and busy["__type"] == "LifecyclePolicyPreviewInProgressException"
    assert _call(client, "GetLifecyclePolicyPreview", repositoryName="app")[1]["status"] == "IN_PROGRESS"
    held.pop()()
    status, done = _call(client, "GetLifecyclePolicyPreview", repositoryName="app")
    assert (done["status"], done["summary"]) == ("COMPLETE", {"expiringImageTotalCount": 0})
    assert _call(client, "StartLifecyclePolicyPreview", repositoryName="app", lifecyclePolicyText=POLICY)[0] == 200
