"""One Settings object for the whole process, from defaults, environment and CLI flags.

Every setting has an ``ECR_EMULATOR_<NAME>`` environment variable; a CLI flag wins over it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

URI_STYLES = ("local", "aws")
SERVERS = ("gunicorn", "werkzeug")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    #: the account a request acts as when its access key id is not 12 digits
    account: str = "123456789012"
    #: the region a request acts in when it carries no SigV4 credential scope
    region: str = "us-east-1"
    #: ``local``: repositoryUri is ``<host the client used>/<name>``, pushable as returned;
    #: ``aws``: ``<account>.dkr.ecr.<region>.amazonaws.com/<name>``
    uri_style: str = "local"
    #: require ``Basic AWS:<token>`` on the registry (data plane); off for quick local use
    registry_auth: bool = True
    #: ``gunicorn`` (keep-alive, threaded; the default) or ``werkzeug`` (threaded dev server)
    server: str = "gunicorn"
    threads: int = 16
    #: gunicorn: seconds a thread waits for the next request on the kept-alive connection it
    #: just answered before handing it back to the poller; 0 = plain gthread
    keepalive_linger: float = 0.05
    #: hours an authorization token stays valid
    token_hours: float = 12.0
    #: log one line per request
    access_log: bool = True

    def __post_init__(self) -> None:
        if self.uri_style not in URI_STYLES:
            raise ValueError(f"uri_style must be one of {URI_STYLES}, not {self.uri_style!r}")
        if self.server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}, not {self.server!r}")
        if self.keepalive_linger < 0:
            raise ValueError(f"keepalive_linger must not be negative, not {self.keepalive_linger!r}")
        if not (len(self.account) == 12 and self.account.isdigit()):
            raise ValueError(f"account must be 12 digits, not {self.account!r}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``ECR_EMULATOR_*`` variables, then ``overrides`` (not None)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"ECR_EMULATOR_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(f.default)
            values[f.name] = _bool(raw) if kind is bool else kind(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
