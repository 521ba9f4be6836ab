"""Small HTTP helpers shared by the views: responses, references, Range, pagination."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from ..store.digests import is_digest, is_sha256
from .oci_errors import API_VERSION_HEADER, RegistryError

#: OCI tag grammar (ECR allows tags of up to 300 characters)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$")
#: the most entries one page of tags/list or _catalog may ask for (ECR's maxResults limit)
MAX_PAGE = 1000
DEFAULT_PAGE = 100


def respond(body=b"", status: int = 200, headers: dict[str, str] | None = None,
            content_type: str | None = None, length: int | None = None) -> Response:
    response = Response(body, status=status, content_type=content_type, direct_passthrough=True)
    response.headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if length is not None:
        response.headers["Content-Length"] = str(length)
    elif isinstance(body, bytes):
        response.headers["Content-Length"] = str(len(body))
    if content_type is None:
        response.headers.pop("Content-Type", None)
    return response


def respond_json(data, status: int = 200, headers: dict[str, str] | None = None,
                 content_type: str = "application/json; charset=utf-8") -> Response:
    return respond(json.dumps(data).encode(), status, headers, content_type)


# -- references --------------------------------------------------------------------------
def digest(value: str) -> str:
    """A well-formed sha256 digest, or DIGEST_INVALID."""
    if not is_digest(value):
        raise RegistryError("DIGEST_INVALID", f"invalid digest '{value}'", detail={"digest": value})
    if not is_sha256(value):
        raise RegistryError("DIGEST_INVALID", f"unsupported digest '{value}': only sha256 digests are stored",
                            detail={"digest": value})
    return value


def reference(value: str) -> tuple[str | None, str | None]:
    """``(tag, None)`` or ``(None, digest)`` for a manifest reference."""
    if ":" in value:
        return None, digest(value)
    if not TAG.match(value):
        raise RegistryError("TAG_INVALID", f"invalid tag '{value}'", detail={"tag": value})
    return value, None


# -- Range ---------------------------------------------------------------------------------
#: a byte position with more digits than this is past the end of any blob (Python refuses to
#: parse integers of thousands of digits, and there is no blob that large anyway)
_MAX_DIGITS = 18


def position(text: str) -> int:
    """A byte position from a ``Range`` or ``Content-Range`` header; absurdly long numbers
    become 10**18 (past the end of any blob) instead of failing to parse."""
    stripped = text.lstrip("0") or "0"
    return int(stripped) if len(stripped) <= _MAX_DIGITS else 10 ** _MAX_DIGITS


_BYTES_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.I)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` for a single ``Range: bytes=...``; None to serve everything (no header,
    a header this parser ignores, or a multi-range); RANGE_INVALID (416) when unsatisfiable."""
    if not header:
        return None
    match = _BYTES_RANGE.match(header)
    if not match or (not match[1] and not match[2]):
        return None
    if not match[1]:  # suffix: the last N bytes
        count = position(match[2])
        if count == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(size - count, 0), size
    start = position(match[1])
    end = position(match[2]) + 1 if match[2] else size
    if end <= start and match[2]:
        return None  # syntactically invalid: ignored, as RFC 9110 says
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, min(end, size)


def _unsatisfiable(header: str, size: int) -> RegistryError:
    return RegistryError("RANGE_INVALID", f"range '{header}' is not satisfiable for a blob of {size} bytes",
                         headers={"Content-Range": f"bytes */{size}"})


def serve_blob(request: Request, blob, store, headers: dict[str, str] | None = None) -> Response:
    """A blob with its digest headers; a single byte range answers 206. The bytes come from the
    store's memory cache when the blob is small enough, else from its file (:func:`send_file`)."""
    headers = {
        "Docker-Content-Digest": blob.digest,
        "ETag": f'"{blob.digest}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
        **(headers or {}),
    }
    span = byte_range(request.headers.get("Range"), blob.size)
    status, (start, end) = 200, (0, blob.size)
    if span is not None:
        status, (start, end) = 206, span
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{blob.size}"
    body = b""
    if request.method != "HEAD":
        try:
            data = store.cached(blob)
            body = (data if (start, end) == (0, len(data)) else data[start:end]) if data is not None \
                else send_file(request.environ, blob.open(), start, end - start)
        except FileNotFoundError:  # freed by a collection since it was looked up
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": blob.digest}) from None
    return respond(body, status, headers, "application/octet-stream", length=end - start)


#: block size handed to the WSGI file wrapper (used when the server cannot sendfile, e.g. TLS)
FILE_BLOCK = 1 << 20


def send_file(environ, f, start: int, length: int):
    """``length`` bytes of the open file ``f`` from ``start``, as the response body.

    With a ``wsgi.file_wrapper`` that sends no more than the ``Content-Length`` the caller sets
    (the built-in server's, with ``os.sendfile`` from the file's current position: zero copies
    through Python, for any range) the file is handed over whole. Otherwise (werkzeug's
    server, the in-process mock) it is read in pieces of :data:`FILE_BLOCK`, never past
    ``length``."""
    f.seek(start)
    wrapper = environ.get("wsgi.file_wrapper")
    if getattr(wrapper, "bounded_by_content_length", False):
        return wrapper(f, FILE_BLOCK)
    return _pieces(f, length)


def _pieces(f, length: int):
    try:
        while length > 0:
            data = f.read(min(FILE_BLOCK, length))
            if not data:
                raise OSError(f"{f.name} ended {length} bytes early")
            length -= len(data)
            yield data
    finally:
        f.close()


# -- pagination (tags/list, _catalog) ------------------------------------------------------
def page(items: list[str], request: Request) -> tuple[list[str], dict[str, str]]:
    """One page of the sorted ``items`` for ``?n=&last=``, and its RFC 5988 ``Link`` header."""
    raw = request.args.get("n")
    if raw is None or raw == "":
        count = DEFAULT_PAGE
    else:
        try:
            count = int(raw)
        except ValueError:
            count = -1
        if count < 0:
            raise RegistryError("PAGINATION_NUMBER_INVALID", f"invalid number of results requested: '{raw}'",
                                detail={"n": raw})
        if count > MAX_PAGE:
            raise RegistryError("PAGINATION_NUMBER_INVALID",
                                "Invalid parameter at 'maxResults' failed to satisfy constraint: "
                                f"'Member must have value less than or equal to {MAX_PAGE}'", detail={"n": raw})
    last = request.args.get("last")
    start = bisect_right(items, last) if last else 0
    chunk = items[start:start + count]
    headers = {}
    if count and start + count < len(items):
        headers["Link"] = f'<{quote(request.path)}?n={count}&last={quote(chunk[-1], safe="")}>; rel="next"'
    return chunk, headers
