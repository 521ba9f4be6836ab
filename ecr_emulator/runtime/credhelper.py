"""``docker-credential-ecr-emulator``: a docker credential helper that gets registry passwords
from the emulator, as ``docker-credential-ecr-login`` gets them from ECR.

Put it in a client's configuration for the emulator's registry host, and the client logs in by
itself (docker ``~/.docker/config.json``; podman, skopeo and buildah ``auth.json`` /
``REGISTRY_AUTH_FILE``; crane reads docker's file)::

    {"credHelpers": {"127.0.0.1:5000": "ecr-emulator"}}

The protocol (https://github.com/docker/docker-credential-helpers): the command is the one
argument, the input comes on stdin.

- ``get``: stdin is the registry (``127.0.0.1:5000``, ``https://<acct>.dkr.ecr.<region>.amazonaws.com``);
  it calls ``GetAuthorizationToken`` on the emulator and prints
  ``{"ServerURL", "Username": "AWS", "Secret": <password>}``.
- ``list``: ``{"<registry>": "AWS"}`` for the emulator named by ``ECR_EMULATOR_URL`` (else ``{}``).
- ``store`` / ``erase``: accepted and ignored (after checking the input), since passwords are
  made on demand and never stored -- so ``docker login`` / ``logout`` with the helper configured
  do not fail.

Which emulator: ``ECR_EMULATOR_URL`` (e.g. ``http://127.0.0.1:5000``), else ``AWS_ENDPOINT_URL_ECR``
/ ``AWS_ENDPOINT_URL``, else the registry itself (the emulator serves its API on the registry's
port), over https when the registry says so or is on port 443. Account and region: from an ECR
host name (``<acct>.dkr.ecr.<region>.amazonaws.com``); else the region of ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` (default ``us-east-1``). Credentials: the usual AWS chain, else the
account as the access key id (how the emulator tells accounts apart). A private CA
(``--tls``): ``AWS_CA_BUNDLE``.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from urllib.parse import urlsplit

from ..addressing.partitions import parse_ecr_host

USAGE = "usage: docker-credential-ecr-emulator get|list|store|erase (input on stdin)"


class HelperError(Exception):
    pass


def _registry(server_url: str) -> tuple[str, str, str]:
    """(scheme given or None, host[:port] of the registry, host name) of a ServerURL."""
    text = server_url.strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    if not parts.netloc:
        raise HelperError(f"not a registry address: {server_url!r}")
    return parts.scheme, parts.netloc, parts.hostname or ""


def _endpoint(scheme: str, netloc: str, hostname: str) -> str:
    configured = (os.environ.get("ECR_EMULATOR_URL") or os.environ.get("AWS_ENDPOINT_URL_ECR")
                  or os.environ.get("AWS_ENDPOINT_URL"))
    if configured:
        return configured.rstrip("/")
    if not scheme:
        port = urlsplit("//" + netloc).port
        scheme = "https" if port == 443 or (port is None and parse_ecr_host(hostname) is not None) else "http"
    return f"{scheme}://{netloc}"


def password_for(server_url: str) -> str:
    """The password the emulator issues for the registry at ``server_url``."""
    import boto3
    import botocore.exceptions

    scheme, netloc, hostname = _registry(server_url)
    ecr = parse_ecr_host(hostname)
    account = ecr[0] if ecr else os.environ.get("ECR_EMULATOR_ACCOUNT")
    region = (ecr[1] if ecr else None) or os.environ.get("AWS_REGION") \
        or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.Session(region_name=region)
    credentials = {}
    if session.get_credentials() is None:
        credentials = {"aws_access_key_id": account or "123456789012", "aws_secret_access_key": "x"}
    endpoint = _endpoint(scheme, netloc, hostname)
    client = session.client("ecr", endpoint_url=endpoint, **credentials)
    try:
        answer = client.get_authorization_token(**({"registryIds": [account]} if ecr else {}))
    except botocore.exceptions.ClientError as error:
        raise HelperError(f"{endpoint}: {error}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise HelperError(f"cannot get a password from the emulator at {endpoint}: {error}") from None
    token = answer["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().split(":", 1)[1]


def run(command: str, stdin: str) -> dict | None:
    if command == "get":
        return {"ServerURL": stdin.strip(), "Username": "AWS", "Secret": password_for(stdin)}
    if command == "list":
        configured = os.environ.get("ECR_EMULATOR_URL")
        return {urlsplit(configured).netloc: "AWS"} if configured else {}
    if command == "store":
        try:
            data = json.loads(stdin)
        except ValueError:
            raise HelperError("store expects {\"ServerURL\", \"Username\", \"Secret\"} on stdin") from None
        if not isinstance(data, dict) or "ServerURL" not in data:
            raise HelperError("store expects {\"ServerURL\", \"Username\", \"Secret\"} on stdin")
        return None
    if command == "erase":
        _registry(stdin)
        return None
    raise HelperError(USAGE)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return 1
    if args[0] in ("version", "--version", "-v"):
        from .. import __version__

        print(f"docker-credential-ecr-emulator {__version__}")
        return 0
    try:
        result = run(args[0], sys.stdin.read() if args[0] != "list" else "")
    except HelperError as error:
        print(error)  # the protocol: the error message on stdout, exit status 1
        return 1
    if result is not None:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
