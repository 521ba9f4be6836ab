"""HTTP/1.1 wire format: request heads, chunked bodies, response heads (RFC 9112).

Pure functions and a small decoder, no I/O: the connection feeds them bytes. A malformed
request raises :class:`HttpError` with the status the server answers (and then closes).
"""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

#: most bytes of a request line, and of one header line (gunicorn's and nginx's order of size)
MAX_LINE = 8190
#: most header fields in one request
MAX_HEADERS = 100
#: most bytes of a whole request head
MAX_HEAD = 64 << 10
#: most bytes of a chunk-size line (with extensions) and of the trailer section
MAX_CHUNK_LINE = 1024
MAX_TRAILERS = 16 << 10



class HttpError(Exception):
    """The request cannot be served: answer ``status`` with ``reason`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def head_end(buf: bytearray | bytes) -> int:
    """Where the head in ``buf`` ends (just past its blank line), or -1 while incomplete."""
    end = buf.find(b"\r\n\r\n")
    alt = buf.find(b"\n\n")
    if alt >= 0 and (end < 0 or alt + 2 < end + 4):
        return alt + 2
    return end + 4 if end >= 0 else -1


def looks_like_http(buf: bytes) -> bool:
    """Whether ``buf`` can begin an HTTP/1 request (a TLS hello on the plain port cannot)."""
    stripped = buf.lstrip(b"\r\n")
    return not stripped or 0x41 <= stripped[0] <= 0x5A  # a method starts with an upper-case letter


class Request:
    """A parsed request head."""

    __slots__ = ("method", "target", "version", "headers", "keep_alive", "length", "chunked", "expect_continue")

    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]]) -> None:
        self.method, self.target, self.version, self.headers = method, target, version, headers
        self.length: int | None = 0
        self.chunked = False
        self.keep_alive = version == "HTTP/1.1"
        self.expect_continue = False


#: one header field line (RFC 9110 §5.1, §5.5), decoded as latin-1: name, value without the
#: optional white space around it
_FIELD = r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)[ \t]*\r?\n"
_FIELDS = re.compile(f"(?:{_FIELD})*")
_FIELD_LINE = re.compile(_FIELD)


def parse_head(raw: bytes) -> Request:
    """The request in ``raw`` (a whole head, blank line included). The head is decoded once and
    its header block checked and split by two regular-expression passes: this runs for every
    request on the event loop."""
    text = raw.lstrip(b"\r\n").decode("latin-1")
    line_end = text.find("\n")
    request_line = text[:line_end].rstrip("\r")
    if len(request_line) > MAX_LINE:
        raise HttpError(414, "request line too long")
    parts = request_line.split(" ")
    if len(parts) != 3 or not _TOKEN_STR.fullmatch(parts[0]) or not parts[1]:
        raise HttpError(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        if version.startswith("HTTP/"):
            raise HttpError(505, "HTTP version not supported")
        raise HttpError(400, "malformed request line")
    if _BAD_TARGET.search(target):
        raise HttpError(400, "malformed request target")
    block = text[line_end + 1:]
    block = block[:-2] if block.endswith("\r\n") else block[:-1]  # the blank line
    if _FIELDS.fullmatch(block) is None or (len(block) > MAX_LINE and
                                            max(map(len, block.split("\n"))) > MAX_LINE):
        _refuse_fields(block)
    fields = _FIELD_LINE.findall(block)
    if len(fields) > MAX_HEADERS:
        raise HttpError(431, "too many header fields")
    request = Request(method, target, version, [(name.lower(), value) for name, value in fields])
    _framing(request)
    return request


_TOKEN_STR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")


def _refuse_fields(block: str) -> None:
    """Why a header block that is not all field lines is refused (the status of its first bad line)."""
    for line in block.split("\n"):
        if len(line) > MAX_LINE:
            raise HttpError(431, "header line too long")
        if line[:1] in (" ", "\t"):
            raise HttpError(400, "obsolete header line folding")
    raise HttpError(400, "malformed header line")


def _framing(request: Request) -> None:
    """Body framing and connection persistence from the headers (RFC 9112 §6, §9.3)."""
    lengths, codings, connection = [], [], []
    for name, value in request.headers:
        if name == "content-length":
            lengths.append(value)
        elif name == "transfer-encoding":
            codings.extend(c.strip().lower() for c in value.split(",") if c.strip())
        elif name == "connection":
            connection.extend(c.strip().lower() for c in value.split(","))
        elif name == "expect" and value.strip().lower() == "100-continue":
            request.expect_continue = request.version == "HTTP/1.1"
    if codings:
        if lengths:  # both framings: the request-smuggling shape, refused
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        if codings[-1] != "chunked" or request.version != "HTTP/1.1":
            raise HttpError(501, "unsupported Transfer-Encoding")
        if codings != ["chunked"]:
            raise HttpError(501, "unsupported Transfer-Encoding")
        request.chunked, request.length = True, None
    elif lengths:
        if len({v for v in lengths}) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
            raise HttpError(400, "invalid Content-Length")
        request.length = int(lengths[0])
    if "close" in connection:
        request.keep_alive = False
    elif request.version == "HTTP/1.0":
        request.keep_alive = "keep-alive" in connection


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target (origin form; absolute form reduced to its path)."""
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    return path, query


def wsgi_path(path: str) -> str:
    """PATH_INFO: the percent-decoded path as WSGI wants it (bytes as latin-1 characters)."""
    return unquote_to_bytes(path).decode("latin-1") if "%" in path else path


class ChunkedDecoder:
    """Decodes a ``Transfer-Encoding: chunked`` body fed in pieces; ``feed`` returns the data
    bytes of the piece (views into it) and how much of it the body used (the rest belongs to
    the next request)."""

    def __init__(self) -> None:
        self._state = "size"
        self._line = bytearray()
        self._left = 0
        self.done = False

    def feed(self, data: memoryview) -> tuple[list[memoryview], int]:
        out: list[memoryview] = []
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._state == "data":
                take = min(self._left, end - pos)
                out.append(data[pos:pos + take])
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state = "data-end"
                continue
            newline = bytes(data[pos:min(end, pos + MAX_TRAILERS + 2)]).find(b"\n")
            if newline < 0:
                self._line += data[pos:end]
                pos = end
                limit = MAX_TRAILERS if self._state == "trailer" else MAX_CHUNK_LINE
                if len(self._line) > limit:
                    raise HttpError(400, "malformed chunked body")
                continue
            self._line += data[pos:pos + newline]
            pos += newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            self._line_done(line)
        return out, pos

    def _line_done(self, line: bytes) -> None:
        if self._state == "size":
            size = line.split(b";", 1)[0].strip()
            if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
                raise HttpError(400, "malformed chunk size")
            self._left = int(size, 16)
            self._state = "data" if self._left else "trailer"
        elif self._state == "data-end":
            if line:
                raise HttpError(400, "malformed chunked body")
            self._state = "size"
        elif self._state == "trailer":
            if not line:
                self.done = True


class DateHeader:
    """The ``Date`` header value, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True)
        return self._value


def status_line(version: str, status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return f"{version} {status} {phrase}\r\n".encode("latin-1")


def error_response(status: int, reason: str, date: str) -> bytes:
    """The server's own answer to a request it cannot serve (then it closes)."""
    body = f"{reason}\n".encode("latin-1", "replace")
    return (status_line("HTTP/1.1", status)
            + f"Date: {date}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
              f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)
