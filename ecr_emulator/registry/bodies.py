"""Request bodies in, blob bytes out, without extra copies.

:class:`RequestBody` reads ``environ["wsgi.input"]`` directly (werkzeug's ``request.stream``
is empty for a chunked body unless the server sets ``wsgi.input_terminated``) and never
past ``Content-Length`` (werkzeug's dev server hands over the raw socket file). It offers
``readinto`` so an upload of known length lands in one preallocated buffer. Under gunicorn,
whose body object only has ``read()`` (several copies through ``BytesIO`` per call), a body
of known length is received with ``recv_into`` straight from the connection's socket, after
the bytes gunicorn already buffered; gunicorn's own length counter is kept in step so its
keep-alive handling sees a consumed body.

:func:`blob_chunks` serves stored bytes in big slices (WSGI servers want ``bytes``, so each
slice is copied once; a slice that is a whole ``bytes`` chunk is passed as it is).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from .errors import RegistryError

#: largest piece handed to the WSGI server per write when serving a blob
SEND_SLICE = 8 << 20
#: largest piece read per call when the body length is unknown
READ_SLICE = 4 << 20
#: an unread body up to this size is drained after an error; gunicorn drains up to 64 KiB
#: itself and closes the connection past that, werkzeug's server closes every connection
DRAIN_LIMIT = 64 << 10


class BodyError(Exception):
    """Reading the request body failed: the connection broke or the chunked framing is bad."""


class RequestBody:
    """The body of the current request: ``length`` is None for ``Transfer-Encoding: chunked``."""

    def __init__(self, environ) -> None:
        self._stream = environ.get("wsgi.input") or io.BytesIO()
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        raw = environ.get("CONTENT_LENGTH") or ""
        if chunked:
            self.length: int | None = None
        elif not raw.strip():
            self.length = 0
        else:
            try:
                self.length = int(raw)
            except ValueError:
                raise RegistryError("BLOB_UPLOAD_INVALID", f"invalid Content-Length {raw!r}") from None
            if self.length < 0:
                raise RegistryError("BLOB_UPLOAD_INVALID", f"invalid Content-Length {raw!r}")
        self.received = 0
        self._eof = self.length == 0
        self._socket = _gunicorn_socket(self._stream) if self.length else None

    @property
    def remaining(self) -> int | None:
        return None if self.length is None else self.length - self.received

    @property
    def finished(self) -> bool:
        return self._eof or self.remaining == 0

    def readinto(self, view) -> int:
        """Fill the start of ``view`` with the next body bytes; 0 at the end of the body."""
        want = len(view) if self.length is None else min(len(view), self.length - self.received)
        if want <= 0 or self._eof:
            return 0
        try:
            if self._socket is not None:
                got = self._socket.readinto(view[:want])
            else:
                readinto = getattr(self._stream, "readinto", None)
                if readinto is not None:
                    got = readinto(view[:want]) or 0
                else:
                    data = self._stream.read(want)
                    got = len(data)
                    view[:got] = data
        except Exception as error:  # the server's reader: socket errors, bad chunk framing
            raise BodyError(f"{type(error).__name__}: {error}") from error
        if got == 0:
            self._eof = True
        self.received += got
        return got

    def read(self, size: int = READ_SLICE) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the body); b"" at the end."""
        want = size if self.length is None else min(size, self.length - self.received)
        if want <= 0 or self._eof:
            return b""
        try:
            if self._socket is not None:
                buffer = bytearray(want)
                got = self._socket.readinto(memoryview(buffer))
                data = bytes(buffer[:got])
            else:
                data = self._stream.read(want)
        except Exception as error:  # the server's reader: socket errors, bad chunk framing
            raise BodyError(f"{type(error).__name__}: {error}") from error
        if not data:
            self._eof = True
        self.received += len(data)
        return data

    def read_limited(self, limit: int) -> bytes | None:
        """The whole body if it is at most ``limit`` bytes, else None (the rest left unread)."""
        if self.length is not None and self.length > limit:
            return None
        parts, size = [], 0
        while True:
            data = self.read(min(READ_SLICE, limit + 1 - size))
            if not data:
                return b"".join(parts)
            parts.append(data)
            size += len(data)
            if size > limit:
                return None

    def drain(self) -> None:
        """Read and drop a small unread rest so a keep-alive connection stays in step."""
        if self.length is not None and self.remaining is not None and 0 < self.remaining <= DRAIN_LIMIT:
            while self.read(DRAIN_LIMIT):
                pass


class _GunicornSocketReader:
    """``recv_into`` on the connection of a gunicorn request whose body has a known length."""

    def __init__(self, body, reader, unreader, sock) -> None:
        self._body, self._reader, self._unreader, self._sock = body, reader, unreader, sock

    def readinto(self, view) -> int:
        want = min(len(view), self._reader.length)
        if want <= 0:
            return 0
        buffered = self._unreader.buf.getvalue()
        if buffered:
            got = min(len(buffered), want)
            view[:got] = buffered[:got]
            rest = io.BytesIO()
            rest.write(buffered[got:])
            self._unreader.buf = rest
        else:
            got = self._sock.recv_into(view[:want])
        self._reader.length -= got
        return got


def _gunicorn_socket(stream) -> _GunicornSocketReader | None:
    """The socket reader for gunicorn's ``Body`` over a ``LengthReader``, if that is what
    ``stream`` is and nothing was read from it yet; None otherwise (the portable path)."""
    reader = getattr(stream, "reader", None)
    unreader = getattr(reader, "unreader", None)
    sock = getattr(unreader, "sock", None)
    if (type(stream).__module__ != "gunicorn.http.body" or type(reader).__name__ != "LengthReader"
            or not isinstance(getattr(reader, "length", None), int)
            or not isinstance(getattr(stream, "buf", None), io.BytesIO) or stream.buf.getvalue()
            or not isinstance(getattr(unreader, "buf", None), io.BytesIO)
            or not hasattr(sock, "recv_into")):
        return None
    return _GunicornSocketReader(stream, reader, unreader, sock)


def blob_chunks(blob, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes ``[start, end)`` of ``blob`` as ``bytes`` slices of at most :data:`SEND_SLICE`."""
    for view in blob.iter_bytes(start, end):
        obj = view.obj
        if isinstance(obj, bytes) and len(view) == len(obj):
            yield obj
            continue
        for offset in range(0, len(view), SEND_SLICE):
            yield bytes(view[offset:offset + SEND_SLICE])
