"""A small OCI distribution client for pull-through upstreams (stdlib, and werkzeug's header parser).

It speaks what registries expect from a puller: ``GET /v2/<name>/manifests/<ref>`` with an
``Accept`` list of every manifest type, ``GET /v2/<name>/blobs/<digest>`` (following redirects
to storage, without the credentials), and the auth handshake: a 401 with
``WWW-Authenticate: Bearer realm=...,service=...`` makes it fetch a token from the realm
(anonymously, or with the rule's username/accessToken as Basic credentials) and retry with
``Authorization: Bearer``; a ``Basic`` challenge is answered with the credentials directly.
The challenge is read by werkzeug's ``WWWAuthenticate`` (RFC 7235 quoting and escapes).

Every request has a short timeout; every failure becomes an ``UpstreamError`` with the
ImageFailureCode ECR would report, never a hang.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from werkzeug.datastructures import WWWAuthenticate

from ...store.manifests import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from ...store.pull_through import UpstreamError

ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
#: largest manifest accepted from an upstream (ECR's own limit)
MAX_MANIFEST = 4 * 1024 * 1024


class _NoAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Blob GETs redirect to object storage: the registry's credentials stay behind."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_NoAuthOnRedirect)


@dataclass
class Upstream:
    """One upstream registry at ``base`` (``scheme://host[:port]``), optionally with credentials."""

    base: str
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    _authorization: dict[str, str] = field(default_factory=dict)

    # -- the requests ------------------------------------------------------------------
    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        """The manifest bytes and their media type."""
        scope = f"repository:{repository}:pull"
        with self._get(f"/v2/{repository}/manifests/{reference}", scope, {"Accept": ACCEPT}) as response:
            data = response.read(MAX_MANIFEST + 1)
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if len(data) > MAX_MANIFEST:
            raise UpstreamError("UpstreamUnavailable", f"the upstream manifest {repository}:{reference} is larger "
                                                       f"than {MAX_MANIFEST} bytes")
        if not media_type or media_type in ("application/json", "application/octet-stream", "text/plain"):
            try:
                media_type = json.loads(data).get("mediaType") or ""
            except (ValueError, AttributeError):
                media_type = ""
        return data, media_type

    def blob(self, repository: str, digest: str, consume):
        """``consume(response)`` with the blob's response (read it as a stream); returns what
        ``consume`` returns."""
        scope = f"repository:{repository}:pull"
        with self._get(f"/v2/{repository}/blobs/{digest}", scope, {}) as response:
            return consume(response)

    def ping(self) -> None:
        """Authenticate against ``/v2/`` (ValidatePullThroughCacheRule)."""
        with self._get("/v2/", "", {}):
            pass

    # -- transport and the auth handshake ------------------------------------------------
    def _get(self, path: str, scope: str, headers: dict[str, str]):
        url = self.base + urllib.parse.quote(path, safe="/:@")
        try:
            return self._open(url, headers, self._authorization.get(scope))
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise _failure(error, url) from None
            challenge = error.headers.get("WWW-Authenticate", "")
            error.close()
        authorization = self._answer(challenge, scope, url)
        self._authorization[scope] = authorization
        try:
            return self._open(url, headers, authorization)
        except urllib.error.HTTPError as error:
            raise _failure(error, url) from None

    def _open(self, url: str, headers: dict[str, str], authorization: str | None):
        request = urllib.request.Request(url, headers=headers)
        if authorization:
            request.add_header("Authorization", authorization)
        try:
            return _OPENER.open(request, timeout=self.timeout)
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, socket.timeout) as error:
            reason = getattr(error, "reason", error)
            raise UpstreamError("UpstreamUnavailable", f"the upstream registry at {self.base} is unreachable "
                                                       f"({reason})") from None

    def _basic(self) -> str | None:
        if self.username is None:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()

    def _answer(self, challenge: str, scope: str, url: str) -> str:
        parsed = WWWAuthenticate.from_header(challenge.strip())
        scheme = parsed.type if parsed is not None else ""
        if scheme == "basic":
            basic = self._basic()
            if basic is None:
                raise UpstreamError("UpstreamAccessDenied", f"the upstream registry at {self.base} requires "
                                                            "credentials and the rule has none")
            return basic
        if scheme != "bearer":
            raise UpstreamError("UpstreamAccessDenied", f"the upstream registry at {self.base} asked for "
                                                        f"unsupported authentication {challenge!r}")
        values = {key.lower(): value for key, value in parsed.parameters.items()}
        realm = values.get("realm")
        if not realm:
            raise UpstreamError("UpstreamAccessDenied", "the upstream's Bearer challenge names no realm")
        query = {k: v for k, v in (("service", values.get("service")), ("scope", scope or values.get("scope")))
                 if v}
        token_url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        try:
            with self._open(token_url, {}, self._basic()) as response:
                body = json.loads(response.read(1 << 20))
        except urllib.error.HTTPError as error:
            error.close()
            code = "UpstreamTooManyRequests" if error.code == 429 else "UpstreamAccessDenied"
            raise UpstreamError(code, f"the upstream's token service {realm} refused the credentials "
                                      f"(HTTP {error.code})") from None
        except ValueError:
            raise UpstreamError("UpstreamAccessDenied", f"the upstream's token service {realm} did not answer "
                                                        "JSON") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise UpstreamError("UpstreamAccessDenied", f"the upstream's token service {realm} returned no token")
        return f"Bearer {token}"


def _failure(error: urllib.error.HTTPError, url: str) -> UpstreamError:
    code = error.code
    error.close()
    if code == 404:
        return UpstreamError("ImageNotFound", f"the upstream registry has no {url.split('/v2/', 1)[-1]}")
    if code in (401, 403):
        return UpstreamError("UpstreamAccessDenied", f"the upstream registry denied access to {url} (HTTP {code})")
    if code == 429:
        return UpstreamError("UpstreamTooManyRequests", f"the upstream registry throttled {url} (HTTP 429)")
    return UpstreamError("UpstreamUnavailable", f"the upstream registry answered HTTP {code} for {url}")
