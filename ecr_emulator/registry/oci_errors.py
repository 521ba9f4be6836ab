"""OCI distribution errors: one table, one renderer, one mapping from the store's AWS errors.

Views raise :class:`RegistryError` with a code from :data:`ERRORS` (or let an AWS error from
the store propagate); only :func:`render` turns it into a response, so the HTTP status of a
code is decided here and nowhere else.
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from ..awsjson.aws_error import AwsError
from ..errors import (
    ImageDigestDoesNotMatchException,
    ImageNotFoundException,
    ImageTagAlreadyExistsException,
    InvalidParameterException,
    LayersNotFoundException,
    LimitExceededException,
    ReferencedImagesNotFoundException,
    RepositoryNotFoundException,
    UploadNotFoundException,
)
from ..store import DigestMismatch, StorageFull

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")

#: OCI error code -> (HTTP status, default message). The codes of the OCI distribution
#: spec, plus Distribution's RANGE_INVALID / PAGINATION_NUMBER_INVALID / UNAVAILABLE / UNKNOWN and a
#: NOT_FOUND for paths that name no endpoint.
ERRORS: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown to registry"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    # the spec answers an over-large manifest with 413 Payload Too Large
    "SIZE_INVALID": (413, "provided content is larger than the registry accepts"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "TOOMANYREQUESTS": (429, "too many requests"),
    # Distribution's answer while it cannot serve (fault injection answers it too)
    "UNAVAILABLE": (503, "service unavailable"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "RANGE_INVALID": (416, "invalid content range"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "NOT_FOUND": (404, "page not found"),
    "UNKNOWN": (500, "unknown error"),
    # a full blob directory (ENOSPC): RFC 4918's 507 Insufficient Storage says exactly that (the
    # request was fine; retrying after space is freed works) and stays apart from a bug's 500.
    # Distribution answers a storage driver's failure 500 UNKNOWN, which tells the user nothing.
    "INSUFFICIENT_STORAGE": (507, "the registry's storage is full"),
}


class RegistryError(Exception):
    """An OCI error: ``code`` from :data:`ERRORS`, an optional message, detail and headers."""

    def __init__(self, code: str, message: str | None = None, detail=None,
                 headers: dict[str, str] | None = None) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown OCI error code {code!r}")
        self.code = code
        self.message = message or ERRORS[code][1]
        self.detail = detail
        self.headers = dict(headers or {})
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]


#: the AWS errors the store raises, and the OCI code each becomes (first match in MRO order)
AWS_TO_OCI: dict[type, str] = {
    RepositoryNotFoundException: "NAME_UNKNOWN",
    ImageNotFoundException: "MANIFEST_UNKNOWN",
    LayersNotFoundException: "MANIFEST_BLOB_UNKNOWN",
    ReferencedImagesNotFoundException: "MANIFEST_BLOB_UNKNOWN",
    InvalidParameterException: "MANIFEST_INVALID",
    ImageTagAlreadyExistsException: "TAG_INVALID",
    ImageDigestDoesNotMatchException: "DIGEST_INVALID",
    UploadNotFoundException: "BLOB_UPLOAD_UNKNOWN",
    LimitExceededException: "DENIED",
}


def from_exception(error: Exception) -> RegistryError | None:
    """The OCI error for an exception the store raises, or None for anything else (a bug)."""
    if isinstance(error, RegistryError):
        return error
    if isinstance(error, StorageFull):
        return RegistryError("INSUFFICIENT_STORAGE", f"{error.strerror}; nothing was stored: free space there, "
                                                     "or choose another directory (--blob-dir / --state-dir)")
    if isinstance(error, DigestMismatch):
        return RegistryError("DIGEST_INVALID", detail={"expected": error.expected, "actual": error.actual})
    if isinstance(error, AwsError):
        for cls in type(error).__mro__:
            if cls in AWS_TO_OCI:
                return RegistryError(AWS_TO_OCI[cls], error.message or None)
        return RegistryError("UNKNOWN" if error.status >= 500 else "DENIED", error.message or None)
    return None


#: ImageFailureCode of an upstream failure -> OCI code, for manifests and for blobs
_UPSTREAM = {
    "ImageNotFound": ("MANIFEST_UNKNOWN", "BLOB_UNKNOWN"),
    "UpstreamAccessDenied": ("DENIED", "DENIED"),
    "UpstreamTooManyRequests": ("TOOMANYREQUESTS", "TOOMANYREQUESTS"),
    "UpstreamUnavailable": ("MANIFEST_UNKNOWN", "BLOB_UNKNOWN"),
}


def from_upstream(error, what: str, reference: str | None) -> RegistryError:
    """A pull-through upstream failure (``store.pull_through.UpstreamError``) as an OCI error."""
    manifest_code, blob_code = _UPSTREAM.get(error.code, ("MANIFEST_UNKNOWN", "BLOB_UNKNOWN"))
    code = manifest_code if what == "manifest" else blob_code
    return RegistryError(code, f"Unable to get the {what} from the upstream registry: {error.message}",
                         detail={"reference": reference, "upstreamFailure": error.code})


def render(error: RegistryError) -> Response:
    """The one place an OCI error becomes a response: ``{"errors": [{code, message, detail}]}``."""
    entry = {"code": error.code, "message": error.message}
    entry["detail"] = error.detail if error.detail is not None else {}
    body = json.dumps({"errors": [entry]}).encode()
    response = Response(body, status=error.status, content_type="application/json; charset=utf-8")
    response.headers[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
    for name, value in error.headers.items():
        response.headers[name] = value
    return response
