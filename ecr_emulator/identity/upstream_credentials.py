"""Upstream registry credentials: the emulator's stand-in for the Secrets Manager secrets that
pull-through cache rules name (``credentialArn``).

``--upstream-credentials FILE`` is JSON or INI, keyed by the secret's ARN, each entry holding
``username`` and ``accessToken`` (the keys of ECR's ``ecr-pullthroughcache/...`` secrets)::

    {"arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub":
        {"username": "me", "accessToken": "dckr_pat_..."}}

    [arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub]
    username = me
    accessToken = dckr_pat_...

The file is read at each use, so it may be written after the server starts. A Secrets Manager
ARN ends in ``-`` and six random characters; an entry keyed by the ARN without them matches too.
"""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import dataclass

from ..errors import SecretNotFoundException, UnableToDecryptSecretValueException

_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


@dataclass(frozen=True)
class Credentials:
    username: str
    access_token: str


def _read(path: str) -> dict[str, dict]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the JSON file must be an object keyed by secret ARN")
        return data
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep accessToken's case
    parser.read_string(text)
    return {section: dict(parser[section]) for section in parser.sections()}


def lookup(path: str, arn: str) -> Credentials:
    """The credentials of secret ``arn`` in the file at ``path``.

    ``SecretNotFoundException`` when no file is configured or it has no such secret;
    ``UnableToDecryptSecretValueException`` when the file or the entry cannot be read.
    """
    if not path:
        raise SecretNotFoundException(
            f"The secret with ARN '{arn}' was not found: no upstream credentials file is configured "
            "(--upstream-credentials / ECR_EMULATOR_UPSTREAM_CREDENTIALS).")
    try:
        entries = _read(path)
    except (OSError, ValueError, configparser.Error) as error:
        raise UnableToDecryptSecretValueException(
            f"The upstream credentials file '{path}' cannot be read: {error}") from None
    entry = entries.get(arn)
    if entry is None:
        entry = entries.get(_SUFFIX.sub("", arn))
    if entry is None:
        raise SecretNotFoundException.named(arn)
    username, token = (entry.get("username"), entry.get("accessToken")) if isinstance(entry, dict) else (None, None)
    if not isinstance(username, str) or not isinstance(token, str) or not username or not token:
        raise UnableToDecryptSecretValueException(
            f"The secret with ARN '{arn}' must hold a 'username' and an 'accessToken'.")
    return Credentials(username, token)
