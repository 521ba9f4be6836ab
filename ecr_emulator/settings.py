"""One Settings object for the whole process, from defaults, environment and CLI flags.

Every setting is a field below with its help text in ``metadata``; the CLI (``runtime/cli.py``) builds
its flags from these fields, and each has an ``ECR_EMULATOR_<NAME>`` environment variable. A
CLI flag wins over the variable. Adding a setting = adding a field here (plus its README row;
``tests/unit/test_settings.py`` checks every field is in the README's table).

Field kinds: ``str``, ``int``, ``float``, ``bool`` (env ``1/0/true/false/yes/no/on/off``) and
``tuple[str, ...]`` (a repeatable flag; the variable separates items with commas).
"""

from __future__ import annotations

import os
import re
from dataclasses import MISSING, dataclass, field, fields

from .addressing.ecr_public import parse_aliases
from .addressing.partitions import known_regions
from .awsjson.identity import is_region

URI_STYLES = ("local", "aws")
#: a DNS name or an IP address (``--allowed-host``)
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.:-]{0,251}[a-z0-9_])?")
SERVERS = ("builtin", "werkzeug")


class SettingError(ValueError):
    """A setting with a bad value; the message names the flag and the variable."""


def setting(default, help: str, *, flag: str | None = None, choices: tuple[str, ...] | None = None,
            cli: bool = True, metavar: str | None = None, at_least: float | None = None,
            above: float | None = None):
    """A Settings field. ``flag``: the CLI flag when it is not ``--<name>`` (e.g. ``--no-registry-auth``
    for a boolean that defaults to on); ``cli=False``: environment only; ``metavar``: the value's
    name in ``--help``; ``at_least`` / ``above``: the bounds of a number, checked for every field
    alike."""
    metadata = {"help": help, "flag": flag, "choices": choices, "cli": cli, "metavar": metavar,
                "at_least": at_least, "above": above}
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple for list-valued settings")
    return field(default=default, metadata=metadata)


def flag_of(name: str) -> str:
    meta = {f.name: f.metadata for f in fields(Settings)}[name]
    return meta.get("flag") or "--" + name.replace("_", "-")


def env_of(name: str) -> str:
    return f"ECR_EMULATOR_{name.upper()}"


def describe(name: str) -> str:
    """``--port / ECR_EMULATOR_PORT``: how a user sets ``name``."""
    meta = {f.name: f.metadata for f in fields(Settings)}[name]
    if not meta.get("cli", True):
        return env_of(name)
    return f"{flag_of(name)} / {env_of(name)}"


def user_cache_dir() -> str:
    """The emulator's directory in the user's cache (``$XDG_CACHE_HOME``, else ``~/.cache``): where
    ``--tls`` keeps its CA and the tokens' key is kept, unless settings say elsewhere."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ecr-emulator")


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def parse_value(kind: type, raw: str):
    """An environment string as a value of ``kind`` (ValueError if it is not one)."""
    if kind is bool:
        return _bool(raw)
    if kind is tuple:
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if kind is int:
        return int(raw.strip())
    if kind is float:
        return float(raw.strip())
    return raw


def kind_of(f) -> type:
    return tuple if isinstance(f.default, tuple) else type(f.default)


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "address to bind", metavar="ADDRESS")
    port: int = setting(5000, "port of the API and the private registry; 0 picks a free one", metavar="PORT")
    public_port: int = setting(
        -1, "port of the ECR Public registry; default --port + 1, or a free one when --port is 0",
        metavar="PORT")
    #: the account a request acts as when its access key id is not 12 digits
    account: str = setting("123456789012", "account of requests whose access key id is not 12 digits",
                           metavar="ACCOUNT")
    #: the region a request acts in when it carries no SigV4 credential scope
    region: str = setting("us-east-1", "region of requests that carry no SigV4 credential scope",
                          metavar="REGION")
    #: regions accepted besides botocore's and --region (a request signed for any other is refused)
    extra_regions: tuple = setting(
        (), "a region to accept besides those AWS has (botocore's partition data) and --region; "
            "requests signed for any other region are refused", flag="--extra-region", metavar="REGION")
    open_accounts: bool = setting(
        False, "any caller may act in any account's registry without a policy, as moto lets it "
               "(both the API and registry tokens); off: AccessDenied unless a policy allows, as ECR")
    uri_style: str = setting("local", "repositoryUri form: local (usable as returned) or aws (AWS's host names)",
                             choices=URI_STYLES)
    registry_auth: bool = setting(True, "accept registry requests without credentials",
                                  flag="--no-registry-auth")
    server: str = setting("builtin", "HTTP server: builtin (event loop; slow clients hold no thread) or "
                                     "werkzeug (threaded development server)", choices=SERVERS)
    threads: int = setting(16, "request threads (they run requests whose head and body are in)",
                           metavar="N", at_least=1)
    token_hours: float = setting(12.0, "lifetime of authorization tokens, in hours", cli=False)
    access_log: bool = setting(True, "do not log one line per request", flag="--no-access-log")
    organization: tuple = setting(
        (), "ACCOUNT=ORG_ID: the account belongs to that AWS Organization (aws:PrincipalOrgID in policies)")
    credentials_file: str = setting(
        "", "verify SigV4 signatures of API requests against this credentials file (INI: a section per "
            "access key with aws_access_key_id, aws_secret_access_key, account, optional aws_session_token "
            "and principal_arn); off when empty")
    # -- identity policies (IAM evaluation of every signed call; issue 19) -------------------
    identity_policies: str = setting(
        "", "JSON file of IAM identity policies by principal ARN (role or user; an assumed-role session "
            "has its role's): every signed call is then evaluated as IAM does (needs --credentials-file); "
            "off when empty", metavar="FILE")

    allowed_hosts: tuple = setting(
        (), "a host name the /_emulator endpoints answer for besides localhost, loopback addresses, --host "
            "and ECR's own host names (e.g. the service name CI reaches the emulator by); repeatable, "
            "NAME or *.DOMAIN", flag="--allowed-host", metavar="NAME")
    admin_token: str = setting("", "require this token (Authorization: Bearer) on the /_emulator endpoints "
                                   "that change state; off when empty")
    vuln_db: str = setting(
        "", "directory of OSV-format vulnerability records the scanner matches images against "
            "(default: the small demo feed shipped with the package)")

    scan_max_layer_bytes: int = setting(
        8 << 30, "image scanning: bytes one layer may expand to (decompressed tar); past it the scan ends "
                 "IMAGE_SIZE_EXCEEDED", cli=False, above=0)
    scan_max_image_bytes: int = setting(
        32 << 30, "image scanning: bytes all layers of an image may expand to", cli=False, above=0)
    scan_max_files: int = setting(
        100_000, "image scanning: files the scanner reads per image (package databases, manifests)",
        cli=False, above=0)
    scan_max_read_bytes: int = setting(
        96 << 20, "image scanning: bytes of the files the scanner reads and holds per image (its memory)",
        cli=False, above=0)

    lifecycle_interval: float = setting(
        3600.0, "seconds of real time between automatic lifecycle policy runs (0: only on "
                "POST /_emulator/lifecycle/run)", at_least=0)
    archive_restore_minutes: float = setting(
        20.0, "minutes of the emulator's clock a restore from the archive takes (ECR: up to 20)", at_least=0)

    upstream_url: tuple[str, ...] = setting(
        (), "pull-through cache: REGISTRY=URL reaches upstream registry host REGISTRY (e.g. public.ecr.aws) "
            "at URL (e.g. http://127.0.0.1:5001); repeatable")
    upstream_credentials: str = setting(
        "", "pull-through cache: JSON or INI file of upstream credentials keyed by credentialArn "
            "(username, accessToken)")
    upstream_timeout: float = setting(10.0, "pull-through cache: seconds to wait for an upstream to connect "
                                            "or answer", cli=False, above=0)

    public_alias: tuple = setting(
        (), "ACCOUNT=ALIAS: the primary ECR Public registry alias of ACCOUNT (its default alias "
            "public-<account> keeps working)", flag="--public-alias")
    public_verified: tuple = setting(
        (), "ACCOUNT: an account whose ECR Public registry is verified (shown as verified, with its "
            "repository logos and display name in the gallery)", flag="--public-verified")

    lenient_manifests: bool = setting(
        False, "accept PutImage manifests whose layers were never uploaded (sizes from the manifest) and "
               "indexes whose child manifests were never pushed, as moto does; off: LayersNotFoundException "
               "/ ReferencedImagesNotFoundException, as ECR")

    state_dir: str = setting("", "directory that keeps the whole state across restarts; without it, state lives in memory only",
                             metavar="DIR")
    save_interval: float = setting(
        2.0, "with --state-dir: seconds between saves of changed metadata, the most a kill -9 loses; "
             "0 saves only on shutdown", metavar="SECONDS", at_least=0)
    blob_dir: str = setting(
        "", "without --state-dir: directory in which a private directory of blob files is made (removed "
            "at exit); default TMPDIR (on tmpfs, blobs live in RAM)", metavar="DIR")
    blob_cache_bytes: int = setting(
        256 << 20, "memory budget in bytes for a cache of small hot blobs (each up to 1/16 of it); "
                   "0 serves every blob from its file", metavar="BYTES", at_least=0)
    blob_redirects: bool = setting(
        True, "serve blob GETs directly instead of ECR's 307 redirect to a pre-signed URL on the "
              "download port", flag="--no-blob-redirects")
    download_port: int = setting(
        -1, "port of the pre-signed blob downloads (ECR's S3 URLs); default --port + 2, or a free one "
            "when --port is 0", metavar="PORT")
    tls: bool = setting(False, "serve HTTPS on both listeners, with a generated CA and certificate")
    tls_dir: str = setting("", "with --tls: directory of the CA and certificate; default tls/ in the "
                               "--state-dir, else ~/.cache/ecr-emulator/tls", metavar="DIR")
    token_key_file: str = setting(
        "", "file that keeps the key signing authorization tokens, so they stay valid across restarts "
            "(made on first use, mode 0600); default ~/.cache/ecr-emulator/token-key; with --state-dir "
            "the state keeps the key instead", metavar="FILE")

    snapshot_metadata_limit: int = setting(
        256 << 20, "largest state.json a snapshot import (PUT /_emulator/state) reads, in bytes (larger: 413)",
        cli=False, above=0)
    snapshot_size_limit: int = setting(
        64 << 30, "largest total of the members of an imported snapshot archive, in bytes (larger: 413)",
        cli=False, above=0)

    # -- reliability: memory that comes back, no stalls, bounded bodies --------------------
    blob_grace_seconds: float = setting(
        3600.0, "seconds (emulator clock) a blob uploaded or mounted to a repository and not named by an image "
                "stays linked to it before it is freed (a push in progress, a layer-API upload awaiting PutImage)",
        cli=False, at_least=0)
    deleted_blob_grace_seconds: float = setting(
        3.0, "seconds (emulator clock) a blob a deleted image left unreferenced stays linked before it is "
             "freed, longer while a push of that repository that was in flight at the delete goes on",
        cli=False, at_least=0)
    upload_expiry_seconds: float = setting(
        7 * 24 * 3600.0, "seconds (emulator clock) after its start an unfinished upload session expires "
                         "and its bytes are freed (Distribution's 7 days)", cli=False, at_least=0)
    gc_interval: float = setting(10.0, "seconds (real time) between runs of the blob and upload collector "
                                       "(0: only after deletes and on POST /_emulator/gc)", cli=False, at_least=0)
    header_timeout: float = setting(
        30.0, "seconds a connection may wait for the next bytes of a request's headers before it is closed",
        cli=False, above=0)
    body_timeout: float = setting(
        60.0, "seconds a request may wait for the next bytes of its body, or a response for the client "
              "to read, before the connection is closed", cli=False, above=0)
    body_min_rate: float = setting(
        1024.0, "bytes per second a request body must average once it has had body_timeout seconds "
                "(slower: 408 and closed)", cli=False, above=0)
    body_max_seconds: float = setting(
        3600.0, "seconds a request body may take in all", cli=False, above=0)
    idle_timeout: float = setting(75.0, "seconds an idle (kept-alive or silent) connection stays open", cli=False, above=0)
    max_connections: int = setting(1000, "open connections the server holds at most (idle ones included; "
                                         "at the bound the oldest idle one is closed)", cli=False, above=0)
    max_connections_per_client: int = setting(
        256, "open connections one client address holds at most (at the bound its oldest idle one is "
             "closed)", cli=False, above=0)
    control_body_limit: int = setting(
        32 << 20, "largest control-plane request body in bytes (larger: 413 ValidationException, unread)",
        cli=False, above=0)

    # -- what tests observe: events, the call log (features/eventbridge.py, calls.py, delivery.py) --
    eventbridge_endpoint: str = setting(
        "", "send ECR's EventBridge events with PutEvents to this EventBridge-compatible endpoint (e.g. "
            "moto_server or LocalStack: http://127.0.0.1:4566), on the default bus of each event's account "
            "and region; off when empty", metavar="URL")
    eventbridge_credentials: str = setting(
        "", "ACCESS_KEY_ID:SECRET_ACCESS_KEY that signs the PutEvents calls; default: the event's account "
            "as access key id (LocalStack maps it to that account) and secret 'test'", cli=False)
    event_log_size: int = setting(10000, "events GET /_emulator/events keeps (the oldest go first)",
                                  cli=False, at_least=1)
    call_log_size: int = setting(10000, "calls and registry requests GET /_emulator/calls keeps (the oldest "
                                        "go first)", cli=False, at_least=1)

    def __post_init__(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise SettingError(f"{describe(f.name)} must be one of {', '.join(choices)}, not {value!r}")
            at_least, above = f.metadata.get("at_least"), f.metadata.get("above")
            if at_least is not None and value < at_least:
                raise SettingError(f"{describe(f.name)} must be at least {at_least}, not {value!r}")
            if above is not None and value <= above:
                raise SettingError(f"{describe(f.name)} must be more than {above}, not {value!r}")
        for name in ("port", "public_port", "download_port"):
            value = getattr(self, name)
            low = 0 if name == "port" else -1
            if not low <= value <= 65535:
                raise SettingError(f"{describe(name)} must be a port number from 0 to 65535, not {value}")
        for item in self.organization:
            member, _, org = item.partition("=")
            if not (len(member) == 12 and member.isdigit() and org.startswith("o-")):
                raise SettingError(f"{describe('organization')} takes ACCOUNT=ORG_ID (12 digits = o-...), "
                                   f"not {item!r}")
        if self.credentials_file:
            from .awsjson.signatures import load_credentials

            try:
                load_credentials(self.credentials_file)
            except ValueError as error:
                raise SettingError(f"{describe('credentials_file')}: {error}") from None
        self._check_identity_policies()
        if self.vuln_db and not os.path.isdir(self.vuln_db):
            raise SettingError(f"{describe('vuln_db')} must be a directory of OSV records, not {self.vuln_db!r}")
        for item in self.upstream_url:
            registry, sep, url = item.partition("=")
            if not sep or not registry.strip() or not url.strip().startswith(("http://", "https://")):
                raise SettingError(f"{describe('upstream_url')}: {item!r} is not REGISTRY=URL with an "
                                   "http:// or https:// URL")
        if self.eventbridge_endpoint and not self.eventbridge_endpoint.startswith(("http://", "https://")):
            raise SettingError(f"{describe('eventbridge_endpoint')} must be an http:// or https:// URL, "
                               f"not {self.eventbridge_endpoint!r}")
        if self.eventbridge_credentials and ":" not in self.eventbridge_credentials:
            raise SettingError(f"{describe('eventbridge_credentials')} takes ACCESS_KEY_ID:SECRET_ACCESS_KEY")
        if not is_region(self.region):
            raise SettingError(f"{describe('region')} must be a region name such as us-east-1, not {self.region!r}")
        for name in self.extra_regions:
            if not is_region(name):
                raise SettingError(f"{describe('extra_regions')} takes region names such as xx-test-1, not {name!r}")
        if not (len(self.account) == 12 and self.account.isdigit()):
            raise SettingError(f"{describe('account')} must be 12 digits, not {self.account!r}")
        try:
            parse_aliases(self.public_alias)
        except ValueError as error:
            raise SettingError(f"{describe('public_alias')}: {error}") from None
        if self.token_key_file and self.state_dir:
            raise SettingError(f"{describe('token_key_file')} and {describe('state_dir')} both keep the tokens' "
                               "key: set one (the state directory keeps it with the state)")
        for name in self.allowed_host_names():
            if not _HOST_NAME.fullmatch(name.removeprefix("*.")):
                raise SettingError(f"{describe('allowed_hosts')} takes host names (NAME or *.DOMAIN), not {name!r}")
        for account in self.public_verified:
            if not (len(account) == 12 and account.isdigit()):
                raise SettingError(f"{describe('public_verified')} takes 12-digit account ids, not {account!r}")

    def accepts_region(self, region: str) -> bool:
        """Whether requests may act in ``region``: one botocore's partition data names,
        ``--region``, or an ``--extra-region``."""
        return region in known_regions() or region == self.region or region in self.extra_regions

    def served_regions(self) -> list[str]:
        """Every region the server answers for (sorted; the TLS certificate names them all)."""
        return sorted(known_regions() | {self.region} | set(self.extra_regions))

    def _check_identity_policies(self) -> None:
        """``--identity-policies`` needs signed callers, and a file that reads as IAM policies."""
        if not self.identity_policies:
            return
        if not self.credentials_file:
            raise SettingError(f"{describe('identity_policies')} needs {describe('credentials_file')}: only "
                               "signed callers have a principal whose policies can be evaluated")
        from .identity.identity_policies import IdentityPolicies

        try:
            IdentityPolicies.load(self.identity_policies)
        except ValueError as error:
            raise SettingError(f"{describe('identity_policies')}: {error}") from None

    def organization_of(self, account: str) -> str | None:
        """The ``aws:PrincipalOrgID`` of ``account`` (``--organization ACCOUNT=ORG_ID``)."""
        for item in self.organization:
            member, _, org = item.partition("=")
            if member == account:
                return org
        return None

    def allowed_host_names(self) -> tuple[str, ...]:
        """``--allowed-host`` as lower-case names (a flag value may also be a comma list)."""
        return tuple(name.strip().lower().rstrip(".") for item in self.allowed_hosts
                     for name in item.split(",") if name.strip())

    @property
    def effective_public_port(self) -> int:
        """The public registry's port: as set, or ``port + 1`` (0 when ``port`` is 0)."""
        if self.public_port >= 0:
            return self.public_port
        return self.port + 1 if self.port else 0

    @property
    def effective_download_port(self) -> int:
        """The pre-signed downloads' port: as set, or ``port + 2`` (0 when ``port`` is 0)."""
        if self.download_port >= 0:
            return self.download_port
        return self.port + 2 if self.port else 0

    def upstream_urls(self) -> dict[str, str]:
        """``--upstream-url`` as {registry host: base URL without a trailing slash}."""
        pairs = (item.partition("=") for item in self.upstream_url)
        return {registry.strip().lower(): url.strip().rstrip("/") for registry, _, url in pairs}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then ``ECR_EMULATOR_*`` variables, then ``overrides`` (not None).

        Raises :class:`SettingError` naming the variable when one cannot be read.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(env_of(f.name))
            if raw is None:
                continue
            try:
                values[f.name] = parse_value(kind_of(f), raw)
            except ValueError as error:
                detail = f" ({error})" if kind_of(f) is bool else f" (expected {kind_of(f).__name__})"
                raise SettingError(f"{env_of(f.name)}={raw!r} is not a valid value{detail}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


assert all(f.default is not MISSING for f in fields(Settings)), "every setting has a default"
