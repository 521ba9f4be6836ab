"""A generic codec between the store's dataclass model and JSON, for snapshots.

The design rule (docs/DESIGN.md) is that state is plain data: ``str``, ``int``, ``float``,
``bool``, ``None``, ``datetime``, ``bytes`` and lists, tuples, dicts and dataclasses of those.
This module walks such values, so a field another engineer adds to ``Repository`` (or a new
dataclass hung off it) is saved and restored with no special case. The JSON stays readable:

- dataclasses: ``{"$dc": "ecr_emulator.store.model:Repository", <field>: <value>, ...}``
- ``bytes``: ``{"$b": "<base64>"}``; ``datetime``: ``{"$dt": "<ISO 8601>"}``; tuples: ``{"$t": [...]}``
- dicts with string keys that do not start with ``$``: plain objects; other dicts:
  ``{"$d": [[key, value], ...]}``

Loading tolerates a snapshot written by another version of the model: fields the class no
longer has are dropped, fields it gained take their defaults. Only classes of the
``ecr_emulator`` package are ever instantiated, so an imported snapshot cannot name others.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

PACKAGE = "ecr_emulator"


class CodecError(ValueError):
    """A value the model must not hold (saving), or a snapshot that cannot be read (loading)."""


class _NotPlain(Exception):
    """Raised deep in :func:`_encode`; containers on the way up add their part of the path."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data (raises :class:`CodecError` naming the offending path)."""
    try:
        return _encode(value)
    except _NotPlain as error:
        raise CodecError("state" + "".join(reversed(error.path)) + ": " + error.message) from None


def _encode(value: Any) -> Any:
    # paths are built only on the way up from an error: saving stays a plain walk
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        try:
            if all(isinstance(k, str) and not k.startswith("$") for k in value):
                return {k: _encode(v) for k, v in value.items()}
            return {"$d": [[_encode(k), _encode(v)] for k, v in value.items()]}
        except _NotPlain as error:
            error.path.append(_where_in(value, error))
            raise
    if isinstance(value, list):
        return _sequence(value)
    if isinstance(value, tuple):
        return {"$t": _sequence(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not cls.__module__.startswith(PACKAGE):
            raise _NotPlain(f"{cls.__qualname__} is not a class of the {PACKAGE} package")
        data = {"$dc": f"{cls.__module__}:{cls.__qualname__}"}
        for f in dataclasses.fields(value):
            try:
                data[f.name] = _encode(getattr(value, f.name))
            except _NotPlain as error:
                error.path.append("." + f.name)
                raise
        return data
    raise _NotPlain(f"a {type(value).__name__} is not plain data (see docs/DESIGN.md); the store's model "
                    "holds only str, int, float, bool, None, datetime, bytes and lists, tuples, dicts and "
                    "dataclasses of those")


def _sequence(items) -> list:
    try:
        return [_encode(item) for item in items]
    except _NotPlain as error:
        for i, item in enumerate(items):  # find which one (only on the way to an error)
            try:
                _encode(item)
            except _NotPlain:
                error.path.append(f"[{i}]")
                break
        raise


def _where_in(mapping: dict, error: _NotPlain) -> str:
    for key, item in mapping.items():
        for part in (key, item):
            try:
                _encode(part)
            except _NotPlain:
                return f".{key}" if isinstance(key, str) else f"[{key!r}]"
    return ""


def decode(data: Any, path: str = "state") -> Any:
    """The value :func:`encode` made ``data`` from."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, f"{path}[{i}]") for i, item in enumerate(data)]
    if not isinstance(data, dict):
        raise CodecError(f"{path}: unexpected {type(data).__name__}")
    if "$dc" in data:
        return _decode_dataclass(data, path)
    if "$b" in data:
        return base64.b64decode(data["$b"])
    if "$dt" in data:
        return datetime.fromisoformat(data["$dt"])
    if "$t" in data:
        return tuple(decode(item, f"{path}[{i}]") for i, item in enumerate(data["$t"]))
    if "$d" in data:
        return {decode(k, f"{path}<key>"): decode(v, f"{path}[{k!r}]") for k, v in data["$d"]}
    return {k: decode(v, f"{path}.{k}") for k, v in data.items()}


def _class(name: str, path: str) -> type:
    module_name, _, qualname = name.partition(":")
    if not (module_name == PACKAGE or module_name.startswith(PACKAGE + ".")):
        raise CodecError(f"{path}: {name!r} is not a class of the {PACKAGE} package")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise CodecError(f"{path}: the snapshot names {name!r}, which this version does not have") from None
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        raise CodecError(f"{path}: {name!r} is not a dataclass")
    return obj


def _decode_dataclass(data: dict, path: str) -> Any:
    cls = _class(data["$dc"], path)
    known = {f.name: f for f in dataclasses.fields(cls)}
    dropped = [k for k in data if k != "$dc" and k not in known]
    if dropped:
        log.info("%s: ignoring fields %s that %s no longer has", path, ", ".join(dropped), cls.__qualname__)
    values = {name: decode(data[name], f"{path}.{name}") for name in known if name in data}
    init = {k: v for k, v in values.items() if known[k].init}
    try:
        obj = cls(**init)
    except TypeError as error:
        raise CodecError(f"{path}: cannot make a {cls.__qualname__}: {error}") from None
    for name, value in values.items():
        if not known[name].init:
            object.__setattr__(obj, name, value)
    return obj
