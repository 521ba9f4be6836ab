"""The tokens' signing key outlives the server process: a password from one server is accepted
by the next one started without ``--state-dir`` (as docker-credential-ecr-login's 12-hour cache
in ``~/.ecr/cache.json`` needs), the key file is private to the user, and the setting that moves
it is checked."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest
import requests

from ecr_emulator.app import Emulator, create_app
from ecr_emulator.identity import token_key
from ecr_emulator.settings import SettingError, Settings
from ecr_emulator.testing import ServerProcess, checked_client

from ..registry.client import password_of


def _password(server: ServerProcess) -> str:
    ecr = checked_client("ecr", server.url)
    return password_of(ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"])


def _v2(server: ServerProcess, password: str) -> int:
    return requests.get(server.url + "/v2/", auth=("AWS", password), timeout=10).status_code


def test_a_token_from_one_server_process_opens_the_next_one(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    with ServerProcess("--no-access-log", env=env) as first:
        password = _password(first)
        assert _v2(first, password) == 200
    key = tmp_path / "cache" / "ecr-emulator" / "token-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    with ServerProcess("--no-access-log", env=env) as second:  # started after the first stopped
        assert _v2(second, password) == 200
    # another user's cache holds another key: the same password is refused there
    with ServerProcess("--no-access-log", env={"XDG_CACHE_HOME": str(tmp_path / "other")}) as stranger:
        assert _v2(stranger, password) == 401


def test_token_key_file_moves_the_key(tmp_path):
    path = tmp_path / "keys" / "ecr"
    with ServerProcess("--no-access-log", "--token-key-file", str(path),
                       env={"XDG_CACHE_HOME": str(tmp_path / "cache")}) as first:
        password = _password(first)
    assert len(bytes.fromhex(path.read_text())) == token_key.KEY_BYTES
    assert not (tmp_path / "cache" / "ecr-emulator" / "token-key").exists()
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_TOKEN_KEY_FILE": str(path)}) as second:
        assert _v2(second, password) == 200


def _serve_fails(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecr_emulator", "serve", "--port", "0", *args],
                          capture_output=True, text=True, timeout=60)


def test_an_unusable_key_file_stops_the_server_with_one_clear_line(tmp_path):
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)
    done = _serve_fails("--token-key-file", str(garbage))
    assert done.returncode == 2
    assert "--token-key-file / ECR_EMULATOR_TOKEN_KEY_FILE" in done.stderr and "remove it" in done.stderr
    shared = tmp_path / "shared"
    shared.write_text(os.urandom(32).hex())
    shared.chmod(0o644)
    done = _serve_fails("--token-key-file", str(shared))
    assert done.returncode == 2 and "open to other users (mode 0644)" in done.stderr


def test_the_state_directory_keeps_the_key_and_both_settings_are_refused(tmp_path):
    with pytest.raises(SettingError, match="--token-key-file / ECR_EMULATOR_TOKEN_KEY_FILE and --state-dir"):
        Settings(token_key_file=str(tmp_path / "k"), state_dir=str(tmp_path / "s"))
    settings = Settings(state_dir=str(tmp_path / "s"))
    assert token_key.key_path(settings) is None and token_key.load(settings) is None


def test_a_default_key_file_that_cannot_be_made_leaves_the_key_in_memory(tmp_path, monkeypatch, caplog):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_directory))
    emulator = create_app(Settings())  # starts: a read-only home must not stop the emulator
    assert len(emulator.tokens.secret) == 32
    assert "will not outlive this process" in caplog.text
    with pytest.raises(token_key.TokenKeyError, match="Not a directory"):
        token_key.load(Settings(token_key_file=str(not_a_directory / "key")))


def test_emulators_made_at_once_agree_on_one_key(tmp_path):
    path = str(tmp_path / "race" / "token-key")
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(token_key.load_or_make(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(keys) == 8 and len(set(keys)) == 1
    assert os.listdir(tmp_path / "race") == ["token-key"]  # no temporary file left behind


def test_the_in_process_emulator_keeps_its_key_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert Emulator(Settings()).tokens.secret != Emulator(Settings()).tokens.secret
    assert not (tmp_path / "ecr-emulator").exists()
