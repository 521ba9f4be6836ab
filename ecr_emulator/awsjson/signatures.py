"""Verifying SigV4 signatures of control-plane requests, when a credentials file is given.

Off by default (any signature is accepted and the access key names the account). With
``--credentials-file``, every request must be signed by a known access key with its secret
(and its session token, when the entry has one), within five minutes of real time, with
AWS's errors otherwise. The expected signature is botocore's SigV4 computation (canonical
request, string to sign, signing key: ``botocore.auth.SigV4Auth``) over what the client signed
(``SignedHeaders``, ``X-Amz-Date``, the credential scope); this module only parses the
``Authorization`` header and answers AWS's errors.
"""

from __future__ import annotations

import configparser
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .aws_error import (
    IncompleteSignatureException,
    InvalidSignatureException,
    MissingAuthenticationTokenException,
    UnrecognizedClientException,
)
from .identity import Caller

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;._-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$")
#: AWS's UnrecognizedClientException text, as every SDK prints it for an unknown access key
BAD_TOKEN = "The security token included in the request is invalid."
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your "
            "AWS Secret Access Key and signing method. Consult the service documentation for details.")


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret: str
    account: str
    session_token: str | None = None
    principal_arn: str | None = None


def load_credentials(path: str) -> dict[str, Credential]:
    """The credentials file: INI, one section per identity (``ValueError`` naming what is wrong)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, configparser.Error, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the credentials file {path}: {error}") from None
    found: dict[str, Credential] = {}
    for name in parser.sections():
        section = parser[name]
        try:
            credential = Credential(section["aws_access_key_id"], section["aws_secret_access_key"],
                                    section["account"], section.get("aws_session_token"),
                                    section.get("principal_arn"))
        except KeyError as missing:
            raise ValueError(f"{path}: section [{name}] has no {missing.args[0]}") from None
        if not (len(credential.account) == 12 and credential.account.isdigit()):
            raise ValueError(f"{path}: section [{name}]: account must be 12 digits")
        found[credential.access_key] = credential
    if not found:
        raise ValueError(f"{path}: no credentials (one [section] per identity)")
    return found


class SignatureVerifier:
    def __init__(self, credentials: dict[str, Credential]) -> None:
        self.credentials = credentials

    def verify(self, request, body: bytes, now: datetime | None = None) -> Caller:
        """The verified caller of ``request`` (a werkzeug request), or an AWS error."""
        header = request.headers.get("Authorization", "")
        if not header:
            raise MissingAuthenticationTokenException("Missing Authentication Token")
        match = _AUTH.match(header.strip())
        if not match:
            raise IncompleteSignatureException(
                f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters "
                f"in the form {ALGORITHM} Credential=..., SignedHeaders=..., Signature=...")
        credential = self.credentials.get(match["key"])
        token = request.headers.get("X-Amz-Security-Token")
        if credential is None or token != credential.session_token:
            raise UnrecognizedClientException(BAD_TOKEN)
        amz_date = request.headers.get("X-Amz-Date", "")
        signed_at = _parse_date(amz_date)
        _check_skew(amz_date, signed_at, now or datetime.now(timezone.utc))
        if amz_date[:8] != match["date"]:
            raise InvalidSignatureException(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{match['date']}' != '{amz_date[:8]}', from '{amz_date}'.")
        signer = _ClientSigned(credential.secret, match["region"], match["service"],
                               [(name, _values(request, name)) for name in match["headers"].split(";")])
        expected = signer.expected(request, body, amz_date)
        if not hmac.compare_digest(expected, match["signature"]):
            raise InvalidSignatureException(MISMATCH)
        return Caller(credential.account, match["region"], credential.access_key, session_token=token,
                      arn=credential.principal_arn)


def _parse_date(amz_date: str) -> datetime:
    try:
        return datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise IncompleteSignatureException(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.") from None


def _check_skew(amz_date: str, signed_at: datetime, now: datetime) -> None:
    stamp = "%Y%m%dT%H%M%SZ"
    if signed_at < now - MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature expired: {amz_date} is now earlier than {(now - MAX_SKEW).strftime(stamp)} "
            f"({now.strftime(stamp)} - 5 min.)")
    if signed_at > now + MAX_SKEW:
        raise InvalidSignatureException(
            f"Signature not yet current: {amz_date} is still later than {(now + MAX_SKEW).strftime(stamp)} "
            f"({now.strftime(stamp)} + 5 min.)")


def _values(request, name: str) -> list[str]:
    """The values the client signed as ``name`` (``host`` as werkzeug reads it; an absent
    header signs as empty)."""
    if name == "host":
        return [request.host]
    return request.headers.getlist(name) or [""]


class _ClientSigned(SigV4Auth):
    """botocore's SigV4 signer, told what the client signed rather than choosing it.

    botocore, signing, picks the headers itself (every header but a blacklist, sorted,
    deduplicated), normalizes the path (dot segments, repeated slashes) and takes a request's
    ``X-Amz-Content-SHA256`` on trust. A verifier checks what the client named: the
    ``SignedHeaders`` list as written (order and repeats kept), the path as received (quoted
    once, not normalized: as this verifier always did), and the body's own hash (the request
    handed to botocore carries no headers). The rest (query string, payload hash, string to
    sign, signing key) is botocore's. ``_header_value`` and ``_normalize_url_path`` are
    botocore's own (private) hooks; tests/unit/test_signatures.py signs with botocore and
    would notice a change.
    """

    def __init__(self, secret: str, region: str, service: str, signed: list[tuple[str, list[str]]]) -> None:
        super().__init__(Credentials("", secret), service, region)
        self._signed = signed

    def expected(self, request, body: bytes, amz_date: str) -> str:
        """The signature of werkzeug's ``request`` with ``body``, as signed at ``amz_date``."""
        query = [(key, value) for key, values in request.args.lists() for value in values]
        # the path quoted here, so a decoded '?' or '#' stays in the path; http, so that
        # botocore hashes the body (over https it may be told to sign UNSIGNED-PAYLOAD)
        url = "http://emulator" + quote(request.path, safe="/-_.~")
        signed = AWSRequest(method=request.method, url=url, data=body, params=query)
        signed.context["timestamp"] = amz_date
        canonical = self.canonical_request(signed)
        return self.signature(self.string_to_sign(signed, canonical), signed)

    def headers_to_sign(self, request):
        return self._signed

    def canonical_headers(self, headers_to_sign) -> str:
        return "\n".join(f"{name}:{','.join(self._header_value(v) for v in values)}"
                         for name, values in headers_to_sign)

    def signed_headers(self, headers_to_sign) -> str:
        return ";".join(name for name, _ in headers_to_sign)

    def _normalize_url_path(self, path: str) -> str:
        return path  # already quoted by expected(), and not normalized
