"""The tokens' signing key, kept in a file so tokens outlive a restart of the emulator.

``docker-credential-ecr-login`` caches an ECR password in ``~/.ecr/cache.json`` for its 12
hours; if every start made a new key, a restarted emulator would refuse the cached token ("Your
authorization token is invalid") until the user deletes that cache. So a served emulator takes
its key from one place, by one rule:

- with ``--state-dir``: the state (``state.json`` keeps the key with everything else, and a new
  state directory starts with a new key, saved at once -- ``features/persistence.py``);
- without it: the key file, ``--token-key-file`` / ``ECR_EMULATOR_TOKEN_KEY_FILE``, by default
  ``token-key`` in the user's cache directory beside ``--tls``'s CA
  (``~/.cache/ecr-emulator/token-key``, ``$XDG_CACHE_HOME`` honoured), made on first use.

Setting both is refused: the key would live in two places. A key file set by the flag that
cannot be used stops the server starting; the default one only gets a warning (the key is
then kept in memory, as before). The file is private to the user
(made with mode 0600 in a directory of mode 0700; one readable by others is refused, as ssh
refuses such a key) and holds the 32-byte key as 64 hex digits. No key ever ships with the
package. Two emulators starting at once agree on one key: the file appears whole, by a hard
link, and the loser of the race reads the winner's. The in-process ``mock_ecr`` keeps a key in
memory (its tokens live as long as the test process).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat

from ..settings import user_cache_dir

KEY_BYTES = 32
DEFAULT_NAME = "token-key"

log = logging.getLogger(__name__)


class TokenKeyError(Exception):
    """The key file cannot be read, made or trusted (the message says why)."""


def key_path(settings) -> str | None:
    """Where the key of an emulator served with ``settings`` is kept; None with ``--state-dir``
    (the state keeps it)."""
    if settings.state_dir:
        return None
    if settings.token_key_file:
        return os.path.abspath(os.path.expanduser(settings.token_key_file))
    return os.path.join(user_cache_dir(), DEFAULT_NAME)


def load(settings) -> bytes | None:
    """The key for an emulator served with ``settings`` (made and saved on first use), or None
    for a key in memory: when the state directory keeps it, or when the default file cannot
    be used (a warning says why: a read-only home must not stop the emulator starting).
    Raises :class:`TokenKeyError` when the file set by ``--token-key-file`` cannot be used."""
    path = key_path(settings)
    if path is None:
        return None
    try:
        return load_or_make(path)
    except TokenKeyError as error:
        if settings.token_key_file:
            raise
        log.warning("%s; authorization tokens will not outlive this process (set --token-key-file / "
                    "ECR_EMULATOR_TOKEN_KEY_FILE to keep them elsewhere)", error)
        return None


def load_or_make(path: str) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            try:
                os.link(tmp, path)  # whole or absent: never a half-written key
            except FileExistsError:
                pass  # another emulator made it first: use theirs
        finally:
            os.unlink(tmp)
        return _read(path)
    except OSError as error:
        raise TokenKeyError(f"cannot make the tokens' key file {path}: {error.strerror}") from None


def _read(path: str) -> bytes:
    try:
        with open(path, encoding="ascii") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            text = handle.read(1024).strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as error:
        raise TokenKeyError(f"cannot read the tokens' key file {path}: {getattr(error, 'strerror', error)}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenKeyError(f"the tokens' key file {path} is open to other users (mode {stat.S_IMODE(mode):04o}); "
                            f"chmod 600 it")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise TokenKeyError(f"{path} does not hold a tokens' key ({KEY_BYTES * 2} or more hex digits); "
                            "remove it to make a new one")
    return key
