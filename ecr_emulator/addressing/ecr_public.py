"""ECR Public addressing: registry aliases and the public registry's host.

Public images are ``<public host>/<alias>/<repository>:<tag>``. ``<public host>`` is the
second listener of this process (``--public-port``), so ``/v2/<alias>/<repository>/...`` on it
never meets a private repository name, which lives on the main port -- or, on any listener, a
request whose Host is ``public.ecr.aws`` (AWS's host names resolved to the emulator: then one
listener on 443 serves both registries and both APIs, routed by host name as on AWS). Every
account has a default alias, ``public-<account>`` (AWS assigns a random one; a derived one
keeps URIs stable across restarts); ``--public-alias ACCOUNT=ALIAS`` gives it a primary alias of its
own choosing, as the console's "edit registry alias" does (no API operation sets one). The
control plane (repositoryUri, registryUri, the push-path ``registryId``), the registry and the
gallery all resolve aliases here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .partitions import parse_api_host

#: ECR Public's RegistryAliasName rule (2-50 characters)
ALIAS = re.compile(r"[a-z][a-z0-9]+(?:[._-][a-z0-9]+)*")
_DEFAULT = re.compile(r"public-([0-9]{12})")
_ACCOUNT = re.compile(r"[0-9]{12}")
#: the host AWS serves every public registry from (``--uri-style aws``)
AWS_HOST = "public.ecr.aws"


def is_alias(value: str) -> bool:
    return 2 <= len(value) <= 50 and ALIAS.fullmatch(value) is not None


def default_alias(account: str) -> str:
    return f"public-{account}"


def parse_aliases(entries) -> dict[str, str]:
    """``("ACCOUNT=ALIAS", ...)`` as ``{account: alias}``; ValueError naming a bad entry."""
    aliases: dict[str, str] = {}
    for entry in entries:
        account, sep, alias = entry.partition("=")
        account, alias = account.strip(), alias.strip()
        if not sep or not _ACCOUNT.fullmatch(account):
            raise ValueError(f"expected ACCOUNT=ALIAS with a 12-digit account, not {entry!r}")
        if not is_alias(alias):
            raise ValueError(f"the alias {alias!r} must be 2-50 characters matching {ALIAS.pattern}")
        if _DEFAULT.fullmatch(alias) and alias != default_alias(account):
            raise ValueError(f"the alias {alias!r} is the default alias of another account")
        if alias in aliases.values() and aliases.get(account) != alias:
            raise ValueError(f"the alias {alias!r} is given to two accounts")
        aliases[account] = alias
    return aliases


@dataclass(frozen=True)
class Alias:
    name: str
    primary: bool
    default: bool


def aliases_of(settings, account: str) -> list[Alias]:
    """The aliases of ``account``'s public registry, primary first (DescribeRegistries)."""
    chosen = parse_aliases(settings.public_alias).get(account)
    default = default_alias(account)
    if chosen is None or chosen == default:
        return [Alias(default, primary=True, default=True)]
    return [Alias(chosen, primary=True, default=False), Alias(default, primary=False, default=True)]


def primary_alias(settings, account: str) -> str:
    return aliases_of(settings, account)[0].name


def account_of(settings, alias: str) -> str | None:
    """The account whose public registry ``alias`` names, or None."""
    match = _DEFAULT.fullmatch(alias)
    if match:
        return match.group(1)
    for account, chosen in parse_aliases(settings.public_alias).items():
        if chosen == alias:
            return account
    return None


def is_verified(settings, account: str) -> bool:
    return account in settings.public_verified


def is_public_registry_host(host: str) -> bool:
    """Whether ``host`` (a Host header: name, optional port) is ``public.ecr.aws``: the name that
    routes a request to the public registry on any listener, as on AWS, where one host serves
    every public registry (``/etc/hosts`` pointing it here, ``--tls --port 443``)."""
    return _host_name(host).lower().rstrip(".") == AWS_HOST


def public_host(settings, request_host: str, public_ports, on_public_listener: bool) -> str:
    """``host:port`` of the public registry, as seen by a client that reached us at ``request_host``.

    ``--uri-style aws``: ``public.ecr.aws``. A client that reached us under an AWS host name
    (``public.ecr.aws`` itself, or ECR Public's API host) is answered ``public.ecr.aws``, with
    the port it used unless 443. Else the host name the client used with the public
    listener's port, so the URI works as returned from wherever the client runs.
    """
    if settings.uri_style == "aws":
        return AWS_HOST
    api = parse_api_host(request_host)
    if api is not None and api.service == "ecr-public":
        return AWS_HOST + api.port_suffix
    if on_public_listener:
        return request_host
    ports = sorted(public_ports, key=int)
    port = ports[0] if ports else str(settings.effective_public_port or "")
    if not port:
        return request_host
    return f"{_host_name(request_host)}:{port}"


def _host_name(host: str) -> str:
    """``host`` without its port (``[::1]:5000`` -> ``[::1]``)."""
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and not host.endswith("]"):
        return name
    return host
