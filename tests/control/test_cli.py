"""``python -m ecr_emulator serve``: announces its endpoint, honours ECR_EMULATOR_*, stops on signals."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

ANNOUNCE = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 15


class Served:
    """``python -m ecr_emulator serve ...`` with its output read on a thread; always killed at the end."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ecr_emulator", "serve", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_announce(self) -> re.Match:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            match = ANNOUNCE.search(line)
            if match:
                return match
        raise AssertionError("no announcement:\n" + "".join(self.output))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def serve():
    started: list[Served] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Served:
        served = Served(*args, env=env)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("server", ["builtin", "werkzeug"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_announces_and_stops_on_signal(serve, server, signum):
    served = serve("--host", "127.0.0.1", "--port", "0", "--server", server, "--no-access-log")
    url = served.wait_for_announce().group(1)
    assert requests.get(url + "/_emulator/health", timeout=10).json()["status"] == "ok"
    served.process.send_signal(signum)
    code = served.process.wait(timeout=STOP_TIMEOUT)  # raises if it does not stop in bounded time
    assert code in (0, -signum), code
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_emulator/health", timeout=5)


def test_port_from_environment(serve):
    port = free_port()
    # the public and download listeners default to the next ports, which nobody reserved
    served = serve("--no-access-log", env={"ECR_EMULATOR_PORT": str(port), "ECR_EMULATOR_HOST": "127.0.0.1",
                                           "ECR_EMULATOR_PUBLIC_PORT": "0", "ECR_EMULATOR_DOWNLOAD_PORT": "0"})
    match = served.wait_for_announce()
    assert int(match.group(2)) == port
    assert requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=10).status_code == 200


def test_flag_wins_over_environment(serve):
    port = free_port()
    served = serve("--port", "0", "--no-access-log", env={"ECR_EMULATOR_PORT": str(port)})
    assert int(served.wait_for_announce().group(2)) != port


@pytest.mark.parametrize("args, env", [
    ((), {"ECR_EMULATOR_PORT": "not-a-port"}),
    (("--account", "123"), {}),
    ((), {"ECR_EMULATOR_URI_STYLE": "weird"}),
    ((), {"ECR_EMULATOR_REGISTRY_AUTH": "perhaps"}),
    ((), {"ECR_EMULATOR_BODY_MIN_RATE": "0"}),
])
def test_bad_settings_exit_with_a_message(args, env):
    result = subprocess.run([sys.executable, "-m", "ecr_emulator", "serve", "--port", "0", *args],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert result.returncode == 2
    assert result.stderr.startswith("ecr-emulator: ")
    assert "Traceback" not in result.stderr


def test_default_account_and_region_flags(serve):
    served = serve("--host", "127.0.0.1", "--port", "0", "--no-access-log",
                   "--account", "999988887777", "--region", "ap-south-1")
    url = served.wait_for_announce().group(1)
    # a request without SigV4 credentials acts as the configured defaults
    response = requests.post(url + "/", data='{"repositoryName": "app"}', timeout=10, headers={
        "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
        "Content-Type": "application/x-amz-json-1.1",
    })
    assert response.json()["repository"]["repositoryArn"] == "arn:aws:ecr:ap-south-1:999988887777:repository/app"
