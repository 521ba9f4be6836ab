"""Blobs: ``HEAD``/``GET``/``DELETE /v2/<name>/blobs/<digest>`` and the pre-signed download URL."""

from __future__ import annotations

from ..store.images import linked_blob, touch_blob, unlink_blob
from ..tokens import InvalidToken
from . import http
from .errors import RegistryError


def _linked(ctx, name: str, value: str, *, touch: bool = False):
    repo = ctx.repository(name)
    digest = http.digest(value)
    with ctx.lock:
        blob = linked_blob(repo, ctx.backend.blobs, digest)
        if blob is not None and touch:  # a pushing client checking the blob: it may name it next
            touch_blob(repo, digest, ctx.now)
    if blob is None and ctx.fetch_blob(repo, digest):  # a pull-through repository fetches it
        with ctx.lock:
            blob = linked_blob(repo, ctx.backend.blobs, digest)
    if blob is None:
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
    return blob


def get_blob(ctx, name: str, digest: str):
    """``GET``/``HEAD``: the bytes (ECR redirects to S3; serving them directly is equivalent)."""
    return http.serve_blob(ctx.request, _linked(ctx, name, digest, touch=ctx.request.method == "HEAD"))


def delete_blob(ctx, name: str, digest: str):
    """Unlink the blob from the repository; refused while an image of it references the blob."""
    repo = ctx.repository(name)
    digest = http.digest(digest)
    with ctx.lock:
        users = sorted(image.digest for image in repo.images.values() if digest in image.blobs)
        if users:
            raise RegistryError("DENIED", f"The blob {digest} is referenced by the image(s) {users} of the "
                                          f"repository '{repo.name}'; delete the image(s) first.",
                                detail={"digest": digest, "images": users})
        if not unlink_blob(repo, digest):
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
        ctx.backend.collect_garbage()
    return http.respond(b"", 202, {"Docker-Content-Digest": digest})


def download(emulator, request, token: str):
    """``GET /_emulator/blobs/<token>``: what GetDownloadUrlForLayer hands out. No auth header:
    the signed token names the account, region, repository and digest, and expires."""
    backend = emulator.backend
    try:
        claims = emulator.tokens.verify_download(token, backend.clock.now())
    except InvalidToken as error:
        raise RegistryError("DENIED", str(error)) from None
    with backend.lock:
        repo = backend.registry(claims.account, claims.region, claims.kind).repositories.get(claims.repository)
        blob = linked_blob(repo, backend.blobs, claims.digest) if repo is not None else None
    if blob is None:
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": claims.digest})
    return http.serve_blob(request, blob)
