"""The built-in server's connection handling: kept-alive connections, pipelining, more busy
connections than threads, clients that vanish, and the same through werkzeug's server."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client

TARGET = "AmazonEC2ContainerRegistry_V20150921."


def _request(op: str, body: dict, host: str) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: {TARGET}{op}\r\n"
            f"Content-Type: application/x-amz-json-1.1\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, dict]:
    """One HTTP/1.1 response with a Content-Length body, read from ``sock`` (leftovers stay in ``buffer``)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        buffer += chunk
    head, _, _ = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    start = len(head) + 4
    while len(buffer) < start + length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a body"
        buffer += chunk
    body = bytes(buffer[start:start + length])
    del buffer[:start + length]
    return status, json.loads(body)


@pytest.fixture(scope="module")
def small_server():
    """A server with only two request threads."""
    with ServerProcess("--no-access-log", "--threads", "2") as server:
        yield server


@pytest.fixture
def server(small_server):
    requests.post(small_server.url + "/_emulator/reset", timeout=10)
    return small_server


def test_many_requests_on_one_kept_alive_connection(server):
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        buffer = bytearray()
        for i in range(50):
            sock.sendall(_request("CreateRepository", {"repositoryName": f"repo-{i}"}, server.host))
            status, body = _read_response(sock, buffer)
            assert status == 200 and body["repository"]["repositoryName"] == f"repo-{i}"
        sock.sendall(_request("DescribeRepositories", {"maxResults": 1000}, server.host))
        status, body = _read_response(sock, buffer)
        assert status == 200 and len(body["repositories"]) == 50


def test_pipelined_requests_are_all_answered_in_order(server):
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(b"".join(_request("CreateRepository", {"repositoryName": f"pipe-{i}"}, server.host)
                              for i in range(5)))
        buffer = bytearray()
        names = [_read_response(sock, buffer)[1]["repository"]["repositoryName"] for _ in range(5)]
        assert names == [f"pipe-{i}" for i in range(5)]


def test_more_busy_connections_than_threads(server):
    """Eight clients with their own kept-alive connections against two threads: all are served."""
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            ecr = checked_client("ecr", server.url)
            for i in range(15):
                ecr.create_repository(repositoryName=f"c{n}/r{i}")
                assert ecr.describe_repositories(repositoryNames=[f"c{n}/r{i}"])["repositories"]
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client was starved"
    assert errors == []
    listing = checked_client("ecr", server.url).describe_repositories(maxResults=1000)["repositories"]
    assert len(listing) == 8 * 15


def test_client_that_closes_or_half_sends(server):
    port = int(server.url.rsplit(":", 1)[1])
    # answered, then closed by the client while the server may be waiting for the next request
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request("DescribeRepositories", {}, server.host))
        assert _read_response(sock, bytearray())[0] == 200
    # closed in the middle of a request
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_request("CreateRepository", {"repositoryName": "half"}, server.host)[:40])
    # the server goes on answering everyone
    ecr = checked_client("ecr", server.url)
    assert ecr.create_repository(repositoryName="after")["repository"]["repositoryName"] == "after"
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["after"]


def test_connection_close_is_honoured(server):
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as sock:
        request = _request("DescribeRepositories", {}, server.host).replace(
            b"Host:", b"Connection: close\r\nHost:", 1)
        sock.sendall(request)
        buffer = bytearray()
        assert _read_response(sock, buffer)[0] == 200
        sock.settimeout(10)
        assert sock.recv(1) == b""  # the server closed its end
