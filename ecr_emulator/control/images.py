"""Images: PutImage, BatchGetImage, DescribeImages, ListImages, BatchDeleteImage,
ListImageReferrers, and ECR Public's DescribeImageTags, all over ``store.image_door``.

A ``PutImage`` ends in :func:`store.image_door.put_image`, the same call the registry's manifest
PUT makes, so tag immutability, digests and sizes agree whichever door an image came through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ..addressing.ecr_public import account_of, is_alias
from ..awsjson import load_service
from ..errors import (
    ImageNotFoundException,
    RegistryNotFoundException,
    RepositoryNotFoundException,
    UnableToGetUpstreamImageException,
)
from ..store import PUBLIC, Door, Image, Repository, archive, listing
from ..store import image_door as store
from ..store.pull_through import UpstreamError
from ..store.scan_shapes import image_scan_fields
from ..store.upstreams import import_actions, rule_for
from .pagination import paginate
from .tables import both, ecr, ecr_public
from .validation import DIGEST_PATTERN, check_image_id, check_image_tag, image_id_failure, invalid

_DIGEST = re.compile(DIGEST_PATTERN)
_ACCOUNT = re.compile(r"[0-9]{12}")

NOT_FOUND = "Requested image not found"
TAG_DOES_NOT_MATCH = "Invalid request parameters: given tag does not map to the given digest"


# -- shared helpers ----------------------------------------------------------------------

def repository(ctx, name: str, registry_id: str | None, action: str) -> Repository:
    """The repository an operation targets; ECR Public push ops also take a registry alias."""
    if registry_id is not None and ctx.kind == PUBLIC and not _ACCOUNT.fullmatch(registry_id):
        if not is_alias(registry_id):
            raise invalid("registryId", "must be a 12-digit registry id or a registry alias of 2-50 "
                                        "characters matching '[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*'")
        account = account_of(ctx.settings, registry_id)
        if account is None:
            raise _unknown_alias(ctx, registry_id, name, action)
        registry_id = account
    return ctx.repository(name, registry_id, action)


def _unknown_alias(ctx, alias: str, name: str, action: str) -> Exception:
    """RegistryNotFoundException where the operation's model lists it (the push operations);
    elsewhere (BatchDeleteImage) the repository is not found, the error that one may answer."""
    operation = load_service(ctx.service).operation(action)
    if operation is not None and any(e.name == "RegistryNotFoundException" for e in operation.error_shapes):
        return RegistryNotFoundException(f"The registry with alias '{alias}' does not exist.")
    return RepositoryNotFoundException.named(name, alias)


def resolve(repo: Repository, image_id: dict) -> tuple[Image | None, tuple[str, str] | None]:
    """The image a well-formed identifier names, or the failure ECR reports for it.

    Tag and digest together must agree: a tag that exists on another image is
    ``ImageTagDoesNotMatchDigest``; anything not there at all is ``ImageNotFound``.
    """
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    image = repo.image_for(tag=tag, digest=digest)
    if image is not None:
        return image, None
    if digest is not None and tag is not None and tag in repo.tag_index:
        return None, ("ImageTagDoesNotMatchDigest", TAG_DOES_NOT_MATCH)
    return None, ("ImageNotFound", NOT_FOUND)


def failure(image_id: dict, code: str, reason: str) -> dict:
    return {"imageId": dict(image_id), "failureCode": code, "failureReason": reason}


def image_detail(repo: Repository, image: Image, now) -> dict:
    """An ``ImageDetail`` (ECR Public's shape is a subset: the serializer drops the rest)."""
    detail = {
        "registryId": repo.account,
        "repositoryName": repo.name,
        "imageDigest": image.digest,
        "imageSizeInBytes": image.size,
        "imagePushedAt": image.pushed_at,
        "imageManifestMediaType": image.media_type,
        "artifactMediaType": image.artifact_media_type,
        "lastRecordedPullTime": image.last_pulled_at,
        "subjectManifestDigest": image.subject,
        **image_scan_fields(image),
        "imageStatus": archive.status(image, now),
        "lastArchivedAt": image.archived_at,
        "lastActivatedAt": archive.last_activated_at(image, now),
    }
    if image.tags:
        detail["imageTags"] = list(image.tags)
    return detail


def _tag_status_matches(image: Image, wanted: str | None) -> bool:
    if wanted == "TAGGED":
        return bool(image.tags)
    if wanted == "UNTAGGED":
        return not image.tags
    return True


def _scope(ctx, operation: str, repo: Repository) -> str:
    return f"{ctx.service}:{operation}:{repo.account}:{repo.name}"


# -- PutImage -----------------------------------------------------------------------------

@both("PutImage")
def put_image(ctx, repository_name, image_manifest, registry_id=None, image_manifest_media_type=None,
              image_tag=None, image_digest=None):
    repo = repository(ctx, repository_name, registry_id, "PutImage")
    if image_tag is not None:
        check_image_tag(image_tag)
    image = ctx.backend.put_image(
        repo, image_manifest.encode("utf-8"), door=Door.API, media_type=image_manifest_media_type,
        tag=image_tag, digest=image_digest, now=ctx.now,
    )
    image_id = {"imageDigest": image.digest}
    if image_tag is not None:
        image_id["imageTag"] = image_tag
    return {"image": {
        "registryId": repo.account, "repositoryName": repo.name, "imageId": image_id,
        "imageManifest": image_manifest, "imageManifestMediaType": image.media_type,
    }}


# -- BatchGetImage ------------------------------------------------------------------------

def _pull_through(ctx, state, name: str, image_ids: list[dict]) -> dict[tuple, tuple[str, str]]:
    """For a repository under a pull-through cache rule, fetch what is not cached (as a pull
    would; the lock is released meanwhile). Returns the upstream failure of each image id."""
    if rule_for(state, name) is None:
        return {}
    for image_id in image_ids:  # with identity policies, the caller imports: IAM judges it
        for action in import_actions(state, name, image_id.get("imageTag"), image_id.get("imageDigest")):
            ctx.require_identity(state, name, action)
    failures = {}
    with ctx.unlocked():
        for image_id in image_ids:
            if image_id_failure(image_id) is not None:
                continue
            try:
                ctx.backend.upstreams.refresh(state, name, image_id.get("imageTag"), image_id.get("imageDigest"))
            except UpstreamError as error:
                failures[(image_id.get("imageDigest"), image_id.get("imageTag"))] = (error.code, error.message)
    if name not in state.repositories and failures:
        raise UnableToGetUpstreamImageException(next(iter(failures.values()))[1])
    return failures


@ecr("BatchGetImage", waits=True)
def batch_get_image(ctx, repository_name, image_ids, registry_id=None, accepted_media_types=None):
    state = ctx.registry_state(registry_id)
    ctx.check_access(state, repository_name, "BatchGetImage")
    upstream_failures = _pull_through(ctx, state, repository_name, _unique(image_ids))
    repo = ctx.repository(repository_name, registry_id, "BatchGetImage")
    accepted = set(accepted_media_types or ())
    images, failures = [], []
    for image_id in _unique(image_ids):
        problem = image_id_failure(image_id)
        image = None
        if problem is None:
            image, problem = resolve(repo, image_id)
        if problem is None and not archive.is_pullable(image, ctx.now):
            # ECR answers a pull of an archived image as not found (a registry pull: 404)
            problem = ("ImageNotFound", f"{NOT_FOUND}: the image is {archive.status(image, ctx.now)}; "
                                        "restore it with UpdateImageStorageClass (targetStorageClass STANDARD)")


        if image is None and problem is not None and problem[0] == "ImageNotFound":
            problem = upstream_failures.get((image_id.get("imageDigest"), image_id.get("imageTag")), problem)
        if problem is None and accepted and image.media_type not in accepted:
            # ECR converts a manifest to an accepted type only when pulled by tag, and only
            # from Docker schema 2 / OCI towards older formats (see ECR_REFERENCE §5.2); the
            # emulator converts nothing. The model's ImageFailureCode has no "unsupported
            # media type" code, and a registry answers an unacceptable manifest as not found,
            # so this is reported as ImageNotFound, with a reason that says why.
            problem = ("ImageNotFound",
                       f"{NOT_FOUND}: its manifest media type {image.media_type} is not one of "
                       "the acceptedMediaTypes")
        if problem is not None:
            failures.append(failure(image_id, *problem))
            continue
        store.record_pull(ctx.registry_state(registry_id), image, ctx.now, ctx.caller.principal_arn)
        images.append({
            "registryId": repo.account, "repositoryName": repo.name,
            "imageId": {"imageDigest": image.digest, **_tag_of(image_id)},
            "imageManifest": image.manifest.decode("utf-8"),
            "imageManifestMediaType": image.media_type,
        })
    return {"images": images, "failures": failures}


def _tag_of(image_id: dict) -> dict:
    return {"imageTag": image_id["imageTag"]} if image_id.get("imageTag") is not None else {}


def _unique(image_ids: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for image_id in image_ids:
        key = (image_id.get("imageDigest"), image_id.get("imageTag"))
        if key not in seen:
            seen.add(key)
            unique.append(image_id)
    return unique


# -- DescribeImages / ListImages ------------------------------------------------------------

def _listed(repo: Repository, filter: dict | None, now, operation: str, expand) -> Callable[[int], Iterator]:
    """The listing of the images of ``repo`` the filter keeps, from an offset on, each as
    ``expand(image)``'s entries: a page takes only what it shows (``store/listing.py``)."""
    wanted = filter or {}
    tag_status, image_status = wanted.get("tagStatus"), wanted.get("imageStatus")

    def keep(image: Image) -> bool:
        return _tag_status_matches(image, tag_status) and archive.matches(image, image_status, now)

    return lambda start: listing.entries(repo, (operation, tag_status, image_status), keep, expand, start, now)


def _alone(image: Image) -> list[Image]:
    """DescribeImages' entries of one image: itself."""
    return [image]


def _image_ids(image: Image) -> list[dict]:
    """ListImages' ``imageIds`` of one image: one per tag, or its digest alone when untagged."""
    if image.tags:
        return [{"imageDigest": image.digest, "imageTag": tag} for tag in image.tags]
    return [{"imageDigest": image.digest}]


@both("DescribeImages")
def describe_images(ctx, repository_name, registry_id=None, image_ids=None, next_token=None,
                    max_results=None, filter=None):
    repo = ctx.repository(repository_name, registry_id, "DescribeImages")
    if image_ids:
        if next_token or max_results:
            raise invalid("imageIds", "imageIds cannot be specified together with nextToken or maxResults")
        found: dict[str, Image] = {}
        for image_id in image_ids:
            check_image_id(image_id)
            image, problem = resolve(repo, image_id)
            if image is None:
                raise ImageNotFoundException.for_id(image_id, repo.name, repo.account)
            found.setdefault(image.digest, image)
        return {"imageDetails": [image_detail(repo, i, ctx.now) for i in found.values()]}
    page, token = paginate(_listed(repo, filter, ctx.now, "DescribeImages", _alone), next_token, max_results, scope=_scope(ctx, "DescribeImages", repo))
    return {"imageDetails": [image_detail(repo, i, ctx.now) for i in page], "nextToken": token}


@ecr("ListImages")
def list_images(ctx, repository_name, registry_id=None, next_token=None, max_results=None, filter=None):
    repo = ctx.repository(repository_name, registry_id, "ListImages")
    page, token = paginate(_listed(repo, filter, ctx.now, "ListImages", _image_ids), next_token, max_results, scope=_scope(ctx, "ListImages", repo))
    return {"imageIds": page, "nextToken": token}


@ecr_public("DescribeImageTags")
def describe_image_tags(ctx, repository_name, registry_id=None, next_token=None, max_results=None):
    repo = ctx.repository(repository_name, registry_id, "DescribeImageTags")
    tags = list(repo.tag_index.items())
    page, token = paginate(tags, next_token, max_results, scope=_scope(ctx, "DescribeImageTags", repo))
    details = []
    for tag, digest in page:
        image = repo.images[digest]
        details.append({
            "imageTag": tag,
            "createdAt": repo.tagged_at.get(tag, image.pushed_at),
            "imageDetail": {
                "imageDigest": image.digest, "imageSizeInBytes": image.size,
                "imagePushedAt": image.pushed_at, "imageManifestMediaType": image.media_type,
                "artifactMediaType": image.artifact_media_type,
            },
        })
    return {"imageTagDetails": details, "nextToken": token}


# -- BatchDeleteImage -----------------------------------------------------------------------

@both("BatchDeleteImage")
def batch_delete_image(ctx, repository_name, image_ids, registry_id=None):
    """Untag (an id with a tag) or delete (an id with only a digest), ECR's way.

    Every id is resolved against the repository as it was when the call began; an image is
    deleted when an id names its digest alone or when its last tag is removed. An image a
    manifest list still references (one not being deleted in the same call) is refused with
    ``ImageReferencedByManifestList``. OCI referrers of a deleted image are kept (ECR deletes
    them with their subject only through lifecycle policies).
    """
    repo = repository(ctx, repository_name, registry_id, "BatchDeleteImage")
    failures: list[dict] = []
    plans: list[tuple[dict, Image, str | None]] = []  # (image id, image, tag or None = whole image)
    for image_id in image_ids:
        problem = image_id_failure(image_id)
        image = None
        if problem is None:
            image, problem = resolve(repo, image_id)
        if problem is not None:
            failures.append(failure(image_id, *problem))
        else:
            plans.append((image_id, image, image_id.get("imageTag")))

    doomed = _doomed(repo, plans)
    refused = _referenced_by_lists(repo, doomed)
    deleted_ids: list[dict] = []
    done_tags: set[tuple[str, str]] = set()
    done_images: set[str] = set()
    for image_id, image, tag in plans:
        if image.digest in refused:
            parents = sorted(p.digest for p in store.parents_of(repo, image.digest) if p.digest not in doomed)
            failures.append(failure(image_id, "ImageReferencedByManifestList",
                                    f"Requested image referenced by manifest list: {parents}"))
            continue
        if image.digest in done_images:
            continue
        if tag is None or image.digest in doomed:
            tags = list(image.tags)
            if image.digest in repo.images:
                ctx.backend.delete_image(repo, image.digest)
            done_images.add(image.digest)
            fresh = [t for t in tags if (image.digest, t) not in done_tags]
            deleted_ids.extend({"imageDigest": image.digest, "imageTag": t} for t in fresh)
            if not tags:
                deleted_ids.append({"imageDigest": image.digest})
        elif (image.digest, tag) not in done_tags:
            ctx.backend.remove_tag(repo, tag)
            done_tags.add((image.digest, tag))
            deleted_ids.append({"imageDigest": image.digest, "imageTag": tag})
    return {"imageIds": deleted_ids, "failures": failures}


def _doomed(repo: Repository, plans) -> set[str]:
    """Digests of the images the planned ids delete outright (by digest, or all tags removed)."""
    doomed, untagged = set(), {}
    for _, image, tag in plans:
        if tag is None:
            doomed.add(image.digest)
        else:
            untagged.setdefault(image.digest, set()).add(tag)
    for digest, tags in untagged.items():
        if set(repo.images[digest].tags) <= tags:
            doomed.add(digest)
    return doomed


def _referenced_by_lists(repo: Repository, doomed: set[str]) -> set[str]:
    """Doomed images a surviving manifest list still references (shrinks ``doomed`` to match)."""
    refused: set[str] = set()
    changed = True
    while changed:
        changed = False
        for digest in sorted(doomed - refused):
            if any(p.digest not in doomed or p.digest in refused for p in store.parents_of(repo, digest)):
                refused.add(digest)
                changed = True
    doomed -= refused
    return refused


# -- ListImageReferrers ------------------------------------------------------------------

@ecr("ListImageReferrers")
def list_image_referrers(ctx, repository_name, subject_id, registry_id=None, filter=None,
                         next_token=None, max_results=None):
    repo = ctx.repository(repository_name, registry_id, "ListImageReferrers")
    subject = subject_id["imageDigest"]
    if not _DIGEST.fullmatch(subject):
        raise invalid("subjectId.imageDigest", f"must satisfy regular expression '{DIGEST_PATTERN}'")
    wanted = filter or {}
    types = set(wanted.get("artifactTypes") or ())
    referrers = [
        image for image in store.referrers_of(repo, subject)
        if (not types or image.artifact_type in types)
        and archive.matches(image, wanted.get("artifactStatus"), ctx.now)
    ]
    page, token = paginate(referrers, next_token, max_results, default=50,
                           scope=_scope(ctx, f"ListImageReferrers:{subject}", repo))
    return {"referrers": [_referrer(image, ctx.now) for image in page], "nextToken": token}


def _referrer(image: Image, now) -> dict:
    referrer = {
        "digest": image.digest, "mediaType": image.media_type, "size": len(image.manifest),
        "artifactType": image.artifact_type, "artifactStatus": archive.status(image, now),
    }
    if image.annotations:
        referrer["annotations"] = dict(image.annotations)
    return referrer
