"""Run ``ecr-emulator serve`` in a subprocess on a free loopback port, and stop it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque

ANNOUNCE = re.compile(r"listening on (https?://[\w.\-\[\]:]+:\d+)")
PUBLIC_ANNOUNCE = re.compile(r"public registry on (https?://[\w.\-\[\]:]+:\d+)")


class ServerProcess:
    """``with ServerProcess() as server: server.url`` -- a real server, always stopped."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, startup_timeout: float = 30) -> None:
        self.args = ["--host", "127.0.0.1", "--port", "0", *args]
        self.env = {**os.environ, **(env or {})}
        self.startup_timeout = startup_timeout
        self.url: str | None = None
        #: the ECR Public registry's listener
        self.public_url: str | None = None
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
            [sys.executable, "-m", "ecr_emulator", "serve", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=self.env, text=True,
        )
        found = threading.Event()

        def pump() -> None:
            for line in self._process.stdout:
                self.output.append(line)
                public = PUBLIC_ANNOUNCE.search(line)
                if public:
                    self.public_url = public.group(1)
                match = ANNOUNCE.search(line)
                if match and not self.url:
                    self.url = match.group(1)
                if self.url and self.public_url:
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
        """The process that holds the emulator's state: gunicorn's one worker (a child of the
        server process, forked just after the server announces itself), else the server."""
        pid = self._process.pid
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as children:
                    found = children.read().split()
            except OSError:  # no /proc: the server process itself
                return pid
            if found or time.monotonic() > deadline or "--server" in self.args and "werkzeug" in self.args:
                return int(found[0]) if found else pid
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then wait until the process has ended (its ports are closed when this
        returns) and its last output lines are in :attr:`output`."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._pump is not None:
            self._pump.join(timeout=10)  # the pipe ends with the process (and its children)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
