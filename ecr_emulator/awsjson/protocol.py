"""The AWS JSON 1.1 request path: one ordered list of small steps.

target -> content type -> JSON body -> authentication -> interceptors -> input shape ->
handler -> output shape, and every failure on the way rendered once, by :func:`error_response`.

Each request is a :class:`Call`, filled in as the steps learn about it. Interceptors (fault
injection) see it once the caller is known and may raise an :class:`AwsError` instead of the
handler's answer; observers (the call log) see it whole once it is answered, errors included.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Request, Response

from .aws_error import (
    AwsError,
    InternalFailure,
    NotImplementedOperationException,
    SerializationException,
    UnknownOperationException,
    ValidationException,
)
from .operations import OperationRegistry
from .services import Service
from .shapes import parse_input, serialize_output

log = logging.getLogger("ecr_emulator.awsjson")

#: default limit on a request body: room for UploadLayerPart's 20 MiB part in base64 (27 MiB)
#: and for PutImage's 4 MiB manifest however its JSON string escapes it
MAX_BODY = 32 << 20
#: the largest body of a call the server may run on its event loop (parsing it is quick)
QUICK_BODY = 64 << 10
JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")
ContextFactory = Callable[[Request, Service], Any]


#: reason phrases of the statuses the control plane answers
_REASONS = {code.value: code.phrase for code in HTTPStatus}


def request_id() -> str:
    """A request id in AWS's form (a version 4 UUID). Drawn from ``random``: an id needs to be
    unique, not secret, and ``uuid4()`` reads the kernel's entropy on every call."""
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


def _error_answer(error: AwsError, request_id: str) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error.error_code,
    }
    return error.status, headers, json.dumps(error.body()).encode()


def error_response(error: AwsError, request_id: str) -> Response:
    status, headers, body = _error_answer(error, request_id)
    return Response(body, status=status, headers=headers)


@dataclass
class Call:
    """One control-plane request, as far as the protocol got with it."""

    request: Request
    request_id: str
    service: Service | None = None
    operation: str = ""
    #: the JSON body as sent (once it was read and parsed)
    params: Any = None
    #: who called (``Caller``), once authenticated
    caller: Any = None
    status: int = 200
    error: AwsError | None = None
    #: the answer's members, on success
    result: dict | None = None
    #: bytes of the request body and of the answer's body (observers bound what they keep by them)
    body_size: int = 0
    answer_size: int = 0


class AwsJsonProtocol:
    """Answers ``POST /`` requests that carry an ``X-Amz-Target`` header."""

    def __init__(self, make_context: ContextFactory, max_body: int = MAX_BODY) -> None:
        self._make_context = make_context
        self.max_body = max_body
        self._by_prefix: dict[str, tuple[Service, OperationRegistry]] = {}
        #: ``interceptor(call)`` before the handler: may raise an AwsError to answer instead
        self.interceptors: list[Callable[[Call], None]] = []
        #: ``observer(call)`` once the call is answered (must not raise; a failure is logged)
        self.observers: list[Callable[[Call], None]] = []

    def add_service(self, service: Service, registry: OperationRegistry) -> None:
        self._by_prefix[service.target_prefix] = (service, registry)

    def services(self) -> list[tuple[Service, OperationRegistry]]:
        return list(self._by_prefix.values())

    @staticmethod
    def handles(environ) -> bool:
        """``POST /``: the AWS JSON door (a request without a target is answered here too).
        Judged on the WSGI environ, so a registry request costs no werkzeug ``Request``."""
        return environ.get("REQUEST_METHOD") == "POST" and (
            not environ.get("PATH_INFO", "").lstrip("/") or "HTTP_X_AMZ_TARGET" in environ)

    def quick(self, environ) -> bool:
        """Whether this request is a call the server may run on its event loop: an operation
        that only computes over memory (:meth:`OperationRegistry.quick`), with a small body."""
        if not self.handles(environ):
            return False
        declared = environ.get("CONTENT_LENGTH", "")
        if not declared.isdigit() or int(declared) > QUICK_BODY:
            return False
        prefix, _, name = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")
        _, registry = self._by_prefix.get(prefix, (None, None))
        return registry is not None and registry.quick(name)

    def __call__(self, request: Request):
        """The answer to ``request`` as a WSGI application (a plain one: a werkzeug
        ``Response`` would cost more than the small JSON answer it carries)."""
        status, headers, body = self.answer(request)

        def respond(environ, start_response):
            start_response(f"{status} {_REASONS.get(status, 'Unknown')}",
                           [*headers.items(), ("Content-Length", str(len(body)))])
            return [body]
        return respond

    def answer(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of the answer to ``request`` (the in-process ``mock_ecr``
        hands them to botocore as they are, without a WSGI response in between)."""
        call = Call(request, request_id())
        try:
            call.result = self._dispatch(call)
            answer = 200, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": call.request_id}, \
                json.dumps(call.result).encode()
        except AwsError as error:
            call.error = error
        except Exception:  # a bug: report it, never pretend
            log.exception("unhandled error in %s", request.headers.get("X-Amz-Target"))
            call.error = InternalFailure("The emulator failed to process the request.")
        if call.error is not None:
            answer = _error_answer(call.error, call.request_id)
        call.status, call.answer_size = answer[0], len(answer[2])
        for observer in self.observers:
            try:
                observer(call)
            except Exception:  # noqa: BLE001 -- an observer's bug must not change the answer
                log.exception("call observer %r failed", observer)
        return answer

    def _dispatch(self, call: Call) -> dict[str, Any]:
        request = call.request
        target = request.headers.get("X-Amz-Target", "")
        if not target:
            raise UnknownOperationException("The request has no X-Amz-Target header naming an operation.")
        prefix, _, name = target.rpartition(".")
        service, registry = self._by_prefix.get(prefix, (None, None))
        operation = service.operation(name) if service else None
        if operation is None:
            raise UnknownOperationException(f"The operation '{target}' is not known to this service.")
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in JSON_CONTENT_TYPES:
            raise UnknownOperationException(
                f"Content-Type '{content_type}' is not supported; send application/x-amz-json-1.1."
            )
        call.service, call.operation = service, name
        raw = _read_body(request, self.max_body)
        call.body_size = len(raw)
        context = self._make_context(request, service)  # authenticates: before anything is parsed
        call.caller = getattr(context, "caller", None)
        call.params = _json(raw)
        for interceptor in self.interceptors:
            interceptor(call)
        members = parse_input(operation.input_shape, call.params)
        if registry.get(name) is None:
            raise NotImplementedOperationException(
                f"{service.name}:{name} is not implemented by ecr-emulator yet "
                "(see `ecr-emulator operations`)."
            )
        result = registry.call(name, context, members)
        return serialize_output(operation.output_shape, result) or {}


def too_large(limit: int) -> ValidationException:
    error = ValidationException(f"The request body is larger than the {limit} bytes accepted for a request.")
    error.status = 413  # Payload Too Large; nothing past the limit is read
    return error


def _read_body(request: Request, limit: int) -> bytes:
    """The body; over ``limit`` bytes it is refused from its Content-Length (or, for a chunked
    body, once ``limit`` bytes were read) without reading the rest. Kept on the request
    (``get_data()``), where a signature check reads it again. Read from the WSGI input
    directly when the length is declared: werkzeug's stream wrappers cost more than the small
    body itself."""
    declared = request.environ.get("CONTENT_LENGTH", "")
    if declared.isdigit():
        if int(declared) > limit:
            raise too_large(limit)
        raw = request.environ["wsgi.input"].read(int(declared)) if declared != "0" else b""
        request._cached_data = raw  # werkzeug's get_data() cache: the stream is consumed
        return raw
    parts, size = [], 0  # chunked: read at most one byte past the limit
    while size <= limit:
        data = request.stream.read(min(1 << 20, limit + 1 - size))
        if not data:
            break
        parts.append(data)
        size += len(data)
    if size > limit:
        raise too_large(limit)
    raw = b"".join(parts)
    request._cached_data = raw  # werkzeug's get_data() cache: the stream is consumed
    return raw


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError):
        raise SerializationException("The request body is not valid JSON.") from None
    except RecursionError:  # nested deeper than the parser can go: the client's fault, not a 500
        raise SerializationException("The request body is nested too deeply.") from None


def _not_json(name: str):
    """``NaN``/``Infinity`` are not JSON (RFC 8259): refused rather than echoed back unparseable."""
    raise ValueError(f"{name} is not JSON")
