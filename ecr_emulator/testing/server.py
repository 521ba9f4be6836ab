"""Run ``ecr-emulator serve`` in a subprocess on a free loopback port, and stop it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque

ANNOUNCE = re.compile(r"listening on (https?://[\w.\-\[\]:]+:\d+)")
PUBLIC_ANNOUNCE = re.compile(r"public registry on (https?://[\w.\-\[\]:]+:\d+)")
DOWNLOAD_ANNOUNCE = re.compile(r"blob downloads on (https?://[\w.\-\[\]:]+:\d+)")


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """Stop a child process and wait for it: SIGTERM, then SIGKILL if it is still there after
    ``timeout`` seconds (every server, registry and helper a test or benchmark starts)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


class ServerProcess:
    """``with ServerProcess() as server: server.url`` -- a real server, always stopped."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, startup_timeout: float = 30,
                 python: str | None = None) -> None:
        """``python``: another interpreter to serve with (e.g. another checkout's virtualenv, for a
        benchmark against a baseline); it runs from a neutral directory so that it imports its own
        installed copy, not the one in the current directory."""
        self.args = ["--host", "127.0.0.1", "--port", "0", *args]
        self.python = python
        self.env = {**os.environ, **(env or {})}
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        #: the ECR Public registry's listener
        self.public_url: str | None = None
        #: the pre-signed blob downloads' listener
        self.download_url: str | None = None
        self.output: deque[str] = deque(maxlen=2000)
        self._process: subprocess.Popen | None = None
        self._pump: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1]

    @property
    def public_host(self) -> str:
        return self.public_url.split("://", 1)[1]

    def start(self) -> "ServerProcess":
        self._process = subprocess.Popen(
            [self.python or sys.executable, "-m", "ecr_emulator", "serve", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env, text=True,
            cwd=tempfile.gettempdir() if self.python else None,
        )
        found = threading.Event()

        def pump() -> None:
            for line in self._process.stdout:
                self.output.append(line)
                public = PUBLIC_ANNOUNCE.search(line)
                if public:
                    self.public_url = public.group(1)
                download = DOWNLOAD_ANNOUNCE.search(line)
                if download:
                    self.download_url = download.group(1)
                match = ANNOUNCE.search(line)
                if match and not self.url:
                    self.url = match.group(1)
                # another checkout (``python=``) may predate the download listener
                if self.url and self.public_url and (self.download_url or self.python):
                    found.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + self.startup_timeout
        while not found.wait(0.05):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ecr-emulator did not start:\n" + "".join(self.output))
        return self

    def worker_pid(self, timeout: float = 10) -> int:
        """The process that holds the emulator's state: the server process itself (one process
        serves every listener). ``timeout`` is kept for callers written for a forking server."""
        return self._process.pid

    def stop(self) -> None:
        """SIGTERM, then wait until the process has ended (its ports are closed when this
        returns) and its last output lines are in :attr:`output`."""
        process, self._process = self._process, None
        if process is None:
            return
        stop_process(process)
        if self._pump is not None:
            self._pump.join(timeout=10)  # the pipe ends with the process (and its children)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
