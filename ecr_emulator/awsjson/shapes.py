"""Input validation/parsing and output serialization, both by walking a botocore shape.

Input: every constraint of the model is checked the way AWS checks it (required members,
JSON types, enums, min/max lengths and values, patterns, list lengths); blobs arrive as
base64 and leave as bytes, timestamps leave as aware datetimes.

Output: only members of the output shape are written, ``None`` is dropped, datetimes become
epoch seconds and bytes become base64, as botocore expects of an AWS JSON 1.1 answer.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from botocore.model import Shape

from .aws_error import InvalidParameterException, SerializationException


def _constraint(path: str, rule: str) -> InvalidParameterException:
    """ECR's form for a member that breaks a model constraint, as real answers quote it. The rule's
    wording, by constraint (sources are public reports quoting ECR's answers):

    - string pattern: ``'must satisfy regular expression '<pattern>''`` (int128/create-ecr-repository-
      action#231, hashicorp/terraform-provider-aws#40309);
    - string length: ``'must have length greater than or equal to 2'`` (aws/aws-dotnet-deploy#549);
    - list length: ``'Member must have length less than or equal to 100'`` (trek10inc/ecr-cleaner#8);
    - number range: ``'Member must have value less than or equal to 1000'`` (ECR's registry answer
      to ``tags/list?n=10000``, quoted in renovatebot/renovate's ECR tests);
    - enum: ``'Member must satisfy enum value set: [...]'`` (aws-controllers-k8s/community#172 shows
      the start of ECR's answer; moto asserts the whole text for PutImageTagMutability). The values
      are listed in the installed model's order (AWS's own order is not known).
    - required: ``'must not be null'``: the emulator's own (ECR's text for a missing member is
      not quoted in a public source we found).
    """
    return InvalidParameterException(
        f"Invalid parameter at '{path}' failed to satisfy constraint: '{rule}'"
    )


def _wrong_type(path: str, expected: str) -> SerializationException:
    """A member of the wrong JSON type. The wording is the emulator's own: AWS's JSON front end
    answers SerializationException with a parser message that names no member."""
    return SerializationException(f"Value at '{path}' must be of type {expected}")


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _check_length(path: str, length: int, meta: dict, member: str = "") -> None:
    """``member``: ``"Member "`` for lists and maps (see :func:`_constraint`)."""
    if "min" in meta and length < meta["min"]:
        raise _constraint(path, f"{member}must have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        raise _constraint(path, f"{member}must have length less than or equal to {meta['max']}")


def parse_input(shape: Shape | None, value: Any, path: str = "") -> Any:
    """Validate ``value`` (decoded JSON) against ``shape`` and return it parsed."""
    if shape is None:
        return {}
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            raise _wrong_type(path or "body", "structure")
        parsed = {}
        for name in shape.required_members:
            if value.get(name) is None:
                raise _constraint(_join(path, name), "must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                parsed[name] = parse_input(member, value[name], _join(path, name))
        return parsed
    if kind == "list":
        if not isinstance(value, list):
            raise _wrong_type(path, "list")
        _check_length(path, len(value), meta, "Member ")
        return [parse_input(shape.member, item, f"{path}.{i + 1}.member") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _wrong_type(path, "map")
        _check_length(path, len(value), meta, "Member ")
        return {
            parse_input(shape.key, k, f"{path}.key"): parse_input(shape.value, v, f"{path}.{k}")
            for k, v in value.items()
        }
    if kind == "string":
        if not isinstance(value, str):
            raise _wrong_type(path, "string")
        if not _is_unicode(value):
            raise _constraint(path, "must contain only valid Unicode characters (no lone UTF-16 surrogates)")
        _check_length(path, len(value), meta)
        if shape.enum and value not in shape.enum:
            raise _constraint(path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        if pattern and not _compiled(pattern).fullmatch(value):
            raise _constraint(path, f"must satisfy regular expression '{pattern}'")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(path, kind)
        if "min" in meta and value < meta["min"]:
            raise _constraint(path, f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            raise _constraint(path, f"Member must have value less than or equal to {meta['max']}")
        return value
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong_type(path, kind)
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _wrong_type(path, "boolean")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise _wrong_type(path, "blob (base64 string)")
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException(f"Value at '{path}' is not valid base64") from None
        _check_length(path, len(data), meta)
        return data
    if kind == "timestamp":
        if isinstance(value, bool):
            raise _wrong_type(path, "timestamp")
        try:
            if isinstance(value, (int, float)):
                return datetime.fromtimestamp(value, tz=timezone.utc)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except (ValueError, OverflowError, OSError):  # not a date, or outside the years datetime holds
            raise _wrong_type(path, "timestamp") from None
        raise _wrong_type(path, "timestamp")
    return value


def _is_unicode(value: str) -> bool:
    """False for a string holding a lone surrogate (a ``\\ud800`` escape in the JSON body),
    which has no UTF-8 form and so can reach neither the store nor a response."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def serialize_output(shape: Shape | None, value: Any) -> Any:
    """Shape a handler's result into the JSON the output shape describes."""
    if shape is None or value is None:
        return {} if shape is None else None
    kind = shape.type_name
    if kind == "structure":
        out = {}
        for name, member in shape.members.items():
            item = value.get(name)
            if item is not None:
                out[name] = serialize_output(member, item)
        return out
    if kind == "list":
        return [serialize_output(shape.member, item) for item in value]
    if kind == "map":
        return {k: serialize_output(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime):
            return round(value.timestamp(), 3)
        return value
    if kind == "blob":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value
