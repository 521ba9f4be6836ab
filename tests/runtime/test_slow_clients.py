"""Slow, idle and hostile clients against the built-in server, over real sockets: slow-drip
bodies (plain and TLS) hold no request thread and are cut at their minimum rate, idle
connections past the bound make room for new clients, one address cannot take the bound, and
answers given before a large body keep a kept-alive connection in step."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from contextlib import closing
from urllib.parse import urlsplit

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client

DRIPPERS = 24  # more than the request threads (4 here, 16 by default)
#: short deadlines so the test sees slow bodies cut (the defaults are 60 s and 1 KiB/s)
SHORT = {"ECR_EMULATOR_BODY_TIMEOUT": "3", "ECR_EMULATOR_BODY_MIN_RATE": "1000"}


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _drip_head(host: str) -> bytes:
    return (f"PATCH /v2/slow/app/blobs/uploads/0000 HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {1 << 20}\r\n\r\n").encode()


class Drippers:
    """``count`` connections that announce a 1 MiB body and send one byte every ``every``
    seconds, on one thread, until they are closed or ``seconds`` pass."""

    def __init__(self, connect, host: str, count: int, every: float, seconds: float) -> None:
        self.sockets = [connect() for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(_drip_head(host))
        self.closed: set[int] = set()
        self.answers: dict[int, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every, seconds), daemon=True)
        self._thread.start()

    def _run(self, every: float, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.wait(every) and time.monotonic() < deadline:
            for index, sock in enumerate(self.sockets):
                if index in self.closed:
                    continue
                try:
                    sock.sendall(b"x")
                except OSError:
                    self.closed.add(index)

    def wait_all_closed(self, within: float) -> bool:
        """Whether the server closes every dripping connection within ``within`` seconds
        (each then has answered 408 or closed)."""
        deadline = time.monotonic() + within
        for index, sock in enumerate(self.sockets):
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            answer = b""
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass
            except (socket.timeout, ssl.SSLError):
                return False
            self.answers[index] = answer
            self.closed.add(index)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


@pytest.fixture(scope="module")
def server():
    with ServerProcess("--no-access-log", "--no-registry-auth", "--threads", "4", env=SHORT) as server:
        yield server


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (end of stream or reset; a timeout of 30 s is a no)."""
    sock.settimeout(30)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _health(url: str, **kwargs) -> int:
    return requests.get(url + "/_emulator/health", timeout=10, **kwargs).status_code


def test_slow_drip_bodies_hold_no_thread_and_are_cut_at_their_minimum_rate(server):
    host, port = _address(server.url)
    drippers = Drippers(lambda: socket.create_connection((host, port), timeout=30), server.host,
                        DRIPPERS, every=0.5, seconds=60)
    try:
        assert _health(server.url) == 200  # while 24 bodies drip into 4 threads' server
        checked_client("ecr", server.url).describe_repositories()
        # past the grace (3 s) a body must average 1000 B/s: 2 B/s ones are cut with a 408
        assert drippers.wait_all_closed(within=30)
        assert all(a.startswith(b"HTTP/1.1 408") for a in drippers.answers.values()), drippers.answers
        assert _health(server.url) == 200
    finally:
        drippers.stop()


def test_slow_drip_tls_bodies_leave_the_server_answering(tmp_path):
    with ServerProcess("--no-access-log", "--no-registry-auth", "--threads", "4", "--tls",
                       "--tls-dir", str(tmp_path), env=SHORT) as server:
        ca = str(tmp_path / "ca.pem")
        context = ssl.create_default_context(cafile=ca)
        host, port = _address(server.url)

        def connect():
            return context.wrap_socket(socket.create_connection((host, port), timeout=30), server_hostname=host)

        drippers = Drippers(connect, server.host, DRIPPERS, every=0.5, seconds=60)
        try:
            assert _health(server.url, verify=ca) == 200
            assert drippers.wait_all_closed(within=30)
            assert _health(server.url, verify=ca) == 200
        finally:
            drippers.stop()


def test_a_silent_tls_handshake_holds_nothing(tmp_path):
    """Connections that never finish their TLS handshake are closed after the head timeout
    and do not keep others out."""
    with ServerProcess("--no-access-log", "--tls", "--tls-dir", str(tmp_path),
                       env={"ECR_EMULATOR_HEADER_TIMEOUT": "2"}) as server:
        host, port = _address(server.url)
        silent = [socket.create_connection((host, port), timeout=30) for _ in range(DRIPPERS)]
        try:
            assert _health(server.url, verify=str(tmp_path / "ca.pem")) == 200
            assert all(_closed_by_server(sock) for sock in silent)
        finally:
            for sock in silent:
                sock.close()


def test_idle_connections_past_the_bound_make_room_for_new_clients():
    """At the connection bound the oldest idle connection is closed for a new one: 1,010 idle
    connections (from four addresses, so the global bound of 1,000 is what is reached) do not
    keep the health check out."""
    with ServerProcess("--no-access-log") as server:
        host, port = _address(server.url)
        idle = []
        try:
            for index in range(1010):
                sock = socket.socket()
                sock.bind((f"127.0.0.{2 + index % 4}", 0))
                sock.settimeout(30)
                sock.connect((host, port))
                idle.append(sock)
            assert _health(server.url) == 200
            assert checked_client("ecr", server.url).describe_repositories()["repositories"] == []
            # the ten oldest were closed to make room for the last ten
            assert all(_closed_by_server(sock) for sock in idle[:10])
        finally:
            for sock in idle:
                sock.close()


def test_one_address_cannot_take_the_bound():
    """Past its per-client bound, an address with no idle connection to give up is refused
    (503); another address is served as usual."""
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_MAX_CONNECTIONS_PER_CLIENT": "5"}) as server:
        host, port = _address(server.url)

        def connect(source: str) -> socket.socket:
            sock = socket.socket()
            sock.bind((source, 0))
            sock.settimeout(30)
            sock.connect((host, port))
            return sock

        busy = []
        try:
            for _ in range(5):  # five connections in the middle of a body: busy, not idle
                sock = connect("127.0.0.2")
                sock.sendall(b"PATCH /v2/a/b/blobs/uploads/c HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                             b"Expect: 100-continue\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")  # the server is in its body
                busy.append(sock)
            with closing(connect("127.0.0.2")) as sixth:
                sixth.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = sixth.recv(65536)
            assert answer.startswith(b"HTTP/1.1 503"), answer
            with closing(connect("127.0.0.3")) as other:
                other.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                assert other.recv(65536).startswith(b"HTTP/1.1 200")
        finally:
            for sock in busy:
                sock.close()


EARLY_ANSWERS = [
    # (method, path, headers): answered without looking at the body
    ("POST", "/", {"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
                   "Content-Type": "text/plain"}),
    ("POST", "/", {"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.NoSuchOperation",
                   "Content-Type": "application/x-amz-json-1.1"}),
    ("PUT", "/v2/nosuch/app/manifests/v1", {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}),
    ("POST", "/v2/_catalog", {}),
    ("POST", "/v2/Bad..Name/blobs/uploads/", {}),
    ("PATCH", "/v2/nosuch/app/blobs/uploads/unknown-upload", {"Content-Type": "application/octet-stream"}),
    ("POST", "/v2/nosuch/app/blobs/uploads/", {"Authorization": "Basic bm90OnZhbGlk"}),
]


@pytest.mark.parametrize("method, path, headers", EARLY_ANSWERS)
def test_early_answers_keep_the_connection_in_step(server, method, path, headers):
    """20 of 20 requests after an early 4xx on the same kept-alive connection succeed: a body
    larger than any read-ahead (200 KiB) is never left unread on the connection."""
    body = b"{" + b" " * (200 << 10) + b"}"
    with requests.Session() as session:
        for _ in range(20):
            answer = session.request(method, server.url + path, data=body, headers=headers, timeout=30)
            assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:200])
            assert answer.headers.get("Connection", "").lower() != "close"
            assert session.get(server.url + "/_emulator/health", timeout=30).status_code == 200


def test_a_control_plane_body_over_its_limit_is_refused_unread_with_connection_close():
    with ServerProcess("--no-access-log", env={"ECR_EMULATOR_CONTROL_BODY_LIMIT": "1000"}) as server:
        host, port = _address(server.url)
        with closing(socket.create_connection((host, port), timeout=30)) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonEC2ContainerRegistry_V20150921."
                         b"DescribeRepositories\r\nContent-Type: application/x-amz-json-1.1\r\n"
                         b"Content-Length: 1000000000\r\n\r\n{")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" in head
        assert b"ValidationException" in answer
