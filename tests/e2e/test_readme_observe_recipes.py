"""The recipes of the README's "Events, call log and fault injection" section, run as written, in
order, in one shell, inside the start/stop recipe of "Pointing clients at it" (ports changed to
free ones: the emulator's 5000, moto_server's 5050 and the delivering emulator's 5060)."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).parents[2] / "README.md"
SECTION = "## Events, call log and fault injection"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _script(ports: dict[int, int]) -> str:
    text = README.read_text()
    clients = text[text.index("## Pointing clients at it"):]
    start, stop = re.findall(r"```sh\n(.*?)```", clients, re.S)[0].split("# ... the recipes below ...\n")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) >= 4, "the section's recipes moved: update this test"
    script = "set -e\n" + start.replace("--port 5000", "--port 5000 --public-port 0") + "".join(blocks) + stop
    for documented, free in ports.items():
        assert f"127.0.0.1:{documented}" in script
        script = re.sub(rf"(?<=127\.0\.0\.1:){documented}\b|(?<=-p ){documented}\b|(?<=--port ){documented}\b",
                        str(free), script)
    return script


def test_the_events_calls_and_faults_recipes_run_in_order(tmp_path):
    ports = {5000: _free_port(), 5050: _free_port(), 5060: _free_port()}
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECR_EMULATOR_"))},
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
    }
    try:
        done = subprocess.run(["bash", "-c", _script(ports)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        for name in ("ecr-emulator.pid", "ecr-emulator-eb.pid", "moto.pid"):
            pid_file = tmp_path / name
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)  # gone already when the script ran through
                except (ProcessLookupError, ValueError):
                    pass
    logs = "".join(f"\n{log.name}:\n{log.read_text()}" for log in tmp_path.glob("*.log"))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}{logs}"
    lines = done.stdout.splitlines()
    assert "['CreateRepository']" in lines                                   # the CloudTrail event
    assert "ecr.amazonaws.com {'repositoryName': 'observed'}" in lines       # the call log's record
    assert lines.index("503") + 1 == lines.index("202")                     # one fault, then the upload starts
