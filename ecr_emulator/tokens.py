"""Signed tokens: registry passwords (GetAuthorizationToken) and pre-signed download URLs.

A token is ``<claims>.<signature>``: base64url JSON, signed with HMAC-SHA256 under a secret
made when the process starts, with a purpose string mixed into the signature so a token of
one kind is never accepted as the other. It cannot be forged or altered, and it stops
working when it expires or the server restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone


class InvalidToken(Exception):
    """The token is malformed, forged, or expired."""


@dataclass(frozen=True)
class TokenClaims:
    """What a registry password grants: the registry of ``account`` in ``region``."""

    account: str
    region: str
    kind: str
    expires_at: datetime


@dataclass(frozen=True)
class DownloadClaims:
    """What a pre-signed layer download URL (GetDownloadUrlForLayer) grants."""

    account: str
    region: str
    kind: str
    repository: str
    digest: str
    expires_at: datetime


_PASSWORD = ("password", {"a": "account", "r": "region", "k": "kind"}, TokenClaims)
_DOWNLOAD = ("download", {"a": "account", "r": "region", "k": "kind", "n": "repository", "d": "digest"},
             DownloadClaims)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _signature(self, purpose: str, payload: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{payload}".encode("ascii"), hashlib.sha256)
        return _b64(mac.digest())

    def _encode(self, spec, claims) -> str:
        purpose, fields, _ = spec
        data = {key: getattr(claims, name) for key, name in fields.items()}
        data["e"] = int(claims.expires_at.timestamp())
        payload = _b64(json.dumps(data, separators=(",", ":")).encode())
        return f"{payload}.{self._signature(purpose, payload)}"

    def _decode(self, spec, token: str, now: datetime, what: str):
        purpose, fields, cls = spec
        if not token.isascii():  # a signed token is base64url: anything else is not one of ours
            raise InvalidToken(f"Your {what} is invalid.")
        payload, _, signature = token.partition(".")
        if not signature or not hmac.compare_digest(signature, self._signature(purpose, payload)):
            raise InvalidToken(f"Your {what} is invalid.")
        try:
            data = json.loads(_unb64(payload))
            claims = cls(**{name: data[key] for key, name in fields.items()},
                         expires_at=datetime.fromtimestamp(data["e"], tz=timezone.utc))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken(f"Your {what} is invalid.") from None
        if now >= claims.expires_at:
            raise InvalidToken(f"Your {what} has expired. Reauthenticate and try again.")
        return claims

    # -- registry passwords ------------------------------------------------------------
    def issue(self, claims: TokenClaims) -> str:
        return self._encode(_PASSWORD, claims)

    def authorization_token(self, claims: TokenClaims) -> str:
        """base64(``AWS:<password>``), as ECR's ``authorizationToken``."""
        return base64.b64encode(f"AWS:{self.issue(claims)}".encode()).decode("ascii")

    def verify(self, password: str, now: datetime) -> TokenClaims:
        return self._decode(_PASSWORD, password, now, "authorization token")

    # -- pre-signed downloads ------------------------------------------------------------
    def sign_download(self, claims: DownloadClaims) -> str:
        """An opaque, URL-safe token for ``/_emulator/blobs/<token>``."""
        return self._encode(_DOWNLOAD, claims)

    def verify_download(self, token: str, now: datetime) -> DownloadClaims:
        return self._decode(_DOWNLOAD, token, now, "download URL")

