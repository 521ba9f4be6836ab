"""The layer API: what ``docker push``/``pull`` map to when they go through ECR's API
(BatchCheckLayerAvailability, Initiate/UploadLayerPart/CompleteLayerUpload,
GetDownloadUrlForLayer). Uploads share ``Backend.uploads`` and end in
:func:`store.image_door.complete_upload`, like the registry's blob uploads.
"""

from __future__ import annotations

import re

from ..errors import (
    EmptyUploadException,
    InvalidLayerException,
    InvalidLayerPartException,
    LayerAlreadyExistsException,
    LayerInaccessibleException,
    LayerPartTooSmallException,
    LayersNotFoundException,
    LimitExceededException,
    UnableToGetUpstreamLayerException,
    UploadNotFoundException,
)
from ..identity import presigned
from ..identity.tokens import DownloadClaims
from ..store import PRIVATE, PUBLIC, DigestMismatch, Repository, StorageFull, archive
from ..store import image_door as store
from ..store.pull_through import UpstreamError
from .images import repository
from .tables import both, ecr
from .validation import invalid

MIB = 1024 * 1024
#: every part but the last must be at least this big (S3 multipart underneath ECR)
MIN_PART_SIZE = 5 * MIB
#: what InitiateLayerUpload advises (the documented part quota is 5-10 MiB)
PART_SIZE = 10 * MIB
MAX_PARTS = {PRIVATE: 4200, PUBLIC: 1000}

LAYER_DIGEST_PATTERN = "[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+"
_LAYER_DIGEST = re.compile(LAYER_DIGEST_PATTERN)


def _session(ctx, repo: Repository, upload_id: str):
    session = ctx.backend.uploads.get(upload_id, repo.account, repo.region, repo.name, ctx.now)
    if session is None:
        raise UploadNotFoundException.named(upload_id, repo.name, repo.account)
    return session


def _media_types(repo: Repository, digests: set[str]) -> dict[str, str]:
    """The media types the manifests in ``repo`` give the blobs ``digests`` (where one does)."""
    found: dict[str, str] = {}
    for image in repo.images.values():
        for digest in digests.intersection(image.blob_media_types).difference(found):
            found[digest] = image.blob_media_types[digest]
        if len(found) == len(digests):
            break
    return found


@both("BatchCheckLayerAvailability")
def batch_check_layer_availability(ctx, repository_name, layer_digests, registry_id=None):
    """A layer the repository links is AVAILABLE, with its size and (once a manifest names
    it) its media type. A well-formed digest the repository does not link is a
    ``MissingLayerDigest`` failure ("Could not find layer"), the answer reported for ECR by
    its users (not stated in AWS's documentation); the emulator never answers UNAVAILABLE,
    which the model allows. A layer only archived images use is ARCHIVED. A malformed digest is ``InvalidLayerDigest``."""
    repo = repository(ctx, repository_name, registry_id, "BatchCheckLayerAvailability")
    linked = {d for d in layer_digests if d in repo.blobs}
    media_types = _media_types(repo, linked) if linked else {}
    layers, failures = [], []
    for digest in layer_digests:
        if not _LAYER_DIGEST.fullmatch(digest):
            failures.append({
                "layerDigest": digest, "failureCode": "InvalidLayerDigest",
                "failureReason": f"Invalid request parameters: layer digest should satisfy the regex "
                                 f"'{LAYER_DIGEST_PATTERN}'",
            })
            continue
        blob = store.linked_blob(repo, ctx.backend.blobs, digest)
        if blob is None:
            failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                             "failureReason": "Could not find layer"})
            continue
        store.touch_blob(repo, digest, ctx.now)  # a pushing client: it may name the layer next
        availability = "ARCHIVED" if archive.blob_archived(repo, digest) else "AVAILABLE"
        layers.append({"layerDigest": digest, "layerAvailability": availability, "layerSize": blob.size,
                       "mediaType": media_types.get(digest)})
    return {"layers": layers, "failures": failures}


@both("InitiateLayerUpload")
def initiate_layer_upload(ctx, repository_name, registry_id=None):
    repo = repository(ctx, repository_name, registry_id, "InitiateLayerUpload")
    session = ctx.backend.uploads.start(repo.account, repo.region, repo.name, ctx.now)
    return {"uploadId": session.id, "partSize": PART_SIZE}


@both("UploadLayerPart", waits=True)
def upload_layer_part(ctx, repository_name, upload_id, part_first_byte, part_last_byte, layer_part_blob,
                      registry_id=None):
    """Append one part. Parts must follow each other exactly: ``partFirstByte`` is the number
    of bytes received so far and ``partLastByte - partFirstByte + 1`` the length of the part,
    else ``InvalidLayerPartException`` names the last byte the upload holds."""
    repo = repository(ctx, repository_name, registry_id, "UploadLayerPart")
    session = _session(ctx, repo, upload_id)
    with session.lock:
        def refuse(reason: str) -> InvalidLayerPartException:
            return InvalidLayerPartException(
                reason, registryId=repo.account, repositoryName=repo.name, uploadId=upload_id,
                # nothing received yet: there is no last valid byte to name
                lastValidByteReceived=session.size - 1 if session.size else None,
            )

        if part_first_byte != session.size:
            raise refuse(f"The part's first byte {part_first_byte} is not the next byte of the upload "
                         f"({session.size}); parts must be uploaded in order, without gaps or overlaps")
        if part_last_byte - part_first_byte + 1 != len(layer_part_blob):
            raise refuse(f"The part range {part_first_byte}-{part_last_byte} does not match the "
                         f"{len(layer_part_blob)} bytes of layerPartBlob")
        if len(session.part_sizes) >= MAX_PARTS[repo.kind]:
            raise LimitExceededException(
                f"The upload with id '{upload_id}' has reached the limit of {MAX_PARTS[repo.kind]} parts")
        try:
            session.append(layer_part_blob)
        except StorageFull as error:
            raise LimitExceededException(f"The part was not stored: {error.strerror}. The upload keeps its "
                                         f"{session.size} bytes; retry the part once space is freed") from None
        last = session.size - 1
    return {"registryId": repo.account, "repositoryName": repo.name, "uploadId": upload_id,
            "lastByteReceived": last}


@both("CompleteLayerUpload", waits=True)
def complete_layer_upload(ctx, repository_name, upload_id, layer_digests, registry_id=None):
    repo = repository(ctx, repository_name, registry_id, "CompleteLayerUpload")
    session = _session(ctx, repo, upload_id)
    if len(layer_digests) != 1:
        raise invalid("layerDigests", "must contain exactly one digest: the digest of the uploaded layer")
    digest = layer_digests[0]
    if session.size == 0:
        raise EmptyUploadException(f"The upload with id '{upload_id}' does not contain any layer parts")
    if any(size < MIN_PART_SIZE for size in session.part_sizes[:-1]):
        raise LayerPartTooSmallException(LayerPartTooSmallException.MESSAGE)
    if session.digest() != digest:
        raise InvalidLayerException(
            f"The layer digest '{digest}' does not match the digest '{session.digest()}' of the "
            f"uploaded layer with upload id '{upload_id}'")
    if digest in repo.blobs:
        ctx.backend.uploads.finish(upload_id)
        raise LayerAlreadyExistsException.named(digest, repo.name, repo.account)
    try:
        blob = store.complete_upload(ctx.backend, repo, session, digest)
    except DigestMismatch as error:  # checked above; kept for the store's own guarantee
        raise InvalidLayerException(f"The layer digest '{error.expected}' does not match the "
                                    f"uploaded data ('{error.actual}')") from None
    return {"registryId": repo.account, "repositoryName": repo.name, "uploadId": upload_id,
            "layerDigest": blob.digest}


def _pull_through(ctx, repo: Repository, digest: str) -> None:
    """A layer of a pull-through repository that is not cached is fetched from the upstream."""
    with ctx.unlocked():
        try:
            ctx.backend.upstreams.fetch_blob(repo, digest)
        except UpstreamError as error:
            if error.code != "ImageNotFound":
                raise UnableToGetUpstreamLayerException(error.message) from None


@ecr("GetDownloadUrlForLayer", waits=True)
def get_download_url_for_layer(ctx, repository_name, layer_digest, registry_id=None):
    """A pre-signed URL (S3's form, valid one hour, on the download listener: ``identity/presigned.py``)
    for a layer of an image.

    A digest the repository does not link is ``LayersNotFoundException``; a blob it links
    that no image references (uploaded, never pushed with a manifest, or left behind by a
    delete) is ``LayerInaccessibleException``, as ECR answers for unassociated layers.
    """
    repo = ctx.repository(repository_name, registry_id, "GetDownloadUrlForLayer")
    if store.linked_blob(repo, ctx.backend.blobs, layer_digest) is None:
        _pull_through(ctx, repo, layer_digest)
    if store.linked_blob(repo, ctx.backend.blobs, layer_digest) is None:
        raise LayersNotFoundException(
            f"The layer with digest '{layer_digest}' does not exist in the repository with name "
            f"'{repo.name}' in the registry with id '{repo.account}'")
    if not any(layer_digest in image.blobs for image in repo.images.values()):
        raise LayerInaccessibleException.named(layer_digest, repo.name, repo.account)
    if archive.blob_archived(repo, layer_digest):
        raise LayerInaccessibleException(
            f"The layer with digest '{layer_digest}' in the repository with name '{repo.name}' in the registry "
            f"with id '{repo.account}' belongs to archived images only; restore an image first")
    claims = DownloadClaims(repo.account, repo.region, repo.kind, repo.name, layer_digest, ctx.now)
    where = presigned.origin(ctx.scheme, ctx.host, ctx.download_port) or f"{ctx.scheme}://{ctx.host}"
    return {"downloadUrl": presigned.url(ctx.tokens, where, claims, ctx.now), "layerDigest": layer_digest}
