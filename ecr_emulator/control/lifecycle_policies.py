"""Lifecycle policies: Put/Get/DeleteLifecyclePolicy and Start/GetLifecyclePolicyPreview.

A policy is checked in full when it is put or previewed (``lifecycle/policy.py``) and stored
as the text the caller sent. A preview runs on ``Backend.tasks`` (IN_PROGRESS, then
COMPLETE, or FAILED), computing with :func:`lifecycle.plan.plan` exactly what a run would do
at that moment; one preview at a time per repository, the last one kept.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import (
    LifecyclePolicyNotFoundException,
    LifecyclePolicyPreviewInProgressException,
    LifecyclePolicyPreviewNotFoundException,
)
from ..lifecycle.plan import TRANSITION, plan
from ..lifecycle.policy import parse
from ..store import archive
from ..store.model import LifecyclePreview
from .images import resolve
from .pagination import paginate
from .tables import ecr
from .validation import check_image_id, invalid

#: ``lastEvaluatedAt`` before any evaluation: AWS answers it always, epoch 0 until the first run
#: (the AWS CLI's own example of ``delete-lifecycle-policy`` shows ``"lastEvaluatedAt": 0.0``:
#: awscli/examples/ecr/delete-lifecycle-policy.rst)
NEVER_EVALUATED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _policy(repo) -> dict:
    return {"registryId": repo.account, "repositoryName": repo.name,
            "lifecyclePolicyText": repo.lifecycle_policy_text,
            "lastEvaluatedAt": repo.lifecycle_evaluated_at or NEVER_EVALUATED}


def _stored(repo) -> str:
    if repo.lifecycle_policy_text is None:
        raise LifecyclePolicyNotFoundException.named(repo.name, repo.account)
    return repo.lifecycle_policy_text


@ecr("PutLifecyclePolicy")
def put_lifecycle_policy(ctx, repository_name, lifecycle_policy_text, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "PutLifecyclePolicy")
    parse(lifecycle_policy_text)
    if repo.lifecycle_policy_text != lifecycle_policy_text:
        repo.lifecycle_evaluated_at = None
    repo.lifecycle_policy_text = lifecycle_policy_text
    return {"registryId": repo.account, "repositoryName": repo.name, "lifecyclePolicyText": lifecycle_policy_text}


@ecr("GetLifecyclePolicy")
def get_lifecycle_policy(ctx, repository_name, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "GetLifecyclePolicy")
    _stored(repo)
    return _policy(repo)


@ecr("DeleteLifecyclePolicy")
def delete_lifecycle_policy(ctx, repository_name, registry_id=None):
    repo = ctx.repository(repository_name, registry_id, "DeleteLifecyclePolicy")
    _stored(repo)
    result = _policy(repo)
    repo.lifecycle_policy_text = None
    repo.lifecycle_evaluated_at = None
    return result


# -- previews -------------------------------------------------------------------------------

@ecr("StartLifecyclePolicyPreview")
def start_lifecycle_policy_preview(ctx, repository_name, registry_id=None, lifecycle_policy_text=None):
    repo = ctx.repository(repository_name, registry_id, "StartLifecyclePolicyPreview")
    text = lifecycle_policy_text if lifecycle_policy_text is not None else _stored(repo)
    rules = parse(text)
    if repo.lifecycle_preview is not None and repo.lifecycle_preview.status == "IN_PROGRESS":
        raise LifecyclePolicyPreviewInProgressException.named(repo.name, repo.account)
    preview = repo.lifecycle_preview = LifecyclePreview(policy_text=text)
    backend = ctx.backend

    def compute() -> None:
        with backend.lock:
            if repo.lifecycle_preview is not preview:
                return
            try:
                preview.results = [_result(d) for d in plan(repo, rules, backend.clock.now())]
                preview.status = "COMPLETE"
            except Exception:
                preview.status = "FAILED"
                raise

    backend.tasks.submit(compute, name=f"lifecycle preview of {repo.name}")
    return {"registryId": repo.account, "repositoryName": repo.name, "lifecyclePolicyText": text,
            "status": preview.status}


def _result(decision) -> dict:
    image = decision.image
    action = {"type": decision.action}
    if decision.action == TRANSITION:
        action["targetStorageClass"] = "ARCHIVE"
    result = {
        "imageDigest": image.digest, "imagePushedAt": image.pushed_at, "action": action,
        "appliedRulePriority": decision.rule.priority, "storageClass": image.storage_class,
    }
    if image.tags:
        result["imageTags"] = list(image.tags)
    return result


@ecr("GetLifecyclePolicyPreview")
def get_lifecycle_policy_preview(ctx, repository_name, registry_id=None, image_ids=None, next_token=None,
                                 max_results=None, filter=None):
    repo = ctx.repository(repository_name, registry_id, "GetLifecyclePolicyPreview")
    preview = repo.lifecycle_preview
    if preview is None:
        raise LifecyclePolicyPreviewNotFoundException.named(repo.name, repo.account)
    if image_ids and (next_token or max_results):
        raise invalid("imageIds", "imageIds cannot be specified together with nextToken or maxResults")
    results = preview.results
    if image_ids:
        wanted = set()
        for image_id in image_ids:
            check_image_id(image_id)
            image, _ = resolve(repo, image_id)
            digest = image.digest if image is not None else image_id.get("imageDigest")
            if digest is not None:
                wanted.add(digest)
        results = [r for r in results if r["imageDigest"] in wanted]
    tag_status = (filter or {}).get("tagStatus")
    if tag_status == "TAGGED":
        results = [r for r in results if r.get("imageTags")]
    elif tag_status == "UNTAGGED":
        results = [r for r in results if not r.get("imageTags")]
    page, token = paginate(results, next_token, max_results,
                           scope=f"ecr:GetLifecyclePolicyPreview:{repo.account}:{repo.name}")
    response = {"registryId": repo.account, "repositoryName": repo.name,
                "lifecyclePolicyText": preview.policy_text, "status": preview.status,
                "previewResults": page, "nextToken": token}
    if preview.status == "COMPLETE":
        response["summary"] = _summary(preview.results)
    return response


def _summary(results: list[dict]) -> dict:
    summary = {"expiringImageTotalCount": sum(1 for r in results if r["action"]["type"] == "EXPIRE")}
    archiving = sum(1 for r in results if r["action"]["type"] == TRANSITION)
    if archiving:
        summary["transitioningImageTotalCounts"] = [
            {"targetStorageClass": archive.ARCHIVE, "imageTotalCount": archiving}]
    return summary
