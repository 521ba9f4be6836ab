"""Who is calling: account and region taken from the request's SigV4 signature.

The emulator does not verify signatures. The region comes from the credential scope
(``Credential=AKID/20250101/<region>/<service>/aws4_request``); the account is the access
key id when it is 12 digits, so a test suite can act as several accounts by choosing
access keys ``111111111111``, ``222222222222``...
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True)
class Caller:
    account: str
    region: str
    access_key: str | None = None
    #: the IAM identity's ARN when known (signed requests with a credentials file)
    principal_arn: str | None = None


def caller_from_headers(headers, default_account: str, default_region: str) -> Caller:
    """The caller named by an ``Authorization: AWS4-HMAC-SHA256 ...`` header, or the defaults."""
    match = _CREDENTIAL.search(headers.get("Authorization", ""))
    if not match:
        return Caller(default_account, default_region)
    access_key, region = match.group(1), match.group(2)
    account = access_key if _ACCOUNT.match(access_key) else default_account
    return Caller(account, region, access_key)
