"""The README's "Testing least privilege" recipe, run as written in one shell (its port 5070
changed to a free one; podman configured in the test's directory, as in test_readme_recipes)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from ..tools import requires

README = pathlib.Path(__file__).parents[2] / "README.md"
pytestmark = [
    pytest.mark.slow,
    requires(shutil.which("podman") and shutil.which("skopeo") and shutil.which("curl"),
             "podman, skopeo and curl are needed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _recipe(port: int) -> str:
    text = README.read_text()
    section = text[text.index("## Testing least privilege"):]
    section = section[:section.index("\n## ", 1)]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert "5070" in block
    return "set -e\n" + block.replace("5070", str(port))


def test_the_least_privilege_recipe_runs_as_written(tmp_path):
    port = _free_port()
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/run"\ngraphroot = "{tmp_path}/root"\n')
    (tmp_path / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    (tmp_path / "registries.conf").write_text("")
    (tmp_path / "auth.json").write_text("{}")  # podman --creds still opens REGISTRY_AUTH_FILE
    (tmp_path / "xdg").mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECR_EMULATOR_"))},
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf"),
        "CONTAINERS_CONF": str(tmp_path / "containers.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(tmp_path / "registries.conf"),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "TMPDIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    work = tmp_path / "least-privilege"
    try:
        done = subprocess.run(["bash", "-c", _recipe(port)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        pid_file = work / "server.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)  # gone already when the script ran through
            except ProcessLookupError:
                pass
        subprocess.run(["podman", "rmi", "--all", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(tmp_path / "root", ignore_errors=True)
    log = (work / "server.log").read_text() if (work / "server.log").exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nserver log:\n{log}"
    out = done.stdout
    assert "no identity-based policy allows the ecr:CreateRepository action" in out
    assert "User: arn:aws:sts::111122223333:assumed-role/reader/ci is not authorized to perform: ecr:PutImage" in out
    assert "with an explicit deny in an identity-based policy" in out
    assert f"127.0.0.1:{port}/team/app" in out
