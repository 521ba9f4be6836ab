"""Digests: always the sha256 of the exact bytes, computed as the bytes stream in."""

from __future__ import annotations

import hashlib
import re

#: OCI digest grammar (algorithm ":" encoded); only sha256 is stored.
DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(value: str) -> bool:
    """A well-formed digest of any algorithm (``sha512:...`` is well-formed, just not stored)."""
    return bool(DIGEST_RE.match(value))


def is_sha256(value: str) -> bool:
    return bool(SHA256_RE.match(value))
