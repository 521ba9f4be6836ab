"""One client connection: its request heads and bodies are read on the event loop, the
application runs on a request thread, the answer is written back on the loop.

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
import fcntl
import io
import ipaddress
import logging
import os
import socket
import struct
import termios
import threading
import time

from . import http1
from .body import SpooledBody
from .wsgi import Answer, base_environ, run_app

log = logging.getLogger("ecr_emulator.server")
access_log = logging.getLogger("ecr_emulator.access")

#: bytes read per receive (one preallocated buffer per connection)
READ_SIZE = 256 << 10
#: a body up to this size stays in memory; a larger one is spooled to a file
MEMORY_BODY = 1 << 20
#: pipelined bytes held while a request is answered, before reading pauses
PENDING_LIMIT = 1 << 20
#: bytes a request thread may have queued for the loop while streaming an answer
STREAM_QUEUE = 4 << 20
#: bytes per sendfile call (the sweeper sees progress between calls, and in the kernel's send
#: queue during one: :meth:`Connection.unsent`)
SENDFILE_PIECE = 64 << 20
#: bytes read and written per piece when a file answer goes out as a copy (_copies_files)
COPY_PIECE = 4 << 20
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class Connection(asyncio.BufferedProtocol):
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
        # answering
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

    def pause_writing(self) -> None:
        with self._flow:
            self._write_paused = True

    def resume_writing(self) -> None:
        self.send_progress = time.monotonic()
        with self._flow:
            self._write_paused = False
            self._flow.notify_all()

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
        self._body = SpooledBody(self.server.spool_dir(), MEMORY_BODY)
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

    # -- answering ------------------------------------------------------------------------
    def _dispatch(self, body: SpooledBody | None, keep_alive: bool) -> None:
        self.state = "app"
        environ = self._environ
        environ["wsgi.input"] = body.reader() if body is not None else io.BytesIO()
        environ["ecr_emulator.body"] = body
        lock = self.server.inline_lock(environ) if body is None or body.in_memory else None
        if lock is not None:
            try:
                self._work(environ, body, self._request, keep_alive, inline=True)
            finally:
                lock.release()
            return
        self.server.submit(self._work, environ, body, self._request, keep_alive)

    def _work(self, environ, body, request, keep_alive, inline: bool = False) -> None:
        """On a request thread (or, ``inline``, on the loop for a quick in-memory call the app
        offered a free lock for): run the application, then hand the answer to the loop."""
        try:
            answer = run_app(self.server.app, environ, request, keep_alive, self.server.date())
        finally:
            if body is not None:
                body.discard()
        loop = self.server.loop
        if answer.file is None and answer.iterable is None and not answer.abort:
            answer.data = self._write_now(answer.data)
            if not answer.data and self._finish_here(answer):
                self.server.log_access(self, request, answer)
                return
        loop.call_soon_threadsafe(self._answer, answer, request)
        if answer.iterable is not None:  # waits for the loop to take each piece: never on it
            if inline:
                self.server.submit(self._stream, answer, loop)
            else:
                self._stream(answer, loop)

    def _finish_here(self, answer: Answer) -> bool:
        """On the request thread, once its whole answer is in the socket: make the connection
        idle again without waking the loop, when nothing else needs the loop (no pipelined
        bytes, reading not paused, the connection stays open). Only this thread leaves the
        "app" state, and the loop looks at the state under the same lock, so bytes of the
        next request arriving meanwhile are either held (then the loop is asked) or read as
        a new request."""
        with self._flow:
            if (self.closed or not answer.keep_alive or self._request_keep_alive_off or self._pending
                    or not self._reading):
                return False
            self.state, self.since = "idle", time.monotonic()
            self._request = self._environ = None
            return True

    def _write_now(self, data: bytes) -> bytes:
        """On the request thread: send a small answer straight into the socket when nothing
        else is queued on it (plain TCP), so the client need not wait for the loop to wake;
        what does not fit at once is left for the loop. Returns that rest."""
        with self._flow:  # connection_lost closes the descriptor under the same lock
            if self._fd is None or self.closed or self.transport.get_write_buffer_size():
                return data
            try:
                sent = os.write(self._fd, data)
            except (BlockingIOError, InterruptedError):
                return data
            except OSError:
                return data  # the loop meets the broken connection
        return data[sent:]

    def _answer(self, answer: Answer, request) -> None:
        if self.closed:
            if answer.file is not None:
                answer.file.close()
            return
        if answer.abort:
            self.reset()
            return
        self.state, self.send_progress = "send", time.monotonic()
        if answer.data:
            self.transport.write(answer.data)
        if answer.file is not None:
            self.server.loop.create_task(self._send_file(answer, request))
        elif answer.iterable is None:
            self._answered(answer, request)

    def _stream(self, answer: Answer, loop) -> None:
        """On the request thread: write a large iterable answer, never more than
        :data:`STREAM_QUEUE` bytes ahead of what the client takes."""
        timeout = self.server.config.body_timeout
        try:
            for piece in answer.iterable:
                with self._flow:
                    deadline = time.monotonic() + timeout
                    while (self._write_paused or self._queued > STREAM_QUEUE) and not self.closed:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise ConnectionAbortedError("the client stopped reading")
                        self._flow.wait(left)
                    if self.closed:
                        return
                    self._queued += len(piece)
                loop.call_soon_threadsafe(self._write_piece, piece)
        except ConnectionAbortedError:
            loop.call_soon_threadsafe(self.reset)
            return
        except Exception:  # noqa: BLE001 -- the head is out: all that is left is to cut
            log.exception("error streaming the answer to %s %s", answer.status, self._request and self._request.target)
            loop.call_soon_threadsafe(self.reset)
            return
        loop.call_soon_threadsafe(self._answered, answer, self._request)

    def _write_piece(self, piece: bytes) -> None:
        if not self.closed:
            self.transport.write(piece)
            self.send_progress = time.monotonic()
        with self._flow:
            self._queued -= len(piece)
            self._flow.notify_all()

    def unsent(self) -> int | None:
        """Bytes the kernel still holds in this connection's send queue (``SIOCOUTQ``), or None
        where that cannot be read (TLS sends through the transport's own buffer)."""
        if self._fd is None or self.closed:
            return None
        try:
            return struct.unpack("i", fcntl.ioctl(self._fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        except OSError:
            return None

    async def _send_file(self, answer: Answer, request) -> None:
        loop = self.server.loop
        offset, left = answer.offset, answer.count
        self.sending_file = True
        try:
            if self._copies_files():
                await self._copy_file(answer.file.file.fileno(), offset, left)
                left = 0
            while left > 0 and not self.closed:
                sent = await loop.sendfile(self.transport, answer.file.file, offset, min(left, SENDFILE_PIECE))
                if not sent:
                    raise ConnectionAbortedError("the file ended before its Content-Length")
                offset += sent
                left -= sent
                self.send_progress = time.monotonic()
        except (ConnectionError, OSError, RuntimeError) as error:
            log.debug("sending a file to %s stopped: %s", self.peer, error)
            self.reset()
            return
        finally:
            self.sending_file = False
            answer.file.close()
        if not self.closed:
            self._answered(answer, request)

    def _copies_files(self) -> bool:
        """Whether file answers go out as copies instead of ``sendfile``: to a loopback peer over
        plain TCP. There ``sendfile``'s segments, which reference page-cache pages, cost the
        receiving side more than the copy they save (a 256 MiB blob to curl on this kind of
        machine: ~140 ms by sendfile, ~100 ms by 4 MiB writes, CNCF Distribution ~115 ms); to a
        network card, zero-copy wins."""
        if self._fd is None or self.transport.get_write_buffer_size():
            return False
        return self._loopback and self.server.config.copy_files_to_loopback

    async def _copy_file(self, source: int, offset: int, left: int) -> None:
        """Send ``left`` bytes of ``source`` from ``offset`` in pieces of :data:`COPY_PIECE`, each
        written as the socket takes it (waiting for writability on the loop, never a thread)."""
        loop = self.server.loop
        buffer = memoryview(bytearray(min(left, COPY_PIECE)))
        while left > 0 and not self.closed:
            got = os.preadv(source, [buffer[:min(left, COPY_PIECE)]], offset)
            if not got:
                raise ConnectionAbortedError("the file ended before its Content-Length")
            piece, sent = buffer[:got], 0
            while sent < got:
                try:
                    sent += os.write(self._fd, piece[sent:])
                except (BlockingIOError, InterruptedError):
                    writable = loop.create_future()
                    loop.add_writer(self._fd, writable.set_result, None)
                    try:
                        await writable
                    finally:
                        loop.remove_writer(self._fd)
                    if self.closed:
                        return
                self.send_progress = time.monotonic()
            offset += got
            left -= got

    def _answered(self, answer: Answer, request) -> None:
        """The answer is handed to the transport: log it, then the next request or the close."""
        self.server.log_access(self, request, answer)
        if self.closed:
            return
        if not answer.keep_alive or self._request_keep_alive_off:
            self.state = "closing"
            self.transport.close()
            return
        self.state, self.since = "idle", time.monotonic()
        self._request = self._environ = None
        if not self._reading:
            self._reading = True
            self.transport.resume_reading()
        if self._pending:
            pending, self._pending = bytes(self._pending), bytearray()
            try:
                self._consume(memoryview(pending))
            except http1.HttpError as error:
                self._send_error(error.status, error.reason)

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
