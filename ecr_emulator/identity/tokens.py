"""Signed tokens: registry passwords (GetAuthorizationToken) and pre-signed download URLs.

A token is ``<claims>.<signature>``: base64url JSON, signed with HMAC-SHA256 under a secret
kept across restarts (identity/token_key.py: in the user's cache directory, or in the state with
``--state-dir``), with a purpose string mixed into the signature so a token of one kind is
never accepted as the other. It cannot be forged or altered, and it stops working when it
expires (or when its key is removed).
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
    """What a registry password grants: the registry of ``account`` in ``region``, to
    ``principal`` (the account that asked for it; another account's registry answers it only
    as far as that registry's policies allow)."""

    account: str
    region: str
    kind: str
    expires_at: datetime
    principal: str = ""
    #: the IAM identity the token was issued to (pull-time update exclusions look at it)
    principal_arn: str = ""
    #: the access key id that asked for it (the call log's ``userIdentity.accessKeyId``)
    access_key: str = ""

    def __post_init__(self) -> None:
        if not self.principal:
            object.__setattr__(self, "principal", self.account)


@dataclass(frozen=True)
class DownloadClaims:
    """What a pre-signed layer download URL (GetDownloadUrlForLayer) grants."""

    account: str
    region: str
    kind: str
    repository: str
    digest: str
    expires_at: datetime


@dataclass(frozen=True)
class BearerClaims:
    """What an ECR Public registry Bearer token (``GET /token``) grants.

    ``account``: the account whose ``ecr-public`` password obtained it ("" for an anonymous
    token); ``access``: ``[[repository, [actions...]], ...]`` as granted, Docker token style.
    """

    account: str
    access: list
    expires_at: datetime
    #: the IAM identity whose password obtained it (identity policies judge its pushes)
    principal_arn: str = ""

    def allows(self, repository: str, action: str) -> bool:
        return any(name == repository and (action in actions or "*" in actions) for name, actions in self.access)


_PASSWORD = ("password", {"a": "account", "r": "region", "k": "kind", "p": "principal",
                               "i": "principal_arn", "x": "access_key"}, TokenClaims)
_BEARER = ("bearer", {"a": "account", "s": "access", "p": "principal_arn"}, BearerClaims)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        #: when the last-expiring login (registry password or Bearer token) issued so far expires
        #: (a clock advance past it ends every login: the log says so)
        self.logins_expire: datetime | None = None

    def _login(self, claims) -> None:
        if self.logins_expire is None or claims.expires_at > self.logins_expire:
            self.logins_expire = claims.expires_at

    @property
    def secret(self) -> bytes:
        """The signing key (saved with the state, so tokens outlive a restart with --state-dir)."""
        return self._secret

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
            # a member absent from the payload takes its default (tokens issued before it existed);
            # a required one absent is a TypeError: not a token of ours
            claims = cls(**{name: data[key] for key, name in fields.items() if key in data},
                         expires_at=datetime.fromtimestamp(data["e"], tz=timezone.utc))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken(f"Your {what} is invalid.") from None
        if now >= claims.expires_at:
            raise InvalidToken(f"Your {what} has expired. Reauthenticate and try again.")
        return claims

    # -- registry passwords ------------------------------------------------------------
    def issue(self, claims: TokenClaims) -> str:
        self._login(claims)
        return self._encode(_PASSWORD, claims)

    def authorization_token(self, claims: TokenClaims) -> str:
        """base64(``AWS:<password>``), as ECR's ``authorizationToken``."""
        return base64.b64encode(f"AWS:{self.issue(claims)}".encode()).decode("ascii")

    def verify(self, password: str, now: datetime) -> TokenClaims:
        return self._decode(_PASSWORD, password, now, "authorization token")

    # -- pre-signed downloads (the URL is built by registry/downloads.py) ---------------------
    def presign(self, string_to_sign: str) -> str:
        """A pre-signed download URL's signature: hex HMAC-SHA256, S3's ``X-Amz-Signature`` form."""
        return hmac.new(self._secret, f"download:{string_to_sign}".encode(), hashlib.sha256).hexdigest()


    # -- ECR Public registry Bearer tokens -------------------------------------------------
    def issue_bearer(self, claims: BearerClaims) -> str:
        self._login(claims)
        return self._encode(_BEARER, claims)

    def verify_bearer(self, token: str, now: datetime) -> BearerClaims:
        return self._decode(_BEARER, token, now, "bearer token")
