"""One client connection: its request heads and bodies are read on the event loop, the
application runs on a request thread, the answer is written back on the loop. This module is
the reading side and the connection's life (its states, ending it); :mod:`.answering`, mixed
into the same class, is the answering side.

A connection is always in one state, which the server's sweeper judges against a deadline:

- ``idle``: no byte of a request yet (new, or kept alive): closed after ``idle_timeout``; the
  first to go when the server is full;
- ``head``: a head is arriving: it must be whole within ``header_timeout`` of its first byte;
- ``body``: the body is arriving: it must keep moving (``body_timeout`` without a byte ends it)
  and keep a minimum rate (``body_min_rate`` bytes/s after a grace of ``body_timeout``), within
  ``body_max_seconds`` in all;
- ``app``: the application runs (no deadline: that is the application's own work);
- ``send``: the answer is going out: a client that stops reading for ``body_timeout`` is cut.

So a client that connects and says nothing, drips a head or a body, or stops reading costs a
socket and a small buffer, never a request thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import struct
import threading
import time

from . import http1
from .answering import Answering
from .body import SpooledBody
from .wsgi import base_environ

log = logging.getLogger("ecr_emulator.server")
access_log = logging.getLogger("ecr_emulator.access")

#: bytes read per receive (one preallocated buffer per connection)
READ_SIZE = 256 << 10
#: a body up to this size stays in memory; a larger one is spooled to a file
MEMORY_BODY = 1 << 20
#: pipelined bytes held while a request is answered, before reading pauses
PENDING_LIMIT = 1 << 20
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _is_loopback(address: str) -> bool:
    """Whether the peer is this machine (``::ffff:127.0.0.1`` too, on a dual-stack listener)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


class Connection(Answering, asyncio.BufferedProtocol):
    def __init__(self, server, listener: tuple[str, int], scheme: str) -> None:
        self.server = server
        self.listener = listener
        self.scheme = scheme
        self.transport = None
        self.peer = None
        self.state = "idle"
        self.since = time.monotonic()
        self.last_progress = self.since
        self._buffer = bytearray(READ_SIZE)
        self._view = memoryview(self._buffer)
        self._head = bytearray()
        self._scanned = 0
        self._pending = bytearray()
        self._reading = True
        self._request: http1.Request | None = None
        self._environ: dict | None = None
        self._body: SpooledBody | None = None
        self._decoder: http1.ChunkedDecoder | None = None
        self._remaining = 0
        self._limit: int | None = None
        self.received = 0
        self.body_started = 0.0
        self.request_started = 0.0
        # answering (:mod:`.answering`)
        self.sending_file = False
        self.write_buffer = 0
        self.send_progress = 0.0
        self._flow = threading.Condition()
        self._write_paused = False
        self._queued = 0
        self.closed = False
        self._fd: int | None = None
        self._loopback = False
        #: the client half-closed while its request was answered: close after the answer
        self._request_keep_alive_off = False

    # -- asyncio callbacks ------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        # plain TCP: small answers may be written by the request thread (see _write_now), on
        # a descriptor of its own, so a number the loop closed and reused is never written to
        raw = transport.get_extra_info("socket") if transport.get_extra_info("sslcontext") is None else None
        if raw is not None:
            try:
                self._fd = os.dup(raw.fileno())
            except OSError:
                self._fd = None
        self._loopback = bool(self.peer) and _is_loopback(self.peer[0])
        if not self.server.admit(self):
            self._send_error(503, "the server holds as many connections as it may; try again")

    def connection_lost(self, exc) -> None:
        with self._flow:
            self.closed = True
            self._flow.notify_all()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self.server.forget(self)
        if self.state in ("head", "body", "idle") and self._body is not None:
            self._body.discard()
            self._body = None

    def get_buffer(self, sizehint: int):
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        self.last_progress = time.monotonic()
        data = self._view[:nbytes]
        with self._flow:  # a request thread may end the "app" state meanwhile (_finish_here)
            if self.state in ("app", "send"):
                self._hold(data)
                return
        try:
            self._consume(data)
        except http1.HttpError as error:
            self._send_error(error.status, error.reason)

    def eof_received(self):
        """The client half-closed. A request whose head is in but whose body stopped short
        still gets its answer: the application sees the body that came with a length one
        past it (or the declared one), so it refuses the truncated body as it would a broken
        stream (e.g. BLOB_UPLOAD_INVALID) instead of the client hearing nothing. Otherwise
        the connection closes once any answer under way is out."""
        if self.state == "body" and self._body is not None:
            body, self._body = self._body, None
            body.finish()
            declared = self._request.length
            self._environ["CONTENT_LENGTH"] = str(declared if declared is not None else body.size + 1)
            self._dispatch(body, keep_alive=False)
            return True
        with self._flow:
            if self.state in ("app", "send"):
                self._request_keep_alive_off = True
                return True
        return False

    # -- reading requests ---------------------------------------------------------------
    def _hold(self, data) -> None:
        """Bytes of a pipelined next request, kept until the current one is answered."""
        self._pending += data
        if len(self._pending) > PENDING_LIMIT and self._reading:
            self._reading = False
            self.transport.pause_reading()

    def _consume(self, data: memoryview) -> None:
        while data:
            state = self.state
            if state == "idle" or state == "head":
                data = self._take_head(data)
            elif state == "body":
                data = data[self._take_body(data):]
            else:
                self._hold(data)
                return

    def _take_head(self, data: memoryview) -> memoryview:
        if self.state == "idle":
            skip = 0
            while skip < len(data) and data[skip] in (10, 13):
                skip += 1  # blank lines before a request are ignored (RFC 9112 §2.2)
            data = data[skip:]
            if not data:
                return data
            if not http1.looks_like_http(bytes(data[:1])):
                self.server.probe(self.peer)
                self._send_error(400, "not an HTTP/1.1 request (TLS?)")
                return memoryview(b"")
            self.state, self.since = "head", time.monotonic()
        self._head += data
        end = http1.head_end(memoryview(self._head)[max(0, self._scanned - 3):].tobytes())
        if end < 0:
            self._scanned = len(self._head)
            if len(self._head) > http1.MAX_HEAD:
                raise http1.HttpError(431, "request head too large")
            return memoryview(b"")
        end += max(0, self._scanned - 3)
        raw, rest = bytes(self._head[:end]), bytes(self._head[end:])
        self._head.clear()
        self._scanned = 0
        self._begin(http1.parse_head(raw))
        return memoryview(rest)

    def _begin(self, request: http1.Request) -> None:
        self.request_started = time.monotonic()
        self._request = request
        self._environ = environ = base_environ(request, self.listener, self.peer, self.scheme)
        length = request.length
        if length == 0:
            self._dispatch(None, request.keep_alive)
            return
        self._limit = self.server.body_limit(environ)
        if length is not None and self._limit is not None and length > self._limit:
            self._too_large()
            return
        self._body = SpooledBody(self.server.spool_dir(), MEMORY_BODY, self.server.hashes_body(environ))
        self._decoder = http1.ChunkedDecoder() if request.chunked else None
        self._remaining = length or 0
        self.received = 0
        self.state = "body"
        self.body_started = self.since = time.monotonic()
        if request.expect_continue:
            self.transport.write(_CONTINUE)

    def _take_body(self, data: memoryview) -> int:
        if self._decoder is not None:
            pieces, used = self._decoder.feed(data)
            for piece in pieces:
                if not self._store(piece):
                    return len(data)
            if self._decoder.done:
                self._body_done()
            return used
        take = min(self._remaining, len(data))
        if not self._store(data[:take]):
            return len(data)
        self._remaining -= take
        if self._remaining == 0:
            self._body_done()
        return take

    def _store(self, piece) -> bool:
        """Keep ``piece`` of the body; False when the request was answered instead."""
        try:
            self._body.write(piece)
        except OSError as error:
            self._body.discard()
            self._body = None
            log.warning("cannot keep a request body: %s", error)
            self._send_error(507, f"the server cannot store the request body: {error.strerror or error}")
            return False
        self.received += len(piece)
        if self._limit is not None and self.received > self._limit:
            self._body.discard()
            self._body = None
            self._too_large()
            return False
        return True

    def _too_large(self) -> None:
        """Over the application's body limit: it answers from the headers alone (it sees a
        length past its limit and no body), and the connection closes after the answer."""
        self._environ["CONTENT_LENGTH"] = str(max(self._request.length or 0, (self._limit or 0) + 1))
        self._dispatch(None, keep_alive=False)

    def _body_done(self) -> None:
        body, self._body = self._body, None
        body.finish()
        self._environ["CONTENT_LENGTH"] = str(body.size)
        self._dispatch(body, self._request.keep_alive)

    # -- ending ---------------------------------------------------------------------------
    def _send_error(self, status: int, reason: str) -> None:
        """The server's own answer (a bad request, a stalled one, no room): then close."""
        if self.closed or self.state == "closing":
            return
        if self._body is not None:
            self._body.discard()
            self._body = None
        self.state = "closing"
        self.transport.write(http1.error_response(status, reason, self.server.date()))
        self.transport.close()

    def timed_out(self, status: int, reason: str) -> None:
        self._send_error(status, reason)

    def close(self) -> None:
        if not self.closed and self.state != "closing":
            self.state = "closing"
            self.transport.close()

    def reset(self) -> None:
        """Cut the connection at once with a TCP reset (nothing more is sent)."""
        if self.closed:
            return
        self.state = "closing"
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.transport.abort()
