"""Generic AWS JSON 1.1 machinery driven by botocore service models.

Nothing in this package knows about ECR: it finds the model for an ``X-Amz-Target``,
validates input against the operation's input shape, dispatches to the function
registered with :func:`operation`, shapes the result by the output shape and renders
errors as ``{"__type", "message"}``.
"""

from .aws_error import AwsError
from .identity import Caller, caller_from_headers
from .operations import OperationRegistry
from .protocol import AwsJsonProtocol
from .services import Service, load_service

__all__ = [
    "AwsError",
    "AwsJsonProtocol",
    "Caller",
    "OperationRegistry",
    "Service",
    "caller_from_headers",
    "load_service",
]
