"""Pre-signed blob downloads: ECR's layer bytes come from S3, not from the registry.

ECR answers ``GET /v2/<name>/blobs/<digest>`` with ``307`` to a pre-signed S3 URL, and
``GetDownloadUrlForLayer`` returns such a URL. Here the URL points at the *download listener*, a
third port of this process (``--download-port``, default ``--port`` + 2), so it is another origin
than the registry: a client must follow the redirect *without* the registry's ``Authorization``
header, as it must with S3, and one that sends it is refused the way S3 refuses it.

The URL has S3's query-string authentication form (``identity/presigned.py`` builds it); this module
answers it on the download listener, refusals in S3's XML error form.

Without a download listener (the in-process ``mock_ecr`` without ``registry=True``), nothing can
follow a redirect to another origin: blob GETs are served directly, and GetDownloadUrlForLayer's
URL names the registry's own origin, whose app serves the same path with the same checks.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from ..identity import presigned
from ..identity.tokens import DownloadClaims
from ..store.image_door import linked_blob
from . import http
from .oci_errors import RegistryError


def redirect(emulator, request: Request, claims: DownloadClaims) -> Response | None:
    """ECR's answer to a blob GET: 307 to a pre-signed URL; None when blobs are served directly
    (``--no-blob-redirects``, a HEAD, or no download listener)."""
    if request.method != "GET" or not emulator.settings.blob_redirects:
        return None
    where = presigned.origin(request.scheme, request.host, emulator.download_port)
    if where is None:
        return None
    location = presigned.url(emulator.tokens, where, claims, emulator.backend.clock.now())
    return http.respond(b"", 307, {"Location": location, "Docker-Content-Digest": claims.digest})


# -- the download listener -----------------------------------------------------------------
class S3Error(Exception):
    """An S3 error response: ``code``, ``message`` and extra elements, as S3 writes them."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = headers or {}

    def response(self, method: str) -> Response:
        request_id = uuid.uuid4().hex[:16].upper()
        elements = "".join(f"<{name}>{escape(str(value))}</{name}>"
                           for name, value in (("Code", self.code), ("Message", self.message), *self.extra.items(),
                                               ("RequestId", request_id), ("HostId", request_id)))
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{elements}</Error>'.encode()
        response = Response(b"" if method == "HEAD" else body, status=self.status, content_type="application/xml")
        response.headers["x-amz-request-id"] = request_id
        response.headers["Content-Length"] = str(len(body))
        response.headers.update(self.headers)
        return response


def serve(emulator, request: Request) -> Response:
    """``GET``/``HEAD`` of a pre-signed URL: the bytes (``Range`` too), or S3's refusal."""
    try:
        return _serve(emulator, request)
    except S3Error as error:
        return error.response(request.method)


def _serve(emulator, request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                      Method=request.method, ResourceType="OBJECT")
    args = request.args
    authorization = request.headers.get("Authorization")
    if authorization is not None and "X-Amz-Algorithm" in args:
        raise S3Error(400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                                              "parameter, Signature query string parameter or the Authorization "
                                              "header should be specified",
                      ArgumentName="Authorization", ArgumentValue=authorization)
    if not any(name in args for name in presigned.REQUIRED):
        raise S3Error(403, "AccessDenied", "Access Denied")
    claims = _verify(emulator, request)
    backend = emulator.backend
    with backend.lock:
        state = backend.registry(claims.account, claims.region, claims.kind)
        repo = state.repositories.get(claims.repository)
        blob = linked_blob(repo, backend.blobs, claims.digest) if repo is not None else None
    no_key = S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=request.path.lstrip("/"))
    if blob is None:
        raise no_key
    try:
        return http.serve_blob(request, blob, backend.blobs)
    except RegistryError as error:
        if error.code == "RANGE_INVALID":
            raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                          {"Content-Range": f"bytes */{blob.size}"}, RangeRequested=request.headers.get("Range", ""),
                          ActualObjectSize=str(blob.size)) from None
        raise no_key from None


def _verify(emulator, request: Request) -> DownloadClaims:
    """The claims of a well-signed, unexpired URL; S3's error otherwise."""
    args = request.args
    if any(not args.get(name) for name in presigned.REQUIRED):
        raise S3Error(400, "AuthorizationQueryParametersError",
                      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                      "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
    if args["X-Amz-Algorithm"] != presigned.ALGORITHM:
        raise S3Error(400, "AuthorizationQueryParametersError",
                      f'X-Amz-Algorithm only supports "{presigned.ALGORITHM}"')
    expires_text, date_text = args["X-Amz-Expires"], args["X-Amz-Date"]
    if not expires_text.isdigit() or len(expires_text) > 7:
        raise S3Error(400, "AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    if int(expires_text) > presigned.MAX_EXPIRES:
        raise S3Error(400, "AuthorizationQueryParametersError",
                      f"X-Amz-Expires must be less than a week (in seconds) that is {presigned.MAX_EXPIRES}")
    try:
        signed_at = datetime.strptime(date_text, presigned.DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise S3Error(400, "AuthorizationQueryParametersError",
                      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"") from None
    path = request.path
    expected = emulator.tokens.presign(presigned.string_to_sign(date_text, args["X-Amz-Credential"],
                                                                expires_text, path))
    match = presigned.PATH.match(path)
    if match is None or not hmac.compare_digest(expected, args["X-Amz-Signature"]):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                    "signature you provided. Check your key and signing method.",
                      AWSAccessKeyId=args["X-Amz-Credential"].split("/", 1)[0])
    now = emulator.backend.clock.now()
    expires_at = signed_at + timedelta(seconds=int(expires_text))
    if now > expires_at:
        raise S3Error(403, "AccessDenied", "Request has expired", **{
            "X-Amz-Expires": expires_text, "Expires": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    kind, account, region, digest, repository = match.groups()
    return DownloadClaims(account, region, kind, repository, digest, expires_at)
