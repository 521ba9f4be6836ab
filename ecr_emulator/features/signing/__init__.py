"""Managed signing: an image pushed to a repository that a signing rule matches is signed in
the background by the emulator's offline signer (``signer.py``: a per-process key, not AWS
Signer), and the signature is stored as an OCI referrer of the image (an artifact manifest
with ``subject``) through ``Backend.put_image(door=Door.SIGNING)``, so ListImageReferrers and
``GET /v2/<name>/referrers/<digest>`` show it, and replication carries it like any referrer.

Signed: every new manifest (image or index) whatever door it came through, except artifacts
that are themselves referrers (signatures, SBOMs: they have a ``subject``), the signer's own
signatures, and replicas (the signature travels with the image). DescribeImageSigningStatus
reports one status per matching signing profile: IN_PROGRESS, then COMPLETE (or FAILED with
the store's error when the signature could not be stored).
"""

from __future__ import annotations

from ...errors import AwsError, ImageAlreadyExistsException
from ...store import PRIVATE, Blob, Door, ImagePushed
from ...store.image_door import link_blob
from ...store.signing import COMPLETE, FAILED, IN_PROGRESS, profiles_for, set_status
from .signer import Signer

#: doors whose images are not signed (see the module docstring)
UNSIGNED_DOORS = (Door.SIGNING, Door.REPLICATION)


def install(emulator) -> None:
    backend = emulator.backend
    signer = Signer()
    backend.events.subscribe(ImagePushed, lambda event: _on_push(backend, signer, event))


def _on_push(backend, signer: Signer, event: ImagePushed) -> None:
    repo, image = event.repo, event.image
    if not event.new or event.door in UNSIGNED_DOORS or repo.kind != PRIVATE or image.subject is not None:
        return
    profiles = profiles_for(backend.private(repo.account, repo.region).signing_rules, repo.name)
    if not profiles:
        return
    for profile in profiles:
        set_status(image, profile, IN_PROGRESS)
    account, region, name, digest = repo.account, repo.region, repo.name, image.digest

    def work() -> None:
        with backend.lock:
            target = backend.private(account, region).repositories.get(name)
            current = target.images.get(digest) if target else None
            if current is None:
                return  # deleted before it could be signed
            for profile in profiles:
                sign(backend, signer, target, current, profile)

    backend.tasks.submit(work, name=f"sign {name}@{digest}")


def sign(backend, signer: Signer, repo, image, profile_arn: str) -> None:
    """Sign ``image`` for ``profile_arn`` and store the signature (``Backend.lock`` held)."""
    now = backend.clock.now()
    subject = {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest)}
    signature = signer.sign(subject, profile_arn, now)
    for digest, data in signature.blobs.items():
        link_blob(repo, backend.blobs.add(Blob(digest, len(data), [data])), now)
    try:
        backend.put_image(repo, signature.manifest, door=Door.SIGNING, now=now)
    except ImageAlreadyExistsException:
        pass
    except AwsError as error:
        set_status(image, profile_arn, FAILED, error.error_code.removesuffix("Exception"), error.message)
        return
    set_status(image, profile_arn, COMPLETE)
