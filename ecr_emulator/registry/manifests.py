"""Manifests: ``GET``/``HEAD``/``PUT``/``DELETE /v2/<name>/manifests/<tag|digest>``.

``PUT`` is the same store call as ``PutImage`` (tag immutability, reference checks, sizes);
an identical re-push (``ImageAlreadyExistsException``) is a success, as on ECR. ``GET``
serves the stored bytes with their own media type -- no conversion: a client whose
``Accept`` list excludes that type gets MANIFEST_UNKNOWN, as from Distribution.
"""

from __future__ import annotations

from ..errors import ImageAlreadyExistsException
from ..store import PUBLIC, Door
from ..store.archive import is_pullable, status
from ..store.digests import sha256_digest
from ..store.image_door import parents_of, record_download, record_pull
from ..store.manifests import MAX_MANIFEST_BYTES
from . import http
from .bodies import BodyError, RequestBody
from .oci_errors import RegistryError

#: Content-Types that say nothing about the manifest: its own ``mediaType`` decides
_GENERIC_TYPES = {"", "application/json", "application/octet-stream", "text/plain",
                  "application/x-www-form-urlencoded"}


def _not_found(reference: str) -> RegistryError:
    return RegistryError("MANIFEST_UNKNOWN", "Requested image not found", detail={"reference": reference})


def _accepts(request, media_type: str) -> bool:
    wanted = [part.split(";")[0].strip().lower()
              for header in request.headers.getlist("Accept") for part in header.split(",")]
    wanted = [w for w in wanted if w]
    if not wanted:
        return True
    media_type = media_type.lower()
    return any(w in ("*/*", media_type) or (w.endswith("/*") and media_type.startswith(w[:-1])) for w in wanted)


def _headers(image) -> dict[str, str]:
    return {"Docker-Content-Digest": image.digest, "ETag": f'"{image.digest}"'}


def get_manifest(ctx, name: str, reference: str):
    """``GET``/``HEAD``; a reference that is neither a valid tag nor a digest names no manifest
    (404 MANIFEST_UNKNOWN, as the distribution spec expects), it is not a malformed request."""
    try:
        tag, digest = http.reference(reference)
    except RegistryError:
        ctx.repository(name)
        raise _not_found(reference) from None
    repo = ctx.repository_for_pull(name, tag, digest)
    with ctx.lock:
        image = repo.image_for(tag=tag, digest=digest)
        if image is None:
            raise _not_found(reference)
        if not is_pullable(image, ctx.now):
            raise RegistryError("MANIFEST_UNKNOWN", f"The image is {status(image, ctx.now)}: archived images "
                                "cannot be pulled until they are restored (UpdateImageStorageClass).",
                                detail={"reference": reference, "imageStatus": status(image, ctx.now)})
        if not _accepts(ctx.request, image.media_type):
            raise RegistryError(
                "MANIFEST_UNKNOWN",
                f"The manifest is stored as {image.media_type}, which the Accept header does not list "
                "(the registry does not convert manifests).",
                detail={"reference": reference, "mediaType": image.media_type})
        if ctx.request.method == "GET":
            record_pull(ctx.registry(), image, ctx.now, ctx.principal_arn)
            if repo.kind == PUBLIC:
                record_download(repo, image)
    body = b"" if ctx.request.method == "HEAD" else image.manifest
    return http.respond(body, 200, _headers(image), image.media_type, length=len(image.manifest))


def put_manifest(ctx, name: str, reference: str):
    tag, digest = http.reference(reference)
    repo = ctx.repository_for_push(name)
    body = RequestBody(ctx.request.environ)
    try:
        data = body.read_limited(MAX_MANIFEST_BYTES)
    except BodyError as error:
        raise RegistryError("MANIFEST_INVALID", f"reading the manifest failed ({error})") from None
    if data is None:
        raise RegistryError("SIZE_INVALID", f"The manifest is larger than {MAX_MANIFEST_BYTES} bytes, the most "
                                            "ECR accepts.", detail={"limit": MAX_MANIFEST_BYTES})
    if body.length is not None and len(data) != body.length:
        raise RegistryError("MANIFEST_INVALID", f"the request body ended after {len(data)} of "
                                                f"{body.length} bytes")
    content_type = ctx.request.headers.get("Content-Type", "").split(";")[0].strip()
    media_type = None if content_type.lower() in _GENERIC_TYPES else content_type
    actual = sha256_digest(data)
    with ctx.lock:
        try:
            image = ctx.backend.put_image(repo, data, door=Door.REGISTRY, media_type=media_type, tag=tag,
                                          digest=digest, now=ctx.now)
        except ImageAlreadyExistsException:
            image = repo.images[actual]
    headers = {
        "Location": ctx.url(f"/v2/{name}/manifests/{image.digest}"),
        "Docker-Content-Digest": image.digest,
    }
    if image.subject:
        headers["OCI-Subject"] = image.subject
    return http.respond(b"", 201, headers)


def delete_manifest(ctx, name: str, reference: str):
    """By digest: the image and its tags. By tag (OCI 1.1): the tag, and the image with it when
    it was the image's last tag (ECR's BatchDeleteImage rule). A child of an index stays."""
    repo = ctx.repository(name)
    tag, digest = http.reference(reference)
    with ctx.lock:
        image = repo.image_for(tag=tag, digest=digest)
        if image is None:
            raise _not_found(reference)
        if digest is not None or image.tags == [tag]:
            parents = sorted(parent.digest for parent in parents_of(repo, image.digest))
            if parents:
                raise RegistryError("DENIED", f"Requested image referenced by manifest list: {parents}",
                                    detail={"digest": image.digest, "parents": parents})
        if digest is not None:
            ctx.backend.delete_image(repo, digest)
        else:
            ctx.backend.remove_tag(repo, tag)
    return http.respond(b"", 202)
