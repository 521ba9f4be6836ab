"""Registry authorization tokens: what GetAuthorizationToken hands out and the registry checks.

A password is ``<claims>.<signature>``: base64url JSON naming the account, region, registry
kind and expiry, signed with HMAC-SHA256 under a secret made when the process starts. It
cannot be forged or altered, and it stops working when it expires or the server restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True)
class TokenClaims:
    account: str
    region: str
    kind: str
    expires_at: datetime


class InvalidToken(Exception):
    """The password is malformed, forged, or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, claims: TokenClaims) -> str:
        payload = _b64(json.dumps(
            {"a": claims.account, "r": claims.region, "k": claims.kind,
             "e": int(claims.expires_at.timestamp())},
            separators=(",", ":"),
        ).encode())
        return f"{payload}.{self._sign(payload)}"

    def authorization_token(self, claims: TokenClaims) -> str:
        """base64(``AWS:<password>``), as ECR's ``authorizationToken``."""
        return base64.b64encode(f"AWS:{self.issue(claims)}".encode()).decode("ascii")

    def verify(self, password: str, now: datetime) -> TokenClaims:
        payload, _, signature = password.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidToken("Your authorization token is invalid.")
        try:
            data = json.loads(_unb64(payload))
            claims = TokenClaims(data["a"], data["r"], data["k"],
                                 datetime.fromtimestamp(data["e"], tz=timezone.utc))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("Your authorization token is invalid.") from None
        if now >= claims.expires_at:
            raise InvalidToken("Your authorization token has expired. Reauthenticate and try again.")
        return claims


@dataclass(frozen=True)
class DownloadClaims:
    """What a pre-signed layer download URL (GetDownloadUrlForLayer) grants."""

    account: str
    region: str
    kind: str
    repository: str
    digest: str
    expires_at: datetime


def sign_download(signer: TokenSigner, claims: DownloadClaims) -> str:
    """An opaque, URL-safe token for ``/_emulator/blobs/<token>``."""
    payload = _b64(json.dumps(
        {"a": claims.account, "r": claims.region, "k": claims.kind, "n": claims.repository,
         "d": claims.digest, "e": int(claims.expires_at.timestamp())},
        separators=(",", ":"),
    ).encode())
    return f"{payload}.{signer._sign('download:' + payload)}"


def verify_download(signer: TokenSigner, token: str, now: datetime) -> DownloadClaims:
    payload, _, signature = token.partition(".")
    if not signature or not hmac.compare_digest(signature, signer._sign("download:" + payload)):
        raise InvalidToken("The download URL signature is invalid.")
    try:
        data = json.loads(_unb64(payload))
        claims = DownloadClaims(data["a"], data["r"], data["k"], data["n"], data["d"],
                                datetime.fromtimestamp(data["e"], tz=timezone.utc))
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("The download URL signature is invalid.") from None
    if now >= claims.expires_at:
        raise InvalidToken("The download URL has expired.")
    return claims
