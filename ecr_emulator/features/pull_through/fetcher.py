"""The pull-through fetcher: what ``Backend.upstreams`` is once the feature is installed.

A miss on ``<prefix>/<path>`` (manifest by tag or digest, or a blob) under a pull-through
cache rule downloads from the rule's upstream -- the manifest, an index's child manifests
and every blob they reference -- then, under the lock, creates the repository through
``create_for_ecr(..., PULL_THROUGH_CACHE)`` (creation templates apply) and stores the images
through ``Backend.put_image(..., door=Door.PULL_THROUGH)``. A tag is asked again at most once per
24 h of the emulator's clock (ECR's rule); an upstream that fails while a copy is cached leaves
the cached copy in service. Network work never holds ``Backend.lock``.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, replace

from ...errors import AwsError, ImageAlreadyExistsException, ImageTagAlreadyExistsException
from ...identity import upstream_credentials
from ...store import Door, RegistryState, Repository
from ...store.blobs import DigestMismatch, Staged, StorageFull
from ...store.digests import sha256_digest
from ...store.events import PullThroughSynced
from ...store.image_door import link_blob, linked_blob
from ...store.manifests import parse_manifest
from ...store.pull_through import PullThroughRule, UpstreamError
from ...store.repositories import PULL_THROUGH_CACHE, create_for_ecr
from ...store.upstreams import Upstreams, rule_for, tag_is_fresh
from .client import Upstream


@dataclass
class _Manifest:
    data: bytes
    media_type: str
    digest: str


@dataclass
class _Download:
    #: child manifests first, the requested manifest last
    manifests: list[_Manifest]
    #: blobs stored already, or staged (streamed to a file, verified) until ``_store``
    blobs: list


class Fetcher(Upstreams):
    def __init__(self, emulator) -> None:
        self.backend = emulator.backend
        self.settings = emulator.settings

    # -- the seam ------------------------------------------------------------------------
    def refresh(self, state: RegistryState, name: str, tag: str | None, digest: str | None) -> None:
        backend = self.backend
        with backend.lock:
            rule = rule_for(state, name)
            if rule is None:
                return
            repo = state.repositories.get(name)
            if repo is not None and _served_locally(repo, tag, digest, backend.clock.now()):
                return
            cached = repo is not None and repo.image_for(tag=tag, digest=digest) is not None
            upstream_name = rule.upstream_repository(name)
            synced = PullThroughSynced(state.account, state.region, name, rule.ecr_repository_prefix,
                                       rule.upstream_registry_url, tag, digest)
            try:
                client = self._client(rule)
            except UpstreamError as error:
                backend.events.emit(replace(synced, failure=error.code, reason=error.message))
                raise
        try:
            download = self._download(client, upstream_name, digest or tag, digest)
        except UpstreamError as error:
            with backend.lock:
                backend.events.emit(replace(synced, failure=error.code, reason=error.message))
            if cached:
                return  # the upstream is down or the tag is gone: the cached copy stays in service
            raise
        with backend.lock:
            self._store(state, name, tag, digest, download)
            backend.events.emit(replace(synced, digest=download.manifests[-1].digest))

    def fetch_blob(self, repo: Repository, digest: str) -> bool:
        backend = self.backend
        with backend.lock:
            state = backend.registry(repo.account, repo.region, repo.kind)
            rule = rule_for(state, repo.name)
            if rule is None:
                return False
            client = self._client(rule)
            upstream_name = rule.upstream_repository(repo.name)
        blob = backend.blobs.get(digest) or _blob(backend.blobs, client, upstream_name, digest)
        with backend.lock:
            link_blob(repo, _commit(backend, blob), backend.clock.now())
        return True

    def check(self, state: RegistryState, rule: PullThroughRule) -> str | None:
        try:
            self._client(rule).ping()
        except UpstreamError as error:
            return error.message
        return None

    # -- the work ------------------------------------------------------------------------
    def _client(self, rule: PullThroughRule) -> Upstream:
        host = rule.upstream_registry_url.lower()
        base = self.settings.upstream_urls().get(host, f"https://{host}")
        username = password = None
        if rule.credential_arn:
            try:
                found = upstream_credentials.lookup(self.settings.upstream_credentials, rule.credential_arn)
            except AwsError as error:
                raise UpstreamError("UpstreamAccessDenied", error.message) from None
            username, password = found.username, found.access_token
        return Upstream(base, username, password, timeout=self.settings.upstream_timeout)

    def _download(self, client: Upstream, name: str, reference: str, digest: str | None) -> _Download:
        top = _manifest(client, name, reference, digest)
        manifests, blobs, seen = [], [], set()
        try:
            parsed = _parse(top)
            for child in parsed.children:
                manifest = _manifest(client, name, child.digest, child.digest)
                manifests.append(manifest)
                self._blobs(client, name, _parse(manifest), seen, blobs)
            self._blobs(client, name, parsed, seen, blobs)
        except BaseException:
            for blob in blobs:
                if isinstance(blob, Staged):
                    self.backend.blobs.drop(blob)
            raise
        manifests.append(top)
        return _Download(manifests, blobs)

    def _blobs(self, client: Upstream, name: str, parsed, seen: set[str], found: list) -> None:
        store = self.backend.blobs
        for descriptor in parsed.blobs:
            if descriptor.foreign or descriptor.digest in seen:
                continue
            seen.add(descriptor.digest)
            found.append(store.get(descriptor.digest) or _blob(store, client, name, descriptor.digest))

    def _store(self, state: RegistryState, name: str, tag: str | None, digest: str | None,
               download: _Download) -> None:
        backend = self.backend
        now = backend.clock.now()
        repo = state.repositories.get(name) or create_for_ecr(state, name, PULL_THROUGH_CACHE, now)
        for blob in download.blobs:
            stored = _commit(backend, blob)
            if linked_blob(repo, backend.blobs, blob.digest) is None:
                link_blob(repo, stored, backend.clock.now())
        *children, top = download.manifests
        for child in children:
            _put(backend, repo, child, None, now)
        _put(backend, repo, top, None if digest else tag, now)
        if tag and not digest:
            repo.upstream_checked_at[tag] = now


def _served_locally(repo: Repository, tag: str | None, digest: str | None, now) -> bool:
    if digest is not None:
        return repo.image_for(tag=tag, digest=digest) is not None
    return tag is not None and tag_is_fresh(repo, tag, now)


def _put(backend, repo: Repository, manifest: _Manifest, tag: str | None, now) -> None:
    try:
        backend.put_image(repo, manifest.data, door=Door.PULL_THROUGH, media_type=manifest.media_type or None,
                          tag=tag, digest=manifest.digest, now=now)
    except ImageAlreadyExistsException:
        pass
    except ImageTagAlreadyExistsException:
        pass  # an immutable cached tag keeps the image it was first cached with


def _parse(manifest: _Manifest):
    try:
        return parse_manifest(manifest.data, manifest.media_type or None)
    except AwsError as error:
        raise UpstreamError("UpstreamUnavailable", f"the upstream manifest {manifest.digest} cannot be "
                                                   f"cached: {error.message}") from None


def _manifest(client: Upstream, name: str, reference: str, digest: str | None) -> _Manifest:
    data, media_type = client.manifest(name, reference)
    actual = sha256_digest(data)
    if digest is not None and actual != digest:
        raise UpstreamError("UpstreamUnavailable", f"the upstream returned a manifest with digest {actual} for "
                                                   f"{name}@{digest}")
    return _Manifest(data, media_type, actual)


def _blob(store, client: Upstream, name: str, digest: str) -> Staged:
    """The upstream's blob streamed into a file of ``store`` while hashing (never whole in memory)."""
    try:
        return client.blob(name, digest, lambda response: store.stage(response, digest))
    except DigestMismatch as error:
        raise UpstreamError("UpstreamUnavailable", f"the upstream returned bytes with digest {error.actual} for "
                                                   f"blob {digest} of {name}") from None
    except StorageFull as error:
        raise UpstreamError("UpstreamUnavailable", f"the blob {digest} of {name} does not fit: "
                                                   f"{error.strerror}") from None
    except (OSError, http.client.HTTPException) as error:
        raise UpstreamError("UpstreamUnavailable", f"reading the blob {digest} of {name} from the upstream "
                                                   f"failed: {error}") from None


def _commit(backend, blob):
    """A downloaded blob stored (call with ``Backend.lock`` held)."""
    return backend.blobs.commit(blob) if isinstance(blob, Staged) else blob
