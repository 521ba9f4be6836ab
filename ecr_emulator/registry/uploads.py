"""Blob uploads: ``/v2/<name>/blobs/uploads/[<uuid>]`` -- start (or mount, or monolithic
POST), ``PATCH`` chunks, ``PUT ?digest=`` to complete, ``GET`` status, ``DELETE`` to cancel.

Bytes stream into an :class:`~ecr_emulator.store.UploadSession`'s file (hashed as they arrive,
all or nothing per request; a body the server spooled to the blob directory is renamed into
place instead); ``PUT`` verifies the digest, stores the blob once and links it.
A failed completion cancels the session, as Distribution does (clients restart the upload
after a 4xx other than 416).
"""

from __future__ import annotations

import re

from ..store import PRIVATE, DigestMismatch, IncompleteBody, OutOfOrderChunk, account_settings
from ..store.image_door import complete_upload, link_blob, linked_blob
from . import http
from .bodies import BodyError, RequestBody
from .context import REPOSITORY_NAME
from .oci_errors import RegistryError

_CONTENT_RANGE = re.compile(r"^\s*(?:bytes[ =])?\s*(\d+)\s*-\s*(\d+)\s*(?:/\s*(?:\d+|\*))?\s*$", re.I)


def _progress(ctx, name: str, session) -> dict[str, str]:
    return {
        "Location": ctx.url(f"/v2/{name}/blobs/uploads/{session.id}"),
        "Range": f"0-{max(session.size - 1, 0)}",
        "Docker-Upload-UUID": session.id,
        "Blob-Upload-Session-ID": session.id,
    }


def _created(ctx, name: str, digest: str):
    return http.respond(b"", 201, {
        "Location": ctx.url(f"/v2/{name}/blobs/{digest}"),
        "Docker-Content-Digest": digest,
    })


def _session(ctx, name: str, upload_id: str):
    ctx.repository(name)
    session = ctx.backend.uploads.get(upload_id, ctx.account, ctx.region, name, ctx.now)
    if session is None:
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": upload_id})
    return session


def _expected_digest(ctx) -> str:
    values = ctx.request.args.getlist("digest")
    if not values:
        raise RegistryError("DIGEST_INVALID", "the digest query parameter is required to complete an upload")
    sha256 = [v for v in values if v.startswith("sha256:")]
    return http.digest(sha256[0] if sha256 else values[0])


def _content_range(ctx, name: str, session, body: RequestBody) -> int | None:
    """The first byte named by ``Content-Range`` (None without one); 416 if malformed."""
    header = ctx.request.headers.get("Content-Range")
    if not header:
        return None
    match = _CONTENT_RANGE.match(header)
    if not match:
        raise RegistryError("RANGE_INVALID", f"invalid Content-Range '{header}'", headers=_progress(ctx, name, session))
    first, last = http.position(match[1]), http.position(match[2])
    if last < first or (body.length is not None and last - first + 1 != body.length):
        raise RegistryError("RANGE_INVALID", f"Content-Range '{header}' does not match the "
                                             f"Content-Length {body.length}", headers=_progress(ctx, name, session))
    return first


def _append(ctx, name: str, session, body: RequestBody, first_byte: int | None) -> None:
    """Stream the request body into ``session``: all of it, or nothing changes."""
    if not session.lock.acquire(blocking=False):
        raise RegistryError("BLOB_UPLOAD_INVALID", "another request is writing to this upload",
                            detail={"uuid": session.id})
    spooled = ctx.request.environ.get("ecr_emulator.body")
    try:
        if spooled is not None and spooled.path is not None and body.length == spooled.size:
            session.append_spooled(spooled, first_byte)  # the server's spool file: renamed, not copied
        else:
            session.append_stream(body, body.length, first_byte)
    except OutOfOrderChunk as error:
        raise RegistryError("RANGE_INVALID", f"the chunk starts at byte {first_byte} but the upload has "
                                             f"{error.received} bytes", headers=_progress(ctx, name, session))
    except IncompleteBody as error:
        raise RegistryError("BLOB_UPLOAD_INVALID", f"the request body ended after {error.received} of "
                                                   f"{error.expected} bytes; nothing was added to the upload",
                            detail={"uuid": session.id}) from None
    except BodyError as error:
        raise RegistryError("BLOB_UPLOAD_INVALID", f"reading the request body failed ({error}); nothing was "
                                                   "added to the upload", detail={"uuid": session.id}) from None
    finally:
        session.lock.release()


def _complete(ctx, repo, session, digest: str):
    try:
        return complete_upload(ctx.backend, repo, session, digest)
    except DigestMismatch:
        ctx.backend.uploads.finish(session.id)
        raise


def start_upload(ctx, name: str):
    """``POST``: mount from another repository (201), a whole blob with ``?digest=`` (201), or
    a new session (202). A missing repository may be created on push (templates)."""
    repo = ctx.repository_for_push(name)
    args = ctx.request.args
    body = RequestBody(ctx.request.environ)
    if args.get("mount") and args.get("from"):
        blob = _mount(ctx, repo, args["mount"], args["from"])
        if blob is not None:
            body.drain()
            return _created(ctx, name, blob.digest)
    if "digest" in args:
        digest = _expected_digest(ctx)
        session = ctx.backend.uploads.start(ctx.account, ctx.region, name, ctx.now)
        try:
            _append(ctx, name, session, body, None)
            blob = _complete(ctx, repo, session, digest)
        finally:
            ctx.backend.uploads.finish(session.id)
        return _created(ctx, name, blob.digest)
    body.drain()
    session = ctx.backend.uploads.start(ctx.account, ctx.region, name, ctx.now)
    return http.respond(b"", 202, {**_progress(ctx, name, session), "Range": "0-0"})


def _mount(ctx, repo, digest: str, source: str):
    """The blob ``digest`` linked into ``repo`` from ``source`` (same registry), or None to fall
    back to a normal upload.

    Private ECR mounts only with the account setting ``BLOB_MOUNTING`` ENABLED (its default is
    DISABLED) and between repositories with the same encryption, as ECR does.
    """
    source = ctx.local_name(source)
    if not (source and REPOSITORY_NAME.match(source) and _is_sha256(digest)):
        return None
    with ctx.lock:
        state = ctx.registry()
        if state.kind == PRIVATE and account_settings.value(state, account_settings.BLOB_MOUNTING) != "ENABLED":
            return None
        source_repo = state.repositories.get(source)
        if source_repo is not None and not ctx.may(source_repo, "ecr:GetDownloadUrlForLayer"):
            return None  # as ECR: no access to the source, so a plain upload instead
        if source_repo is not None and source_repo.encryption != repo.encryption:
            return None
        blob = linked_blob(source_repo, ctx.backend.blobs, digest) if source_repo is not None else None
        if blob is not None:
            link_blob(repo, blob, ctx.now)
    return blob


def _is_sha256(value: str) -> bool:
    try:
        http.digest(value)
    except RegistryError:
        return False
    return True


def upload_status(ctx, name: str, upload_id: str):
    session = _session(ctx, name, upload_id)
    return http.respond(b"", 204, _progress(ctx, name, session))


def patch_upload(ctx, name: str, upload_id: str):
    """A chunk (``Content-Range``) or a stream (no ``Content-Range``, any length, chunked too)."""
    session = _session(ctx, name, upload_id)
    body = RequestBody(ctx.request.environ)
    _append(ctx, name, session, body, _content_range(ctx, name, session, body))
    return http.respond(b"", 202, _progress(ctx, name, session))


def finish_upload(ctx, name: str, upload_id: str):
    """``PUT ?digest=`` with the optional last bytes: verify, store once, link."""
    session = _session(ctx, name, upload_id)
    repo = ctx.repository(name)
    digest = _expected_digest(ctx)
    body = RequestBody(ctx.request.environ)
    first_byte = _content_range(ctx, name, session, body)
    if body.length != 0:
        _append(ctx, name, session, body, first_byte)
    blob = _complete(ctx, repo, session, digest)
    return _created(ctx, name, blob.digest)


def cancel_upload(ctx, name: str, upload_id: str):
    session = _session(ctx, name, upload_id)
    ctx.backend.uploads.finish(session.id)
    return http.respond(b"", 204)
