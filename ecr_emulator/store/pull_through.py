"""Pull-through cache rules (plain data) and the error an upstream answers with.

A rule maps the ECR namespace ``ecr_repository_prefix`` (or ``ROOT``: every name) to an
upstream registry; repository ``<prefix>/<path>`` caches upstream repository ``<path>``
(or ``<upstream_repository_prefix>/<path>`` for ECR upstreams with an upstream prefix).

Which rule caches a repository, and the seam the fetcher plugs into, are in ``upstreams.py``
(they work on the model, which holds these rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .templates import ROOT, normalize_prefix


@dataclass
class PullThroughRule:
    ecr_repository_prefix: str
    upstream_registry_url: str
    upstream_registry: str
    created_at: datetime
    updated_at: datetime | None = None
    credential_arn: str | None = None
    custom_role_arn: str | None = None
    upstream_repository_prefix: str = ROOT

    def upstream_repository(self, name: str) -> str:
        """The upstream repository that local repository ``name`` caches."""
        prefix = normalize_prefix(self.ecr_repository_prefix)
        path = name if prefix == ROOT else name[len(prefix) + 1:]
        upstream = normalize_prefix(self.upstream_repository_prefix)
        return path if upstream == ROOT else f"{upstream}/{path}"


class UpstreamError(Exception):
    """The upstream did not deliver. ``code`` is the ImageFailureCode ECR reports
    (``UpstreamAccessDenied``, ``UpstreamTooManyRequests``, ``UpstreamUnavailable``) or
    ``ImageNotFound`` when the upstream has no such image."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
