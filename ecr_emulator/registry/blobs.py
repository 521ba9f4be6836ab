"""Blobs: ``HEAD``/``GET``/``DELETE /v2/<name>/blobs/<digest>``."""

from __future__ import annotations

from ..identity.tokens import DownloadClaims
from ..store.image_door import linked_blob, touch_blob, unlink_blob
from . import downloads, http
from .oci_errors import RegistryError


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
    return repo, blob


def get_blob(ctx, name: str, digest: str):
    """``GET``: ECR's ``307`` to a pre-signed URL on the download listener (``downloads.py``), or
    the bytes with ``--no-blob-redirects``; ``HEAD``: the headers (a pushing client checking the
    blob, which may name it next: its link is refreshed)."""
    repo, blob = _linked(ctx, name, digest, touch=ctx.request.method == "HEAD")
    claims = DownloadClaims(repo.account, repo.region, repo.kind, repo.name, blob.digest, ctx.now)
    return downloads.redirect(ctx.emulator, ctx.request, claims) or http.serve_blob(ctx.request, blob,
                                                                                   ctx.backend.blobs)


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
