"""Listings: ``/v2/`` itself, ``tags/list``, ``_catalog`` and the OCI 1.1 referrers API."""

from __future__ import annotations

from ..store.archive import is_pullable
from ..store.image_door import referrers_of
from ..store.manifests import OCI_INDEX
from . import http


def api_version(ctx):
    """``GET /v2/``: 200 ``{}`` once the credentials are good (auth ran before this)."""
    return http.respond_json({})


def list_tags(ctx, name: str):
    repo = ctx.repository(name)
    with ctx.lock:
        tags = sorted(repo.tag_index)
    chunk, headers = http.page(tags, ctx.request)
    return http.respond_json({"name": ctx.qualified(name), "tags": chunk}, headers=headers)


def catalog(ctx):
    with ctx.lock:
        names = sorted(name for name, repo in ctx.registry().repositories.items() if ctx.may(repo, ctx.action))
    chunk, headers = http.page(names, ctx.request)
    return http.respond_json({"repositories": chunk}, headers=headers)


def referrers(ctx, name: str, digest: str):
    """An OCI image index of the manifests whose ``subject`` is ``digest`` (an empty one when
    there are none: the subject itself need not exist); archived ones are left out, as they
    cannot be pulled."""
    repo = ctx.repository(name)
    digest = http.digest(digest)
    wanted = ctx.request.args.getlist("artifactType")
    with ctx.lock:
        found = sorted(referrers_of(repo, digest), key=lambda image: (image.pushed_at, image.digest))
        descriptors = []
        for image in found:
            if (wanted and image.artifact_type not in wanted) or not is_pullable(image, ctx.now):
                continue  # an archived referrer is not served (ListImageReferrers lists it on request)
            descriptor = {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest)}
            if image.artifact_type:
                descriptor["artifactType"] = image.artifact_type
            if image.annotations:
                descriptor["annotations"] = dict(image.annotations)
            descriptors.append(descriptor)
    headers = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
    return http.respond_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors},
                             headers=headers, content_type=OCI_INDEX)
