"""Verifying SigV4 signatures of control-plane requests, when a credentials file is given.

Off by default (any signature is accepted and the access key names the account). With
``--credentials-file``, every request must be signed by a known access key with its secret
(and its session token, when the entry has one), within five minutes of real time, with
AWS's errors otherwise. The canonical request is rebuilt from what the client signed
(``SignedHeaders``), as in AWS's Signature Version 4 documentation.
"""

from __future__ import annotations

import configparser
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

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
_SPACES = re.compile(r"\s+")
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
        signed_headers = match["headers"].split(";")
        canonical = "\n".join([
            request.method,
            quote(request.path, safe="/-_.~"),
            _canonical_query(request),
            "".join(f"{name}:{_header(request, name)}\n" for name in signed_headers),
            match["headers"],
            hashlib.sha256(body).hexdigest(),
        ])
        scope = f"{match['date']}/{match['region']}/{match['service']}/aws4_request"
        to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = _signing_key(credential.secret, match["date"], match["region"], match["service"])
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
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


def _header(request, name: str) -> str:
    values = request.headers.getlist(name) if name != "host" else [request.host]
    return ",".join(_SPACES.sub(" ", v.strip()) for v in values)


def _canonical_query(request) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~"))
                   for k, values in request.args.lists() for v in values)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    return _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
