"""Who is calling: account and region taken from the request's SigV4 ``Authorization`` header.

This module reads the header and does not check the signature itself: by default no signature
is checked at all. The region comes from the credential scope
(``Credential=AKID/20250101/<region>/<service>/aws4_request``); the account is the access
key id when it is 12 digits, so a test suite can act as several accounts by choosing
access keys ``111111111111``, ``222222222222``... With ``--credentials-file``, signatures are
verified (``signatures.py``), and the verified access key's entry names the account instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..addressing.partitions import root_arn
from .aws_error import InvalidSignatureException

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_PRINCIPAL = re.compile(
    r"^arn:aws(?:-[a-z]+)*:(?:iam::(?P<iam>[0-9]{12}):(?:role|user)/[\w+=,.@/-]+"
    r"|sts::(?P<sts>[0-9]{12}):assumed-role/[\w+=,.@-]+/[\w+=,.@-]+)$"
)
#: an AWS region name: ``us-east-1``, ``us-gov-west-1``, ``cn-north-1``, ``eu-isoe-west-1``...
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}$")


def is_region(value: str) -> bool:
    return bool(REGION.fullmatch(value))


@dataclass(frozen=True)
class Caller:
    account: str
    region: str
    access_key: str | None = None
    session_token: str | None = None
    #: the IAM identity's ARN when a credentials file names it (signed mode)
    arn: str | None = None

    @property
    def principal_arn(self) -> str:
        return self.arn or principal_arn(self.account, self.session_token, self.region)


def principal_arn(account: str, session_token: str | None, region: str | None = None) -> str:
    """The caller's IAM identity: the session token when it is an ARN of ``account`` (see above),
    else the account's root in the partition of ``region``."""
    match = _PRINCIPAL.match(session_token or "")
    if match and account in (match["iam"], match["sts"]):
        return session_token
    return root_arn(account, region)


def require_region(region: str, accepts) -> None:
    """AWS's answer to a request signed for a region it does not have: 403
    InvalidSignatureException "Credential should be scoped to a valid region, not '<region>'."
    (the wording AWS answers, quoted in public reports: aws/aws-sdk-ruby#508, JuliaCloud/AWS.jl#565,
    fsouza/s3-upload-proxy#241 -- a JSON-protocol service's InvalidSignatureException). ``accepts``:
    ``Settings.accepts_region``. A scope that is not even region-shaped is refused without echoing it."""
    if not is_region(region):
        raise InvalidSignatureException("Credential should be scoped to a valid region.")
    if not accepts(region):
        raise InvalidSignatureException(f"Credential should be scoped to a valid region, not '{region}'.")


def caller_from_headers(headers, default_account: str, default_region: str) -> Caller:
    """The caller named by an ``Authorization: AWS4-HMAC-SHA256 ...`` header, or the defaults
    (its region is checked by :func:`require_region`, for signed and unsigned requests alike)."""
    match = _CREDENTIAL.search(headers.get("Authorization", ""))
    if not match:
        return Caller(default_account, default_region)
    access_key, region = match.group(1), match.group(2)
    account = access_key if _ACCOUNT.match(access_key) else default_account
    return Caller(account, region, access_key, headers.get("X-Amz-Security-Token"))
