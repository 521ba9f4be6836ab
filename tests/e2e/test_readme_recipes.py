"""The README's client recipes, run as written, in order, in one shell (with the port changed
to a free one, and podman/skopeo configured in a temporary directory so nothing touches the
machine's containers setup). Blocks for clients this machine lacks are left out: docker needs a
daemon, the oras CLI is not packaged (oras-py is tested in test_oras.py)."""

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

README = pathlib.Path(__file__).parents[2] / "README.md"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("podman") and shutil.which("skopeo") and shutil.which("curl")),
                       reason="podman, skopeo and curl are needed (CI installs them)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _recipe_script(port: int) -> str:
    text = README.read_text()
    section = text[text.index("## Pointing clients at it"):text.index("## Testing with pytest")]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    start, stop = blocks[0].split("# ... the recipes below ...\n")
    runnable = [b for b in blocks[1:] if not re.search(r"^\s*(docker|oras|.*\| *(docker|oras)) ", b, re.M)]
    assert len(runnable) >= 3, "the README's recipes moved: update this test"
    script = "set -e\n" + start + "".join(runnable) + stop
    script = script.replace("--port 5000", f"--port {port} --public-port 0 --download-port 0")
    assert "127.0.0.1:5000" in script
    return script.replace("127.0.0.1:5000", f"127.0.0.1:{port}")


def test_the_readme_recipes_run_in_order(tmp_path):
    port = _free_port()
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/run"\ngraphroot = "{tmp_path}/root"\n')
    (tmp_path / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    (tmp_path / "registries.conf").write_text("")
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
    try:
        done = subprocess.run(["bash", "-c", _recipe_script(port)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        pid_file = tmp_path / "ecr-emulator.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)  # gone already when the script ran through
            except ProcessLookupError:
                pass
        subprocess.run(["podman", "rmi", "--all", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(tmp_path / "root", ignore_errors=True)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nserver log:\n" + (
        (tmp_path / "ecr-emulator.log").read_text() if (tmp_path / "ecr-emulator.log").exists() else "")
    out = done.stdout
    assert f"127.0.0.1:{port}/team/app" in out               # boto3's repositoryUri, usable as returned
    assert '"imageTags"' in out and '"v1"' in out and '"v2"' in out  # podman pushed v1, skopeo copied v2
    assert "Login Succeeded" in out + done.stderr
