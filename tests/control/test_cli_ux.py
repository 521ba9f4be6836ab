"""The command line as a user meets it: a port in use, an unusable state directory, TLS
probes on the plain-HTTP port, and ``--help``."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys

import pytest
import requests

from ecr_emulator.runtime.server import _ProbeLog
from ecr_emulator.testing import ServerProcess


def _serve(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecr_emulator", "serve", "--host", "127.0.0.1", *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ecr-emulator: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("server", ["builtin", "werkzeug"])
def test_a_port_in_use_is_one_line_naming_the_flag(busy_port, server):
    line = _one_line(_serve("--port", str(busy_port), "--server", server))
    assert f"127.0.0.1:{busy_port} is already in use (--port / ECR_EMULATOR_PORT)" in line
    assert "choose another port" in line
    line = _one_line(_serve("--port", "0", "--public-port", str(busy_port), "--server", server))
    assert "(--public-port / ECR_EMULATOR_PUBLIC_PORT)" in line
    line = _one_line(_serve("--port", "0", "--download-port", str(busy_port), "--server", server))
    assert "(--download-port / ECR_EMULATOR_DOWNLOAD_PORT)" in line


def test_a_port_from_the_environment_in_use_names_the_variable(busy_port):
    assert "ECR_EMULATOR_PORT" in _one_line(_serve(env={"ECR_EMULATOR_PORT": str(busy_port)}))


def test_an_address_not_of_this_machine_names_host():
    assert "--host / ECR_EMULATOR_HOST" in _one_line(_serve("--port", "0", "--host", "192.0.2.1"))


def test_a_state_dir_in_use_or_unreadable_is_one_line(tmp_path):
    with ServerProcess("--no-access-log", "--state-dir", str(tmp_path)):
        line = _one_line(_serve("--port", "0", "--state-dir", str(tmp_path)))
        assert "--state-dir / ECR_EMULATOR_STATE_DIR" in line and "in use by another ecr-emulator" in line
    (tmp_path / "state.json").write_text("{not json")
    assert "is not valid JSON" in _one_line(_serve("--port", "0", "--state-dir", str(tmp_path)))
    (tmp_path / "state.json").write_text('{"format": "ecr-emulator-state", "version": 99}')
    assert "upgrade ecr-emulator" in _one_line(_serve("--port", "0", "--state-dir", str(tmp_path)))


@pytest.mark.parametrize("server", ["builtin", "werkzeug"])
def test_tls_probes_on_the_plain_port_are_not_warnings(server):
    with ServerProcess("--server", server) as served:
        port = int(served.url.rsplit(":", 1)[1])
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        for _ in range(3):  # what podman and skopeo do before falling back to HTTP
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with pytest.raises(ssl.SSLError):
                    context.wrap_socket(raw, server_hostname="localhost")
        assert requests.get(served.url + "/_emulator/health", timeout=10).status_code == 200
    output = "".join(served.output)
    assert "/_emulator/health" in output  # the access log is on, and the probes are not in it
    assert "WARNING" not in output and "Invalid request" not in output and "\\x16\\x03" not in output, output


def test_a_probe_is_logged_once():
    lines: list[str] = []
    probes = _ProbeLog()
    for _ in range(3):
        probes.log(lines.append, "127.0.0.1")
    assert len(lines) == 1 and "--tls" in lines[0]


def test_help_is_plain_and_says_how_to_stop():
    result = subprocess.run([sys.executable, "-m", "ecr_emulator", "serve", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    text = result.stdout
    for noise in ("``", "default -1", "Default .", "(env", ":class:", "STR ", "FLOAT"):
        assert noise not in text, noise
    assert "Ctrl-C or SIGTERM" in text
    for flag in ("--port PORT", "--state-dir DIR", "--tls ", "--tls-dir DIR", "--save-interval SECONDS"):
        assert flag in text
    top = subprocess.run([sys.executable, "-m", "ecr_emulator", "--help"], capture_output=True, text=True,
                         timeout=60).stdout
    assert "``" not in top and "stand-in for AWS ECR" in top


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecr_emulator", *args], capture_output=True, text=True, timeout=60)


def test_version_is_the_package_version():
    from importlib.metadata import version

    result = _cli("--version")
    assert result.returncode == 0, result
    assert result.stdout.strip() == f"ecr-emulator {version('ecr-emulator')}"


def test_a_bare_command_prints_help_and_succeeds():
    result = _cli()
    assert result.returncode == 0, result
    assert "serve" in result.stdout and "operations" in result.stdout and "--version" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(("args", "first", "hint"), [
    (["serve", "--prot", "5000"], "ecr-emulator serve: unrecognized arguments --prot 5000 (did you mean --port?)",
     "(see ecr-emulator serve --help)"),
    (["--verison"], "ecr-emulator: unrecognized argument --verison (did you mean --version?)",
     "(see ecr-emulator --help)"),
    (["serve", "--port", "abc"], "ecr-emulator serve: argument --port: --port expects int, not 'abc'",
     "(see ecr-emulator serve --help)"),
    (["sevre"], "ecr-emulator: argument {serve,operations}: invalid choice: 'sevre'", "(see ecr-emulator --help)"),
])
def test_a_mistake_is_one_line_and_a_hint(args, first, hint):
    result = _cli(*args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(first), lines
    assert lines[1] == hint
    assert "usage:" not in result.stderr


@pytest.mark.parametrize("server", ["builtin", "werkzeug"])
def test_shutdown_says_what_was_saved(tmp_path, server):
    with ServerProcess("--no-access-log", "--server", server, "--state-dir", str(tmp_path)) as served:
        assert requests.get(served.url + "/_emulator/health", timeout=10).status_code == 200
    assert "".join(served.output).strip().splitlines()[-1] == f"ecr-emulator stopped; state saved to {tmp_path}"
    with ServerProcess("--no-access-log", "--server", server) as served:
        assert requests.get(served.url + "/_emulator/health", timeout=10).status_code == 200
    last = "".join(served.output).strip().splitlines()[-1]
    assert last.startswith("ecr-emulator stopped (state in memory, not saved"), served.output


def test_the_log_says_when_a_clock_advance_or_an_import_ends_logins(tmp_path):
    import boto3

    with ServerProcess("--no-access-log") as served:
        ecr = boto3.client("ecr", endpoint_url=served.url, region_name="us-east-1",
                           aws_access_key_id="123456789012", aws_secret_access_key="x")
        clock = served.url + "/_emulator/clock/advance"
        ecr.get_authorization_token()
        requests.post(clock, json={"seconds": 3600}, timeout=10).raise_for_status()
        assert "has expired" not in "".join(served.output)  # 1 h of a 12 h login: still valid
        requests.post(clock, json={"seconds": 12 * 3600}, timeout=10).raise_for_status()
        snapshot = requests.get(served.url + "/_emulator/state", timeout=30).content
        # another server with another token key (served ones share the user's key file by default)
        with ServerProcess("--no-access-log", "--token-key-file", str(tmp_path / "other-key")) as other:
            requests.put(other.url + "/_emulator/state", data=snapshot, timeout=30).raise_for_status()
        requests.put(served.url + "/_emulator/state", data=snapshot, timeout=30).raise_for_status()
    assert "every registry login issued so far has expired" in "".join(served.output), served.output
    assert "registry logins issued before the import no longer work" in "".join(other.output), other.output
    # the same server's own snapshot keeps its key: its logins go on working
    assert "no longer work" not in "".join(served.output)


def test_make_run_installs_the_runtime_only(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    venv = tmp_path / "venv"
    dry = subprocess.run(["make", "-n", "-C", root, "run", f"VENV={venv}"], capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0, dry
    installs = [line for line in dry.stdout.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all("[" not in line for line in installs), dry.stdout  # no extras
    assert f"{venv}/bin/ecr-emulator" in dry.stdout  # it says where the console script is
    test = subprocess.run(["make", "-n", "-C", root, "test", f"VENV={venv}"], capture_output=True, text=True,
                          timeout=60)
    assert "'.[test,bench]'" in test.stdout, test.stdout
