"""The JSON Schema of ``state.json``, derived from the store's dataclasses, and its validation.

A snapshot is the codec's encoding (codec.py) of :class:`~ecr_emulator.store.snapshot.Snapshot`.
Its schema is built here from the dataclasses' fields and type hints, so a field added to the
model is in the schema with no change here; a type the builder cannot describe (``Any``, a bare
``dict``) is an error when the schema is built (``tests/persistence`` builds it), so no part of
the state goes unchecked. Wire-shape dicts (``Annotated[dict, WireShape(...)]``) are typed from
botocore's model of that shape.

An imported snapshot (``PUT /_emulator/state``) is validated whole before anything is applied:
:func:`validate` raises :class:`~ecr_emulator.store.codec.CodecError` naming the first bad path
(``$.snapshot.registries[0].repositories.app.images``), then :func:`check_consistency` checks
what types cannot say (a tag pointing at an image the repository has, keys matching names), so
an applied snapshot can never make a later call fail.
"""

from __future__ import annotations

import dataclasses
import importlib
import types
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from .codec import CodecError
from .digests import sha256_digest
from .wireshape import WireShape

#: modules whose dataclasses a snapshot may hold (their names resolve the type hints)
MODULES = ("ecr_emulator.store.model", "ecr_emulator.store.scans", "ecr_emulator.store.backfills",
           "ecr_emulator.store.templates", "ecr_emulator.store.pull_through", "ecr_emulator.store.snapshot")
_BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
_SHA256 = r"^sha256:[0-9a-f]{64}$"


def _tagged(key: str, value: dict) -> dict:
    return {"type": "object", "required": [key], "properties": {key: value}, "additionalProperties": False}


def _namespace() -> dict[str, Any]:
    names: dict[str, Any] = {}
    for module in MODULES:
        names.update(vars(importlib.import_module(module)))
    return names


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, dict] = {}
        self.names = _namespace()

    def of(self, hint, where: str) -> dict:
        origin = get_origin(hint)
        if hint is type(None):
            return {"type": "null"}
        if hint is bool:
            return {"type": "boolean"}
        if hint is int:
            return {"type": "integer"}
        if hint is float:
            return {"type": "number"}
        if hint is str:
            return {"type": "string"}
        if hint is bytes:
            return _tagged("$b", {"type": "string", "pattern": _BASE64})
        if hint is datetime:
            return _tagged("$dt", {"type": "string", "pattern": _ISO_DATETIME})
        if origin is Annotated:
            base, *extras = get_args(hint)
            shape = next((e for e in extras if isinstance(e, WireShape)), None)
            return self.wire(shape) if shape else self.of(base, where)
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.of(arg, where) for arg in get_args(hint)]}
        if origin is list:
            (item,) = get_args(hint) or (None,)
            if item is None:
                raise TypeError(f"{where}: a bare list has no schema; say what it holds (list[str])")
            return {"type": "array", "items": self.of(item, where + "[]")}
        if origin is tuple:
            args = get_args(hint)
            if len(args) != 2 or args[1] is not Ellipsis:
                raise TypeError(f"{where}: only tuple[X, ...] has a schema, not {hint!r}")
            return _tagged("$t", {"type": "array", "items": self.of(args[0], where + "[]")})
        if origin is dict:
            args = get_args(hint)
            if len(args) != 2 or args[0] is not str:
                raise TypeError(f"{where}: only dict[str, X] has a schema, not {hint!r}")
            value = self.of(args[1], where + "{}")
            return {"anyOf": [
                {"type": "object", "not": {"required": ["$d"]}, "propertyNames": {"pattern": "^[^$]"},
                 "additionalProperties": value},
                _tagged("$d", {"type": "array", "items": {
                    "type": "array", "prefixItems": [{"type": "string"}, value], "minItems": 2, "maxItems": 2}}),
            ]}
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.dataclass(hint)
        raise TypeError(f"{where}: {hint!r} has no schema: type the field with plain data (no Any, no bare "
                        "dict), or a WireShape for an API shape")

    def dataclass(self, cls: type) -> dict:
        name = f"{cls.__module__}:{cls.__qualname__}"
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: a class met again while being built (recursion)
            hints = get_type_hints(cls, globalns=self.names, include_extras=True)
            properties = {"$dc": {"const": name}}
            required = ["$dc"]
            for f in dataclasses.fields(cls):
                properties[f.name] = self.of(hints[f.name], f"{cls.__qualname__}.{f.name}")
                if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    required.append(f.name)
            # fields a newer version added are dropped on load (codec.py): not an error
            self.defs[name] = {"type": "object", "required": required, "properties": properties}
        return {"$ref": f"#/$defs/{name}"}

    def wire(self, marker: WireShape) -> dict:
        from ..awsjson import load_service

        return self.shape(load_service(marker.service).model.shape_for(marker.shape))

    def shape(self, shape) -> dict:
        kind = shape.type_name
        if kind == "structure":
            return {"type": "object", "required": list(shape.required_members),
                    "properties": {name: self.shape(member) for name, member in shape.members.items()}}
        if kind == "list":
            return {"type": "array", "items": self.shape(shape.member)}
        if kind == "map":
            return {"type": "object", "additionalProperties": self.shape(shape.value)}
        if kind == "string":
            return {"type": "string"}
        if kind in ("integer", "long"):
            return {"type": "integer"}
        if kind in ("float", "double"):
            return {"type": "number"}
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "timestamp":
            return self.of(datetime, shape.name)
        if kind == "blob":
            return self.of(bytes, shape.name)
        raise TypeError(f"botocore shape {shape.name} of type {kind} has no schema")


@lru_cache(maxsize=1)
def state_schema() -> dict:
    """The schema of a whole ``state.json`` (built once)."""
    from .snapshot import FORMAT, Snapshot

    builder = _Builder()
    snapshot = builder.dataclass(Snapshot)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ecr-emulator state.json",
        "type": "object",
        "required": ["format", "version", "snapshot"],
        "properties": {"format": {"const": FORMAT}, "version": {"type": "integer", "minimum": 1},
                       "snapshot": snapshot},
        "$defs": builder.defs,
    }


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = state_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate(data) -> None:
    """Raise :class:`CodecError` naming the first place ``data`` is not a ``state.json``."""
    error = next(iter(_validator().iter_errors(data)), None)
    if error is None:
        return
    # the deepest error says most (an anyOf's own message only says "not valid under any")
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    raise CodecError(f"state.json: {error.json_path}: {message}")


def check_consistency(snapshot) -> None:
    """What the types cannot say: names match their keys, tags point at images the repository
    has, every blob a repository links is in the snapshot, registries are not given twice."""
    seen = set()
    if len(snapshot.token_secret) < 16:
        raise CodecError("state.json: $.snapshot.token_secret: the tokens' signing key must have at least 16 bytes")
    for digest, size in snapshot.blobs.items():
        if not _is_sha256(digest):
            raise CodecError(f"state.json: $.snapshot.blobs: {digest!r} is not a sha256 digest")
        if size < 0:
            raise CodecError(f"state.json: $.snapshot.blobs[{digest!r}]: the size {size} is negative")
    for i, state in enumerate(snapshot.registries):
        where = f"$.snapshot.registries[{i}]"
        key = (state.kind, state.account, state.region)
        if key in seen:
            raise CodecError(f"state.json: {where}: the registry {state.account} {state.region} is given twice")
        seen.add(key)
        if state.kind not in ("private", "public") or not (len(state.account) == 12 and state.account.isdigit()):
            raise CodecError(f"state.json: {where}: not a registry (kind private/public, 12-digit account)")
        for name, repo in state.repositories.items():
            _check_repository(f"{where}.repositories[{name!r}]", state, name, repo, snapshot.blobs)


def _check_repository(where: str, state, name: str, repo, blobs: dict[str, int]) -> None:
    if (repo.name, repo.account, repo.region, repo.kind) != (name, state.account, state.region, state.kind):
        raise CodecError(f"state.json: {where}: its name, account, region and kind must be its registry's and key's")
    for digest, image in repo.images.items():
        if image.digest != digest or sha256_digest(image.manifest) != digest:
            raise CodecError(f"state.json: {where}.images[{digest!r}]: the key is not the digest of the image's manifest")
        for tag in image.tags:
            if repo.tag_index.get(tag) != digest:
                raise CodecError(f"state.json: {where}.images[{digest!r}].tags: {tag!r} is not in tag_index")
    for tag, digest in repo.tag_index.items():
        if digest not in repo.images or tag not in repo.images[digest].tags:
            raise CodecError(f"state.json: {where}.tag_index[{tag!r}]: {digest} is not an image with that tag")
    for digest in repo.blobs:
        if digest not in blobs:
            raise CodecError(f"state.json: {where}.blobs: {digest} is not in $.snapshot.blobs")


def _is_sha256(digest: str) -> bool:
    return len(digest) == 71 and digest.startswith("sha256:") and all(c in "0123456789abcdef" for c in digest[7:])


__all__ = ["state_schema", "validate", "check_consistency"]
