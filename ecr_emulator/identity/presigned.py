"""Pre-signed layer URLs in S3's query-string form: what ECR hands out instead of the bytes.

Built here for both doors (a registry blob ``GET`` redirects to one, ``GetDownloadUrlForLayer``
returns one) and checked by the download listener (``registry/downloads.py``). The signature is an
HMAC under the tokens' key (``TokenSigner.presign``) of the algorithm, date, credential, lifetime
and path; the path names the registry kind, account, region, digest and repository, so a URL
cannot be altered, and it expires on the emulator's clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

from .tokens import DownloadClaims

#: the first path segment of every download URL (S3's path-style bucket)
BUCKET = "ecr-emulator-layers"
ALGORITHM = "AWS4-HMAC-SHA256"
#: the access key id in ``X-Amz-Credential`` (a made-up one of AWS's form)
ACCESS_KEY = "ASIAECREMULATOR00000"
#: how long a URL is valid (ECR's layer URLs: an hour)
TTL = timedelta(hours=1)
#: the longest ``X-Amz-Expires`` S3 accepts
MAX_EXPIRES = 7 * 24 * 3600
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
             "X-Amz-Expires")
PATH = re.compile(rf"^/{BUCKET}/(private|public)/(\d{{12}})/([a-z0-9-]+)/(sha256:[0-9a-f]{{64}})/(.+)$")


def path_of(claims: DownloadClaims) -> str:
    """The URL's path (repository names need no escaping: ``[a-z0-9._/-]``)."""
    return f"/{BUCKET}/{claims.kind}/{claims.account}/{claims.region}/{claims.digest}/{claims.repository}"


def string_to_sign(date: str, credential: str, expires: str, path: str) -> str:
    return "\n".join((ALGORITHM, date, credential, expires, path))


def url(tokens, origin: str, claims: DownloadClaims, now: datetime, ttl: timedelta = TTL) -> str:
    """The pre-signed URL of the layer ``claims`` names, valid for ``ttl`` from ``now``."""
    path = path_of(claims)
    date = now.astimezone(timezone.utc).strftime(DATE_FORMAT)
    credential = f"{ACCESS_KEY}/{date[:8]}/{claims.region}/s3/aws4_request"
    expires = str(int(ttl.total_seconds()))
    query = {"X-Amz-Algorithm": ALGORITHM, "X-Amz-Credential": credential, "X-Amz-Date": date,
             "X-Amz-Expires": expires, "X-Amz-SignedHeaders": "host",
             "X-Amz-Signature": tokens.presign(string_to_sign(date, credential, expires, path))}
    return f"{origin}{path}?{urlencode(query)}"


def origin(scheme: str, request_host: str, port: int | None) -> str | None:
    """``scheme://host:port`` of the download listener for a client that reached us at
    ``request_host`` (the same host name, the download ``port``); None without a listener."""
    if port is None:
        return None
    host = urlsplit("//" + request_host).hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"
