"""Fixtures of the end-to-end tests: podman and skopeo, each with every piece of configuration
in the test's ``tmp_path`` (nothing leaks between tests or into the machine's setup), and the
AWS CLI's ``get-login-password``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from ..tools import need

PODMAN = shutil.which("podman")
SKOPEO = shutil.which("skopeo")
#: the AWS CLI installed next to this Python (the project's test extra)
AWS_CLI = os.path.join(os.path.dirname(sys.executable), "aws")


@pytest.fixture
def podman(tmp_path, ecr_emulator_server):
    """``podman(*args, input=None)`` with vfs storage, its own registries.conf (the emulator's
    private and public registries are insecure), containers.conf and auth file."""
    need(PODMAN, "podman is not installed")
    registries = "".join(f'[[registry]]\nlocation = "{host}"\ninsecure = true\n'
                         for host in (ecr_emulator_server.host, ecr_emulator_server.public_host))
    (tmp_path / "storage.conf").write_text(
        f'[storage]\ndriver = "vfs"\nrunroot = "{tmp_path}/run"\ngraphroot = "{tmp_path}/root"\n')
    (tmp_path / "registries.conf").write_text(registries)
    (tmp_path / "containers.conf").write_text('[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n')
    env = {
        **os.environ,
        "CONTAINERS_STORAGE_CONF": str(tmp_path / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(tmp_path / "registries.conf"),
        "CONTAINERS_CONF": str(tmp_path / "containers.conf"),
        "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path / "xdg"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TMPDIR": str(tmp_path),
    }
    (tmp_path / "xdg").mkdir()

    def run(*args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([PODMAN, *args], capture_output=True, text=True, input=input, env=env, timeout=300)
        if check:
            assert done.returncode == 0, f"podman {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    yield run
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(tmp_path / "root", ignore_errors=True)


@pytest.fixture
def skopeo(tmp_path):
    """``skopeo(*args)``: run skopeo with an auth file and HOME of its own (nothing leaks)."""
    need(SKOPEO, "skopeo is not installed")
    env = {**os.environ, "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
           "XDG_RUNTIME_DIR": str(tmp_path)}

    def run(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True,
                              timeout=timeout, env=env)
        if check:
            assert done.returncode == 0, f"skopeo {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    return run


def login_password(client, url: str, service: str = "ecr") -> str:
    """``aws <service> get-login-password --region us-east-1``, as the README says to log in."""
    need(os.path.exists(AWS_CLI), f"the AWS CLI (the test extra) is not installed at {AWS_CLI}")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "123456789012", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    done = subprocess.run([AWS_CLI, service, "get-login-password", "--region", "us-east-1", "--endpoint-url", url],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
