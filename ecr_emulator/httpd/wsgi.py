"""Running the WSGI application for one request, on a request thread.

The body is already received whole (:mod:`.body`); what the application returns is turned
into one of two plans the event loop carries out: bytes to write (a small answer: head and body
in one write), or a file to send with ``sendfile`` (``wsgi.file_wrapper``). A large iterable
answer is streamed by the request thread with flow control (:class:`Streamer`).
"""

from __future__ import annotations

import io
import logging
import sys

from .http1 import Request, split_target, status_line, wsgi_path

log = logging.getLogger("ecr_emulator.server")

#: an iterable answer up to this size is gathered and written at once; a larger one streams
GATHER_LIMIT = 256 << 10
#: responses that never carry a body (RFC 9110 §6.4.1)
_NO_BODY = frozenset({204, 304})


class FileWrapper:
    """``wsgi.file_wrapper``: the server sends ``Content-Length`` bytes from the file's current
    position with ``sendfile``; iterated (by middleware, or another server) it reads blocks."""

    #: this server sends at most ``Content-Length`` bytes of it, so a range may end anywhere
    bounded_by_content_length = True

    def __init__(self, file, block_size: int = 1 << 20) -> None:
        self.file = file
        self.block_size = block_size

    def __iter__(self):
        while True:
            data = self.file.read(self.block_size)
            if not data:
                return
            yield data

    def close(self) -> None:
        close = getattr(self.file, "close", None)
        if close is not None:
            close()


def base_environ(request: Request, listener: tuple[str, int], peer, scheme: str) -> dict:
    """The WSGI environ of ``request`` (PEP 3333), without its body."""
    path, query = split_target(request.target)
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": wsgi_path(path),
        "QUERY_STRING": query,
        # the target as sent: a percent-encoded "/" must not be judged on the decoded path
        "RAW_URI": request.target,
        "REQUEST_URI": request.target,
        "SERVER_NAME": listener[0],
        "SERVER_PORT": str(listener[1]),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": peer[0] if peer else "",
        "REMOTE_PORT": str(peer[1]) if peer else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }
    for name, value in request.headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
            continue
        if name in ("content-length", "transfer-encoding"):
            continue  # the body is de-chunked: CONTENT_LENGTH is set from what arrived
        key = "HTTP_" + name.upper().replace("-", "_")
        if "_" in name:
            continue  # "X_Foo" would pose as "X-Foo" (header spoofing): dropped, as nginx and gunicorn do
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    if request.length is not None:
        environ["CONTENT_LENGTH"] = str(request.length)
    return environ


class Answer:
    """What the request thread decided to send (carried out on the event loop)."""

    __slots__ = ("data", "file", "offset", "count", "keep_alive", "status", "size", "iterable", "abort")

    def __init__(self) -> None:
        self.data = b""          # head (and a gathered body) to write first
        self.file = None         # a file to sendfile after ``data``
        self.offset = 0
        self.count = 0
        self.keep_alive = True
        self.status = 0
        self.size = 0            # body bytes, for the access log
        self.iterable = None     # the rest of a streamed body (a generator of framed chunks)
        self.abort = False       # reset the connection, send nothing (ConnectionAbortedError)


def run_app(app, environ: dict, request: Request, keep_alive: bool, date: str) -> Answer:
    """Call ``app`` and plan the answer. Exceptions before the head are answered 500."""
    answer = Answer()
    started: list = []
    written: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info is not None and started and started[0] == "sent":
            raise exc_info[1].with_traceback(exc_info[2])
        started[:] = [status, headers]
        return written.append

    result = None
    try:
        result = app(environ, start_response)
        if isinstance(result, FileWrapper) and not written:
            return _plan_file(answer, result, started, request, keep_alive, date) or _plan_iterable(
                answer, result, started, written, request, keep_alive, date)
        return _plan_iterable(answer, result, started, written, request, keep_alive, date)
    except ConnectionAbortedError:
        _close(result)
        answer.abort = True
        return answer
    except Exception:  # noqa: BLE001 -- the application's bug is the client's 500, not the server's end
        log.exception("error handling %s %s", request.method, request.target)
        _close(result)
        body = b"Internal Server Error\n"
        answer.status, answer.keep_alive, answer.size = 500, False, len(body)
        answer.data = (status_line(request.version, 500) + _head_fields(
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], date, False, request.version)
            + body)
        return answer


def _plan_file(answer: Answer, wrapper: FileWrapper, started, request: Request, keep_alive: bool, date: str):
    """A file answer with a Content-Length and a real file: sent with sendfile."""
    if not started:
        raise RuntimeError("the application returned before calling start_response")
    status, headers = started
    length = _content_length(headers)
    try:
        fileno = wrapper.file.fileno()
        offset = wrapper.file.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    del fileno
    code = int(status.split(" ", 1)[0])
    if length is None or request.method == "HEAD" or code in _NO_BODY:
        return None
    keep_alive = keep_alive and not _says_close(headers)
    answer.status, answer.keep_alive, answer.size = code, keep_alive, length
    answer.data = _head(request.version, status, headers, date, keep_alive)
    answer.file, answer.offset, answer.count = wrapper, offset, length
    return answer


def _plan_iterable(answer, result, started, written, request: Request, keep_alive: bool, date: str) -> Answer:
    """Gather a small body; a large one streams (chunked when its length is unknown)."""
    iterator = iter(result)
    body: list[bytes] = list(written)
    size = sum(len(b) for b in body)
    exhausted = False
    try:
        while size <= GATHER_LIMIT:
            try:
                piece = next(iterator)
            except StopIteration:
                exhausted = True
                break
            if piece:
                body.append(piece)
                size += len(piece)
    except BaseException:
        _close(result)
        raise
    if not started:
        _close(result)
        raise RuntimeError("the application returned before calling start_response")
    status, headers = started
    started[0] = "sent"
    code = int(status.split(" ", 1)[0])
    length = _content_length(headers)
    keep_alive = keep_alive and not _says_close(headers)
    bodyless = request.method == "HEAD" or code in _NO_BODY or 100 <= code < 200
    answer.status = code
    if bodyless:
        _close(result)
        answer.keep_alive = keep_alive
        answer.data = _head(request.version, status, headers, date, keep_alive)
        return answer
    if exhausted:
        _close(result)
        data = b"".join(body)
        if length is None:
            headers = [*headers, ("Content-Length", str(len(data)))]
        elif length != len(data):
            keep_alive = False  # the application's length is wrong: the client reads to the close
            data = data[:length]
        answer.keep_alive, answer.size = keep_alive, len(data)
        answer.data = _head(request.version, status, headers, date, keep_alive) + data
        return answer
    chunked = length is None and request.version == "HTTP/1.1"
    if length is None and not chunked:
        keep_alive = False  # HTTP/1.0 without a length: the body ends with the connection
    if chunked:
        headers = [*headers, ("Transfer-Encoding", "chunked")]
    answer.keep_alive = keep_alive
    head = _head(request.version, status, headers, date, keep_alive)
    answer.data = head
    answer.iterable = _framed(body, iterator, result, chunked, length)
    answer.size = length if length is not None else -1
    return answer


def _framed(first: list[bytes], rest, result, chunked: bool, length: int | None):
    """The body's pieces as they go on the wire (chunk-framed, or cut at ``length``)."""
    left = length
    try:
        for piece in _chain(first, rest):
            if not piece:
                continue
            if left is not None:
                piece = piece[:left]
                left -= len(piece)
            if chunked:
                yield b"%x\r\n" % len(piece)
                yield piece
                yield b"\r\n"
            else:
                yield piece
            if left == 0:
                break
        if chunked:
            yield b"0\r\n\r\n"
        elif left:
            raise ConnectionAbortedError("the application sent fewer bytes than its Content-Length")
    finally:
        _close(result)


def _chain(first, rest):
    yield from first
    yield from rest


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _says_close(headers) -> bool:
    return any(n.lower() == "connection" and "close" in v.lower() for n, v in headers)


def _head(version: str, status: str, headers, date: str, keep_alive: bool) -> bytes:
    code = int(status.split(" ", 1)[0])
    line = f"{version} {status}\r\n".encode("latin-1") if " " in status else status_line(version, code)
    return line + _head_fields(headers, date, keep_alive, version)


def _head_fields(headers, date: str, keep_alive: bool, version: str) -> bytes:
    lines = [f"{name}: {value}\r\n" for name, value in headers
             if name.lower() not in ("connection", "keep-alive", "date")]
    lines.append(f"Date: {date}\r\n")
    if not keep_alive:
        lines.append("Connection: close\r\n")
    elif version == "HTTP/1.0":
        lines.append("Connection: keep-alive\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def _close(result) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001
            log.exception("closing the response failed")
