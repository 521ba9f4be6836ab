"""No stalls: clients that open connections and stop (mid-headers, silent, mid-body) never block
the health check or other clients, and their connections are closed in the end."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client

STALLED = 20


@pytest.fixture(scope="module")
def server():
    # short timeouts so the test can see the connections closed; 4 threads: fewer than the stalled
    with ServerProcess("--no-access-log", "--no-registry-auth", "--threads", "4",
                       env={"ECR_EMULATOR_HEADER_TIMEOUT": "2", "ECR_EMULATOR_BODY_TIMEOUT": "2",
                            "ECR_EMULATOR_IDLE_TIMEOUT": "3"}) as server:
        yield server


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    return sock


def _closed_by_server(sock: socket.socket, within: float = 30) -> bool:
    """Whether the server closes ``sock`` (EOF or reset) before ``within`` seconds pass."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("stall", ["mid-headers", "silent", "mid-body", "request-line-only"])
def test_stalled_connections_do_not_block_health_or_clients(server, stall):
    sockets = []
    try:
        for _ in range(STALLED):
            sock = _connect(server.url)
            if stall == "mid-headers":
                sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: ")
            elif stall == "request-line-only":
                sock.sendall(b"GET /_emulator/health HTTP/1.1\r\n")
            elif stall == "mid-body":
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonEC2ContainerRegistry_V20150921."
                             b"DescribeRepositories\r\nContent-Type: application/x-amz-json-1.1\r\n"
                             b"Content-Length: 1000\r\n\r\n{\"repo")
            sockets.append(sock)
        # a generous client timeout: the answer comes at once, not when the stalled ones go
        health = requests.get(server.url + "/_emulator/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName=f"stall/{stall}")
        assert requests.get(server.url + "/v2/_catalog", timeout=10).json()["repositories"]
        # and the stalled connections do not stay open for ever
        assert all(_closed_by_server(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_slow_but_moving_head_is_served(server):
    sock = _connect(server.url)
    try:
        for piece in (b"GET /_emulator/health HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)  # real time between pieces of one head, well inside the timeouts
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


def test_a_stalled_blob_upload_is_closed_and_leaves_the_upload_as_it_was(server):
    """A body too large to buffer first holds a thread while it streams; when it stops, the
    body timeout closes the connection, and nothing of the partial body is added."""
    checked_client("ecr", server.url).create_repository(repositoryName="stall/upload")
    start = requests.post(server.url + "/v2/stall/upload/blobs/uploads/", timeout=10)
    location = urlsplit(start.headers["Location"]).path
    sock = _connect(server.url)
    try:
        sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: {10 << 20}\r\n\r\n".encode()
                     + b"x" * (1 << 20))
        assert _closed_by_server(sock)
    finally:
        sock.close()
    status = requests.get(server.url + location, timeout=10)
    assert status.status_code == 204 and status.headers["Range"] == "0-0"


def test_a_tls_hello_on_the_plain_port_is_answered_at_once(server):
    """Clients that try TLS first (skopeo, podman, Go) fall back to HTTP when the server answers
    their hello with a plain HTTP error; a server that waited for a request head instead would
    leave them in their 10-second handshake timeout on every connection."""
    sock = _connect(server.url)
    try:
        sock.sendall(bytes.fromhex("160301020001") + b"\x00\x01\xfc\x03\x03" + bytes(32))
        sock.settimeout(30)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    finally:
        sock.close()
