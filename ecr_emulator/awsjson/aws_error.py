"""The base class of every AWS error the emulator answers with.

Subclasses are named exactly like the error shapes of the botocore model (the class
name becomes ``__type``), carry their HTTP status, and may add modeled members
(``InvalidLayerPartException.lastValidByteReceived``) through ``fields``.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error answered to the client as ``{"__type": <class name>, "message": ...}``."""

    status = 400
    #: ``__type`` on the wire; defaults to the class name.
    code: str | None = None

    def __init__(self, message: str = "", **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = {k: v for k, v in fields.items() if v is not None}

    @property
    def error_code(self) -> str:
        return self.code or type(self).__name__

    def body(self) -> dict[str, Any]:
        return {"__type": self.error_code, "message": self.message, **self.fields}


class SerializationException(AwsError):
    """The body is not JSON, or a member has the wrong JSON type."""


class UnknownOperationException(AwsError):
    """The X-Amz-Target names no operation of a known service."""


class InvalidParameterException(AwsError):
    """A member breaks a constraint of the model (required, length, pattern, enum, range)."""


class AccessDeniedException(AwsError):
    """A request no policy grants: AWS's generic authorization error (no model shape)."""

    #: AWS's wording of each reason (IAM's "Troubleshoot access denied error messages"; e.g. ECR's
    #: "... is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no
    #: identity-based policy allows the ecr:GetAuthorizationToken action", quoted in
    #: terraform-aws-modules/terraform-aws-iam#514, and "... on resource: arn:aws:ecr:...:repository/x
    #: because no resource-based policy allows the ecr:InitiateLayerUpload action", in
    #: aws-actions/amazon-ecr-login#232)
    REASONS = {
        "identity-deny": "with an explicit deny in an identity-based policy",
        "resource-deny": "with an explicit deny in a resource-based policy",
        "no-identity-allow": "because no identity-based policy allows the {action} action",
        "no-resource-allow": "because no resource-based policy allows the {action} action",
    }

    @classmethod
    def for_action(cls, principal_arn: str, action: str, resource: str, denied: bool = False,
                   reason: str | None = None) -> "AccessDeniedException":
        """``reason``: a key of :data:`REASONS` (default: the resource side, ``denied`` or not)."""
        reason = reason or ("resource-deny" if denied else "no-resource-allow")
        why = cls.REASONS[reason].format(action=action)
        return cls(f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}")


class ValidationException(AwsError):
    """A request AWS's front end refuses before the operation sees it (e.g. a body over the limit)."""


class InvalidSignatureException(AwsError):
    """The SigV4 credential scope or signature is not acceptable: an invalid region, or (signed
    mode) a signature that does not match or whose date is too far from now."""

    status = 403


class NotImplementedOperationException(AwsError):
    """An operation that the model defines but the emulator does not implement yet.

    Answered with HTTP 501 so that no client mistakes it for a real result.
    """

    status = 501
    code = "NotImplementedException"


class InternalFailure(AwsError):
    """An unexpected failure inside the emulator (a bug): reported, never hidden."""

    status = 500
    code = "InternalFailure"


class UnrecognizedClientException(AwsError):
    """An access key or session token the credentials file does not know (signed mode)."""


class MissingAuthenticationTokenException(AwsError):
    """A request without SigV4 credentials (signed mode)."""

    status = 403


class IncompleteSignatureException(AwsError):
    """An Authorization header that is not a complete SigV4 signature (signed mode)."""
