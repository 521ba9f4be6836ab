"""The built-in server against small WSGI apps, over real sockets: spooled bodies and their
claim, file answers with sendfile (from an offset), streamed answers of unknown length,
ConnectionAbortedError as a reset, HEAD, chunked request bodies, pipelining."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
from contextlib import closing, contextmanager

import pytest
import requests

from ecr_emulator.httpd import Config, Server


@contextmanager
def serving(app, **config):
    with running(app, **config) as (url, _server):
        yield url


@contextmanager
def running(app, **config):
    """The server on a free port: ``(url, server)``."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = Server(app, [sock], Config(access_log=False, **config))
    ready = threading.Event()
    server.on_ready = ready.set
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.stop()
        thread.join(30)
        assert not thread.is_alive()


class Recorder:
    """Answers with what it saw of the body, and claims it into ``claim_to`` when asked."""

    def __init__(self, claim_to: str | None = None, spool_dir: str | None = None) -> None:
        self.claim_to = claim_to
        self.spool_dir = spool_dir
        self.seen: list[dict] = []

    def __call__(self, environ, start_response):
        body = environ["ecr_emulator.body"]
        data = environ["wsgi.input"].read()
        record = {"length": environ.get("CONTENT_LENGTH"), "read": len(data),
                  "sha256": hashlib.sha256(data).hexdigest(),
                  "body_sha256": body.sha256().hexdigest() if body else None,
                  "spooled": body is not None and body.path is not None}
        if body is not None and self.claim_to:
            record["claimed"] = body.claim(self.claim_to)
        self.seen.append(record)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.mark.parametrize("on_arrival", [True, False], ids=["hashed-on-arrival", "hashed-when-asked"])
def test_small_and_large_bodies_are_whole_before_the_app_runs_and_hashed(tmp_path, on_arrival):
    app = Recorder(spool_dir=str(tmp_path))
    app.hashes_body = lambda environ: on_arrival  # the app's say (a PATCH chunk: not on arrival)
    small, large = os.urandom(1000), os.urandom(3 << 20)
    with serving(app) as url:
        assert requests.put(url, data=small, timeout=30).text == "ok"
        assert requests.put(url, data=iter([large[:1 << 20], large[1 << 20:]]), timeout=30).text == "ok"  # chunked
    first, second = app.seen
    assert first == {"length": "1000", "read": 1000, "sha256": hashlib.sha256(small).hexdigest(),
                     "body_sha256": hashlib.sha256(small).hexdigest(), "spooled": False}
    assert second["length"] == str(len(large)) and second["read"] == len(large) and second["spooled"]
    assert second["body_sha256"] == second["sha256"] == hashlib.sha256(large).hexdigest()
    assert os.listdir(tmp_path) == []  # spool files are removed after the request


def test_a_claimed_spool_file_becomes_the_apps_file(tmp_path):
    dest = tmp_path / "blob"
    app = Recorder(claim_to=str(dest), spool_dir=str(tmp_path))
    data = os.urandom(2 << 20)
    with serving(app) as url:
        requests.put(url, data=data, timeout=30)
    assert app.seen[0]["claimed"] is True
    assert dest.read_bytes() == data
    assert os.listdir(tmp_path) == ["blob"]


@pytest.mark.parametrize("copies", [True, False], ids=["copied", "sendfile"])
def test_file_answers_go_out_from_their_offset(tmp_path, copies):
    path = tmp_path / "data"
    data = os.urandom(9 << 20)
    path.write_bytes(data)

    def app(environ, start_response):
        start = int(environ.get("QUERY_STRING") or 0)
        f = open(path, "rb")
        f.seek(start)
        start_response("200 OK", [("Content-Length", str(len(data) - start))])
        return environ["wsgi.file_wrapper"](f, 1 << 20)

    with serving(app, copy_files_to_loopback=copies) as url, requests.Session() as session:
        assert session.get(url, timeout=30).content == data
        assert session.get(url + "?12345", timeout=30).content == data[12345:]
        head = session.head(url, timeout=30)
        assert head.headers["Content-Length"] == str(len(data)) and head.content == b""


def test_a_large_answer_of_unknown_length_streams_chunked():
    pieces = [os.urandom(100 << 10) for _ in range(40)]

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return iter(pieces)

    with serving(app) as url:
        answer = requests.get(url, timeout=30)
    assert answer.headers["Transfer-Encoding"] == "chunked"
    assert answer.content == b"".join(pieces)


def test_one_large_piece_in_memory_goes_out_whole_in_slices():
    """A blob from the memory cache is one bytes object: sent in slices, then the connection
    serves the next request."""
    data = os.urandom(24 << 20)

    def app(environ, start_response):
        body = data if environ["PATH_INFO"] == "/big" else b"ok"
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    with serving(app) as url, requests.Session() as session:
        assert session.get(url + "/big", timeout=30).content == data
        assert session.get(url + "/small", timeout=30).content == b"ok"


def test_connection_aborted_error_resets_the_connection():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", str(10 << 20))])

        def body():
            yield b"x" * (1 << 20)
            raise ConnectionAbortedError("fault: reset after 1 MiB")
        return body()

    with serving(app) as url, pytest.raises(requests.exceptions.RequestException):
        requests.get(url, timeout=30).content  # noqa: B018 -- the read is the point


def test_an_app_error_is_a_500_and_the_server_goes_on():
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("bug")
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with serving(app) as url:
        assert requests.get(url + "/boom", timeout=30).status_code == 500
        assert requests.get(url + "/fine", timeout=30).text == "ok"


def test_pipelined_requests_and_raw_target():
    def app(environ, start_response):
        text = f"{environ['PATH_INFO']}|{environ['RAW_URI']}".encode()
        start_response("200 OK", [("Content-Length", str(len(text)))])
        return [text]

    with serving(app) as url:
        port = int(url.rsplit(":", 1)[1])
        with closing(socket.create_connection(("127.0.0.1", port), timeout=30)) as sock:
            sock.sendall(b"GET /a%2fb HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.count(b"HTTP/1.1 200") == 2
    assert b"/a/b|/a%2fb" in answer and b"/c|/c" in answer


@pytest.mark.parametrize("raw, status", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: " + b"y" * 9000 + b"\r\n\r\n", 431),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_malformed_requests_get_their_status_and_a_close(raw, status):
    with serving(Recorder()) as url:
        port = int(url.rsplit(":", 1)[1])
        with closing(socket.create_connection(("127.0.0.1", port), timeout=30)) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer[:100]
    assert b"Connection: close" in answer


def _big_file_app(path):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/small":
            start_response("200 OK", [("Content-Length", "2")])
            return [b"ok"]
        f = open(path, "rb")
        start_response("200 OK", [("Content-Length", str(path.stat().st_size))])
        return environ["wsgi.file_wrapper"](f)
    return app


def _read(sock, rounds: int, pause: float) -> int:
    """Read ``rounds`` times, ``pause`` seconds apart (a slow client); the bytes read."""
    got = 0
    for _ in range(rounds):
        data = sock.recv(256 << 10)
        if not data:
            break
        got += len(data)
        threading.Event().wait(pause)
    return got


@pytest.mark.parametrize("copies", [True, False], ids=["copied", "sendfile"])
def test_file_answers_watch_the_kernels_send_queue(tmp_path, copies):
    """File answers bypass the transport's buffer (sendfile, or copies written to the socket), so
    the sweeper watches the kernel's send queue: a slow reader that keeps taking bytes is never
    cut (even within one sendfile call of many seconds), one that takes nothing for body_timeout
    is reset, and others are served meanwhile."""
    path = tmp_path / "big"
    path.write_bytes(os.urandom(64 << 20))
    with serving(_big_file_app(path), body_timeout=2, copy_files_to_loopback=copies) as url:
        port = int(url.rsplit(":", 1)[1])
        with closing(socket.create_connection(("127.0.0.1", port), timeout=30)) as slow, \
                closing(socket.create_connection(("127.0.0.1", port), timeout=30)) as stalled:
            for sock in (slow, stalled):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
                sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            assert requests.get(url + "/small", timeout=30).text == "ok"
            got = _read(slow, rounds=24, pause=0.25)  # 6 s, three times body_timeout, always moving
            assert got > 24 * 1024
            with pytest.raises(ConnectionResetError):  # the stalled one was cut meanwhile
                for _ in range(100_000):  # bounded: what the kernel held, then the reset
                    if not stalled.recv(1 << 20):
                        break
            assert _read(slow, rounds=2, pause=0) > 0  # the slow one still goes on


@pytest.mark.parametrize("copies", [True, False], ids=["copied", "sendfile"])
def test_a_client_that_hangs_up_mid_file_leaves_nothing_behind(tmp_path, copies):
    """The answer stops, the connection is forgotten, and the server goes on serving."""
    path = tmp_path / "big"
    path.write_bytes(os.urandom(64 << 20))
    with running(_big_file_app(path), copy_files_to_loopback=copies) as (url, server):
        port = int(url.rsplit(":", 1)[1])
        with closing(socket.create_connection(("127.0.0.1", port), timeout=30)) as client:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            client.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1 << 20)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
        for _ in range(300):  # bounded: 30 s
            if not server.connections:
                break
            threading.Event().wait(0.1)
        assert not server.connections
        assert requests.get(url + "/small", timeout=30).text == "ok"


class InlineApp:
    """Offers ``lock`` for requests to ``/quick`` (as the emulator does for in-memory control-plane
    calls) and answers with the name of the thread that ran it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.asked = threading.Event()  # the server has a /quick request in hand

    def inline_lock(self, environ):
        if environ["PATH_INFO"] != "/quick":
            return None
        self.asked.set()
        return self.lock

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/quick":
            with self.lock:  # what a handler does: it takes the lock itself, too
                pass
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [threading.current_thread().name.encode()]


def test_a_quick_call_runs_on_the_loop_when_its_lock_is_free():
    app = InlineApp()
    with serving(app) as url, requests.Session() as session:
        loop_thread = session.get(url + "/quick", timeout=30).text
        other = session.get(url + "/other", timeout=30).text
        assert session.get(url + "/quick", timeout=30).text == loop_thread
    assert loop_thread != other  # /other went to a request thread, /quick did not


def test_a_quick_call_whose_lock_is_held_waits_on_a_thread_and_delays_nobody():
    app = InlineApp()
    with serving(app) as url:
        app.lock.acquire()  # a background task holds the lock
        try:
            answers: list = []
            waiting = threading.Thread(target=lambda: answers.append(requests.get(url + "/quick", timeout=60)))
            waiting.start()
            assert app.asked.wait(30)
            # the loop did not block on the lock: other requests are answered meanwhile
            assert requests.get(url + "/other", timeout=10).status_code == 200
            assert waiting.is_alive() and not answers
        finally:
            app.lock.release()
        waiting.join(60)
        assert answers and answers[0].status_code == 200
