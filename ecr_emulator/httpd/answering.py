"""The answering side of a connection (:class:`~.connection.Connection` mixes it in): run the
application, then get its answer into the socket with as little of the loop as it needs.

The reading side (:mod:`.connection`) hands a whole request to :meth:`Answering._dispatch`,
which moves the connection to the ``app`` state; from there an answer takes one of four ways,
chosen by what :func:`.wsgi.run_app` planned:

- a small answer is written by the request thread itself straight into the socket
  (:meth:`~Answering._write_now`, plain TCP only), and when it went out whole the thread makes
  the connection idle again (:meth:`~Answering._finish_here`): the loop never wakes for it;
- what did not fit, or an answer over TLS, is written by the loop (:meth:`~Answering._answer`);
- a ``wsgi.file_wrapper`` answer goes out with ``sendfile`` in pieces, so the sweeper sees
  progress between them and, during one, in the kernel's send queue (:meth:`~Answering.unsent`);
- a large iterable is streamed by the request thread with flow control: it never runs more
  than :data:`STREAM_QUEUE` bytes ahead of what the client takes (``pause_writing`` /
  ``resume_writing``), and a client that stops reading for ``body_timeout`` is cut.

A mixin rather than a helper object so the hot path stays plain method calls on one object:
the state, the lock (``_flow``) and the transport are the connection's own.
"""

from __future__ import annotations

import fcntl
import io
import logging
import mmap
import os
import struct
import termios
import time

from . import http1
from .body import SpooledBody
from .wsgi import Answer, run_app

log = logging.getLogger("ecr_emulator.server")

#: bytes a request thread may have queued for the loop while streaming an answer
STREAM_QUEUE = 4 << 20
#: the largest piece handed to the transport at once: a bigger one (a blob from the memory
#: cache is one bytes object) is sent in slices, since the transport keeps what the socket has
#: not taken in one buffer it shifts after every send
STREAM_SLICE = 1 << 20
#: bytes per sendfile call (the sweeper sees progress between calls, and in the kernel's send
#: queue during one: :meth:`Answering.unsent`)
SENDFILE_PIECE = 64 << 20
#: bytes of a file mapped at a time when a file answer goes out as a copy (_copies_files)
MAP_WINDOW = 16 << 20


class Answering:
    """Methods of :class:`~.connection.Connection` that answer a request. They use its state
    (``state``, ``since``, ``closed``, ``_flow``, ``_fd``, ``_pending``, ``_reading``...) and,
    once an answer is out, go back to its reading side (``_consume``, ``_send_error``,
    ``reset``); :class:`~.connection.Connection` sets every attribute in its ``__init__``."""

    # -- asyncio's flow control of writes ----------------------------------------------
    def pause_writing(self) -> None:
        with self._flow:
            self._write_paused = True

    def resume_writing(self) -> None:
        self.send_progress = time.monotonic()
        with self._flow:
            self._write_paused = False
            self._flow.notify_all()

    # -- running the application ---------------------------------------------------------
    def _dispatch(self, body: SpooledBody | None, keep_alive: bool) -> None:
        """The request is whole (or answered from its head alone): run the application on the
        loop when it offers a lock the loop can take without waiting, else on a request thread."""
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

    # -- writing the answer ----------------------------------------------------------------
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
            for piece in _slices(answer.iterable):
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
        machine: ~140 ms by sendfile, ~85 ms written from a mapping of the file, CNCF Distribution
        ~105 ms); to a network card, zero-copy wins."""
        if self._fd is None or self.transport.get_write_buffer_size():
            return False
        return self._loopback and self.server.config.copy_files_to_loopback

    async def _copy_file(self, source: int, offset: int, left: int) -> None:
        """Send ``left`` bytes of ``source`` from ``offset``: the file is mapped a window of
        :data:`MAP_WINDOW` at a time and written to the socket as it takes it, so the kernel
        copies straight from the page cache into the socket (no copy through a buffer of ours),
        waiting for writability on the loop, never on a thread. Blob files never change once
        written (content-addressed, replaced by rename), so a window cannot shrink under us; one
        shorter than the answer is refused before mapping (reading a mapping past the end of its
        file would end the process)."""
        loop = self.server.loop
        if os.fstat(source).st_size < offset + left:
            raise ConnectionAbortedError("the file is shorter than its Content-Length")
        while left > 0 and not self.closed:
            start = offset - offset % mmap.ALLOCATIONGRANULARITY
            span = min(left + offset - start, MAP_WINDOW)
            got = span - (offset - start)
            window = mmap.mmap(source, span, prot=mmap.PROT_READ, offset=start)
            try:
                window.madvise(mmap.MADV_SEQUENTIAL)
                failure = await self._write_all(memoryview(window)[offset - start:], loop)
            finally:
                try:
                    window.close()
                except BufferError:  # a view of it is still referenced: unmapped when that goes
                    pass
            if failure is not None:
                raise failure
            offset += got
            left -= got

    async def _write_all(self, data: memoryview, loop) -> OSError | None:
        """Write ``data`` to the socket as it takes it (stops quietly if the connection closes).
        A failure is returned, not raised, and without its traceback: a traceback would keep
        ``data`` (a view of the caller's mapping) alive past the mapping's close."""
        sent = 0
        try:
            while sent < len(data) and not self.closed:
                try:
                    sent += os.write(self._fd, data[sent:])
                except (BlockingIOError, InterruptedError):
                    writable = loop.create_future()
                    loop.add_writer(self._fd, writable.set_result, None)
                    try:
                        await writable
                    finally:
                        loop.remove_writer(self._fd)
                    continue
                except OSError as error:
                    return error.with_traceback(None)
                self.send_progress = time.monotonic()
            return None
        finally:
            data.release()

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


def _slices(pieces):
    """``pieces``, with each one larger than :data:`STREAM_SLICE` cut into views of that size."""
    for piece in pieces:
        if len(piece) <= STREAM_SLICE:
            yield piece
            continue
        view = memoryview(piece)
        for start in range(0, len(view), STREAM_SLICE):
            yield view[start:start + STREAM_SLICE]
