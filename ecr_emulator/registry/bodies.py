"""Request bodies in, without extra copies.

:class:`RequestBody` reads ``environ["wsgi.input"]`` directly (werkzeug's ``request.stream``
is empty for a chunked body unless the server sets ``wsgi.input_terminated``) and never
past ``Content-Length`` (werkzeug's dev server hands over the raw socket file). Its ``read``
returns ``bytes`` pieces that the upload session hashes and writes to its file as they
arrive. Under the built-in server the body is already whole (in memory, or in a spool file
the upload takes over by a rename: ``environ["ecr_emulator.body"]``).
"""

from __future__ import annotations

import io

from .oci_errors import RegistryError

#: largest piece read per call when the body length is unknown
READ_SLICE = 4 << 20
#: an unread body up to this size is drained after an error (werkzeug's server); the built-in
#: server has read every body before the application runs
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

    @property
    def remaining(self) -> int | None:
        return None if self.length is None else self.length - self.received

    def read(self, size: int = READ_SLICE) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the body); b"" at the end."""
        want = size if self.length is None else min(size, self.length - self.received)
        if want <= 0 or self._eof:
            return b""
        try:
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


def release_large_buffers_promptly() -> None:
    """Make glibc serve every allocation of 1 MiB or more (blob chunks) with its own mapping,
    returned to the system when freed. Its default raises that threshold as big blocks are
    freed (up to 32 MiB), after which blob chunks come from per-thread heaps that do not
    shrink: a second push on another thread would then need twice the memory. No-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD (also stops the dynamic raise)
    except (OSError, AttributeError):
        pass
