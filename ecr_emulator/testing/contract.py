"""Checking what the emulator answers against botocore's output shapes, strictly.

botocore's own parser silently drops members it does not know and tolerates wrong types, so
the check reads the raw JSON body: every member must belong to the shape, every required
member must be there, types and enum values must be right, timestamps must be numbers.
Errors must carry ``__type`` naming an error the operation may return (or a generic one).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.model import Shape

#: errors any AWS JSON operation may answer besides its modeled ones
GENERIC_ERRORS = {
    "AccessDeniedException", "ThrottlingException", "ValidationException", "SerializationException",
    "UnknownOperationException", "UnrecognizedClientException", "InvalidParameterException",
    "NotImplementedException", "ServerException", "InternalFailure", "InvalidSignatureException",
    "MissingAuthenticationTokenException", "IncompleteSignatureException",
}


class ContractViolation(AssertionError):
    pass


def _check(shape: Shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ContractViolation(f"{path}: expected object, got {value!r}")
        unknown = set(value) - set(shape.members)
        if unknown:
            raise ContractViolation(f"{path}: members not in {shape.name}: {sorted(unknown)}")
        for name in shape.required_members:
            if name not in value:
                raise ContractViolation(f"{path}: required member {name} missing")
        for name, item in value.items():
            if item is None:
                raise ContractViolation(f"{path}.{name}: null is never sent by AWS")
            _check(shape.members[name], item, f"{path}.{name}")
    elif kind == "list":
        if not isinstance(value, list):
            raise ContractViolation(f"{path}: expected list, got {value!r}")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise ContractViolation(f"{path}: expected map, got {value!r}")
        for key, item in value.items():
            _check(shape.value, item, f"{path}[{key}]")
    elif kind == "string":
        if not isinstance(value, str):
            raise ContractViolation(f"{path}: expected string, got {value!r}")
        if shape.enum and value not in shape.enum:
            raise ContractViolation(f"{path}: {value!r} not in enum {shape.enum}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContractViolation(f"{path}: expected integer, got {value!r}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractViolation(f"{path}: expected number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ContractViolation(f"{path}: expected boolean, got {value!r}")
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractViolation(f"{path}: expected epoch seconds, got {value!r}")
    elif kind == "blob":
        if not isinstance(value, str):
            raise ContractViolation(f"{path}: expected base64 string, got {value!r}")


def check_response(operation_model, status: int, body: bytes) -> None:
    """Raise :class:`ContractViolation` unless ``body`` is a valid answer to the operation."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        raise ContractViolation(f"{operation_model.name}: body is not JSON: {body[:200]!r}") from None
    if status >= 400:
        code = str(data.get("__type", "")).rpartition("#")[2]
        modeled = {e.name for e in operation_model.error_shapes}
        if code not in modeled | GENERIC_ERRORS:
            raise ContractViolation(f"{operation_model.name}: error {code!r} is not one it may return")
        if not isinstance(data.get("message", data.get("Message")), str):
            raise ContractViolation(f"{operation_model.name}: error without a message: {data}")
        return
    if operation_model.output_shape is None:
        if data:
            raise ContractViolation(f"{operation_model.name}: expected an empty body, got {data}")
        return
    _check(operation_model.output_shape, data, operation_model.name)


def _after_call(http_response, model, **_):
    check_response(model, http_response.status_code, http_response.content)


def checked_client(service: str, endpoint_url: str, *, account: str = "123456789012",
                   region: str = "us-east-1", access_key: str | None = None, secret: str = "secret", **kwargs):
    """A boto3 client whose every response is checked by :func:`check_response`.

    The access key id is the account (12 digits), which is how the emulator tells
    accounts apart, unless ``access_key`` names another one. No retries, unless a ``config``
    says otherwise (the fault-injection tests choose boto3's retry modes).
    """
    config = kwargs.pop("config", None) or Config(retries={"max_attempts": 1})
    client = boto3.client(
        service, endpoint_url=endpoint_url, region_name=region,
        aws_access_key_id=access_key or account, aws_secret_access_key=secret, config=config, **kwargs,
    )
    client.meta.events.register("after-call", _after_call)
    return client
