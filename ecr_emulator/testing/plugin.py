"""The pytest plugin (entry point ``pytest11``, so installing ecr-emulator is enough).

Fixtures (prefixed ``ecr_emulator_``, and the three ``ecr_*`` the issue names; see ``pytest --fixtures``):

- ``ecr_emulator_server`` / ``ecr_emulator_url`` / ``ecr_emulator_registry``: one real
  ``ecr-emulator serve`` per test session (per pytest-xdist worker) on a free loopback port;
- ``ecr_emulator_ecr`` / ``ecr_emulator_ecr_public`` / ``ecr_emulator_client``: boto3 clients
  bound to it;
- ``ecr_emulator_login``: registry host and ``AWS`` / password, as ``docker login`` takes them;
- ``ecr_emulator_clock``: the emulator's clock (``advance(days=31)``);
- ``ecr_emulator_push_image``: push a synthetic image through the registry API in one line;
- ``ecr_events`` / ``ecr_calls`` / ``ecr_faults``: the EventBridge events the emulator raised
  (with a wait-for helper), its CloudTrail-style call log, and fault rules (``testing/observe.py``).

Every test that uses the server starts from an empty emulator (reset before the test), unless
it is marked ``@pytest.mark.ecr_emulator_keep_state``. Options (command line or ini): account,
region, URI style, registry auth, extra ``serve`` flags.

This module imports only pytest and the standard library: the server, boto3 and the emulator
are imported when a fixture is first used, so a project that merely has the plugin installed
pays nothing for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

KEEP_STATE = "ecr_emulator_keep_state"
#: option name -> (help, default); each is ``--ecr-emulator-<name>`` and ini ``ecr_emulator_<name>``
OPTIONS = {
    "account": ("account of the fixtures' clients (their access key id) and the server's default",
                "123456789012"),
    "region": ("region of the fixtures' clients and the server's default", "us-east-1"),
    "uri_style": ("repositoryUri form: local (the server's host:port, usable as returned) or aws "
                  "(<account>.dkr.ecr.<region>.amazonaws.com)", "local"),
    "registry_auth": ("on: the registry requires GetAuthorizationToken's password (as ECR); off: open",
                      "on"),
    "serve_args": ("more `ecr-emulator serve` flags, e.g. --lenient-manifests", ""),
    "credentials_file": ("the server's --credentials-file (signed mode); the fixtures' clients sign with its first "
                         "section, ecr_emulator_client(credential=<section>) with another", ""),
    "identity_policies": ("the server's --identity-policies file (IAM identity policies by principal ARN; needs "
                          "the credentials file)", ""),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ecr-emulator", "ecr-emulator fixtures (ecr_emulator_*)")
    for name, (text, default) in OPTIONS.items():
        group.addoption("--ecr-emulator-" + name.replace("_", "-"), dest="ecr_emulator_" + name, default=None,
                        help=f"{text} (ini ecr_emulator_{name}; default {default!r})")
        parser.addini("ecr_emulator_" + name, f"ecr-emulator: {text}", default=default)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{KEEP_STATE}: do not reset the ecr-emulator before this test (keep what earlier tests left)")
    EmulatorOptions.of(config)  # a bad option is a usage error now, not at the first fixture


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption("ecr_emulator_" + name)
    return str(value if value is not None else config.getini("ecr_emulator_" + name)).strip()


@dataclass(frozen=True)
class EmulatorOptions:
    account: str
    region: str
    uri_style: str
    registry_auth: bool
    serve_args: tuple[str, ...]
    credentials_file: str = ""
    identity_policies: str = ""

    @classmethod
    def of(cls, config: pytest.Config) -> "EmulatorOptions":
        import shlex

        def refuse(name: str, expected: str, value: str):
            raise pytest.UsageError(f"--ecr-emulator-{name.replace('_', '-')} / ecr_emulator_{name}: "
                                    f"{expected}, not {value!r}")

        account, uri_style, auth = (_option(config, n) for n in ("account", "uri_style", "registry_auth"))
        if not (len(account) == 12 and account.isdigit()):
            refuse("account", "12 digits", account)
        if uri_style not in ("local", "aws"):
            refuse("uri_style", "local or aws", uri_style)
        if auth.lower() not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
            refuse("registry_auth", "on or off", auth)
        files = {}
        for name in ("credentials_file", "identity_policies"):
            value = _option(config, name)
            if value:
                value = os.path.join(str(config.rootpath), os.path.expanduser(value))  # an absolute one stays
                if not os.path.isfile(value):
                    refuse(name, "an existing file", value)
            files[name] = value
        if files["identity_policies"] and not files["credentials_file"]:
            refuse("identity_policies", "used with --ecr-emulator-credentials-file (only signed callers have a "
                                        "principal)", files["identity_policies"])
        return cls(account, _option(config, "region"), uri_style, auth.lower() in ("on", "1", "true", "yes"),
                   tuple(shlex.split(_option(config, "serve_args"))), **files)

    def flags(self) -> list[str]:
        flags = ["--no-access-log", "--account", self.account, "--region", self.region,
                 "--uri-style", self.uri_style, *self.serve_args]
        if self.credentials_file:
            flags += ["--credentials-file", self.credentials_file]
        if self.identity_policies:
            flags += ["--identity-policies", self.identity_policies]
        return flags if self.registry_auth else [*flags, "--no-registry-auth"]

    def credential(self, section: str | None) -> dict[str, str]:
        """boto3's key arguments for ``section`` of the credentials file (its first one when None);
        without a credentials file, {} (the account is then the access key id)."""
        if not self.credentials_file:
            if section is not None:
                raise ValueError("credential= needs --ecr-emulator-credentials-file")
            return {}
        import configparser

        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.credentials_file, encoding="utf-8")
        name = section if section is not None else parser.sections()[0]
        if not parser.has_section(name):
            raise ValueError(f"no section [{name}] in {self.credentials_file}")
        entry = parser[name]
        keys = {"aws_access_key_id": entry["aws_access_key_id"], "aws_secret_access_key": entry["aws_secret_access_key"]}
        if entry.get("aws_session_token"):
            keys["aws_session_token"] = entry["aws_session_token"]
        return keys


def _post(url: str, body: dict | None = None) -> dict:
    import urllib.request

    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


class EmulatorClock:
    """The emulator's one clock (push times, tag times, token expiry): move it, never sleep."""

    def __init__(self, url: str) -> None:
        self.url = url

    def now(self) -> datetime:
        import urllib.request

        with urllib.request.urlopen(self.url + "/_emulator/clock", timeout=30) as response:
            return datetime.fromisoformat(json.loads(response.read())["now"])

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
        """Move the clock forward by the sum of the arguments; returns the new time."""
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days).total_seconds()
        return datetime.fromisoformat(_post(self.url + "/_emulator/clock/advance", {"seconds": delta})["now"])


@dataclass(frozen=True)
class Login:
    """What ``docker login`` / ``podman login`` / skopeo's ``--creds`` take."""

    #: ``host:port`` to log in to and to name images with (``<registry>/<repository>:<tag>``)
    registry: str
    username: str
    password: str
    #: ``http://host:port``, as ``proxyEndpoint``
    endpoint: str

    @property
    def creds(self) -> str:
        """``AWS:<password>``: skopeo's ``--creds`` / ``--src-creds``."""
        return f"{self.username}:{self.password}"


# -- the server ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def ecr_emulator_options(pytestconfig) -> EmulatorOptions:
    """The plugin's options (``--ecr-emulator-*`` / ini ``ecr_emulator_*``): account, region,
    uri_style, registry_auth, serve_args."""
    return EmulatorOptions.of(pytestconfig)


@pytest.fixture(scope="session")
def ecr_emulator_server(ecr_emulator_options):
    """One ``ecr-emulator serve`` for the session (one per xdist worker) on a free 127.0.0.1
    port, stopped at the end: a :class:`~ecr_emulator.testing.ServerProcess` (``.url``,
    ``.host``, ``.public_url``, ``.output``)."""
    from .server import ServerProcess

    with ServerProcess(*ecr_emulator_options.flags()) as server:
        yield server


@pytest.fixture(scope="session")
def ecr_emulator_url(ecr_emulator_server) -> str:
    """The server's base URL, ``http://127.0.0.1:<port>``: the ``endpoint_url`` of ECR clients
    (``AWS_ENDPOINT_URL``) and the registry's URL."""
    return ecr_emulator_server.url


@pytest.fixture(scope="session")
def ecr_emulator_registry(ecr_emulator_server) -> str:
    """The registry's ``host:port`` (``127.0.0.1:<port>``): image references are
    ``<this>/<repository>:<tag>``; the registry speaks plain HTTP (``--tls-verify=false``)."""
    return ecr_emulator_server.host


@pytest.fixture(autouse=True)
def _ecr_emulator_fresh_state(request):
    """Reset the emulator before each test that uses it (not with ``ecr_emulator_keep_state``)."""
    if "ecr_emulator_server" in request.fixturenames and request.node.get_closest_marker(KEEP_STATE) is None:
        _post(request.getfixturevalue("ecr_emulator_url") + "/_emulator/reset")


# -- clients ------------------------------------------------------------------------------
@pytest.fixture
def ecr_emulator_client(ecr_emulator_url, ecr_emulator_options):
    """``ecr_emulator_client("ecr", account="111111111111", region="eu-west-1")``: a boto3 client
    of the emulator acting as another account or region (the access key id is the account); with
    a credentials file, ``ecr_emulator_client("ecr", credential="reader")`` signs with that section's
    keys (the default: its first section)."""
    import boto3

    def make(service: str = "ecr", *, account: str | None = None, region: str | None = None,
             credential: str | None = None, **kwargs):
        keys = {"aws_access_key_id": account or ecr_emulator_options.account, "aws_secret_access_key": "ecr-emulator",
                **ecr_emulator_options.credential(credential)}
        return boto3.client(service, endpoint_url=ecr_emulator_url,
                            region_name=region or ecr_emulator_options.region, **{**keys, **kwargs})

    return make


@pytest.fixture
def ecr_emulator_ecr(ecr_emulator_client):
    """A boto3 ``ecr`` client bound to the emulator (the options' account and region)."""
    return ecr_emulator_client("ecr")


@pytest.fixture
def ecr_emulator_ecr_public(ecr_emulator_client):
    """A boto3 ``ecr-public`` client bound to the emulator (the options' account)."""
    return ecr_emulator_client("ecr-public")


@pytest.fixture
def ecr_emulator_login(ecr_emulator_ecr, ecr_emulator_registry) -> Login:
    """Registry login from GetAuthorizationToken: ``.registry`` (host:port), ``.username``
    (``AWS``), ``.password``, ``.creds`` (``AWS:<password>``), ``.endpoint`` (http URL)."""
    import base64

    token = ecr_emulator_ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    username, _, password = base64.b64decode(token).decode().partition(":")
    return Login(ecr_emulator_registry, username, password, f"http://{ecr_emulator_registry}")


@pytest.fixture
def ecr_emulator_clock(ecr_emulator_url) -> EmulatorClock:
    """The emulator's clock: ``ecr_emulator_clock.advance(days=2)`` moves push times, tag times
    and token expiry forward in one call (returns the new time); ``.now()`` reads it."""
    return EmulatorClock(ecr_emulator_url)


@pytest.fixture
def ecr_emulator_push_image(ecr_emulator_url, ecr_emulator_ecr, ecr_emulator_options):
    """Push a synthetic image through the registry API in one line; returns it (``.digest``):

        ecr_emulator_ecr.create_repository(repositoryName="app")
        image = ecr_emulator_push_image("app", "v1", files={"hello.txt": b"hi"})
        # or layers=[b"<tar.gz bytes>", {"path": b"content"}], or image=<testing.synthetic.Image>
    """
    from .push import ImagePusher

    def authorization() -> str | None:
        data = ecr_emulator_ecr.get_authorization_token()["authorizationData"][0]
        return data["authorizationToken"] if ecr_emulator_options.registry_auth else None

    return ImagePusher(ecr_emulator_url, authorization)


# -- what the emulator saw and did --------------------------------------------------------
@pytest.fixture
def ecr_events(ecr_emulator_url):
    """The EventBridge events the emulator raised since the test's reset (``GET /_emulator/events``):
    ``.list("ECR Image Action")``, ``.wait_for("ECR Image Scan", detail={"scan-status": "COMPLETE"})``
    (scans and replication run in the background), ``.delivery()`` (with ``--eventbridge-endpoint``)."""
    from .observe import EmulatorEvents, http_fetch

    return EmulatorEvents(http_fetch(ecr_emulator_url))


@pytest.fixture
def ecr_calls(ecr_emulator_url):
    """The CloudTrail-style log of every control-plane call and registry request since the test's
    reset (``GET /_emulator/calls``): ``.list("PutImage")``, ``.names()``, ``.wait_for(...)``."""
    from .observe import EmulatorCalls, http_fetch

    return EmulatorCalls(http_fetch(ecr_emulator_url))


@pytest.fixture
def ecr_faults(ecr_emulator_url):
    """Fault rules (``/_emulator/faults``), cleared by the reset before each test:
    ``.add(operation="GetAuthorizationToken", error="ThrottlingException", count=2)``,
    ``.add(path="/v2/app/blobs/uploads/", method="POST", status=503, count=1)``, ``.list()``, ``.clear()``."""
    from .observe import EmulatorFaults, http_fetch

    return EmulatorFaults(http_fetch(ecr_emulator_url))
