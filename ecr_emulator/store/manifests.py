"""Reading manifests: media type, schema (jsonschema), and what a manifest references.

Known types: Docker schema 2 manifest and manifest list, OCI image manifest and index
(OCI 1.1 ``artifactType`` and ``subject`` included); any other media type is refused, and
Docker schema 1 is refused with a clear error (no current client pushes it). A manifest is
strict JSON (:func:`strict_json`): what is stored can always be served back through either
door as UTF-8.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

import jsonschema

from ..errors import InvalidParameterException

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

INDEX_TYPES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
SCHEMA1_TYPES = (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED)
#: the media types a manifest may have (schema 1 is refused with its own message)
MANIFEST_TYPES = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)

#: the model's limit on ImageManifest, and the OCI registry's
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

_DIGEST = r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
_MEDIA_TYPE = r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"

_DESCRIPTOR = {
    "type": "object",
    "required": ["mediaType", "digest", "size"],
    "properties": {
        "mediaType": {"type": "string", "pattern": _MEDIA_TYPE},
        "digest": {"type": "string", "pattern": _DIGEST},
        "size": {"type": "integer", "minimum": 0},
        "urls": {"type": "array", "items": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "artifactType": {"type": "string", "pattern": _MEDIA_TYPE},
        "platform": {
            "type": "object",
            "required": ["architecture", "os"],
            "properties": {"architecture": {"type": "string"}, "os": {"type": "string"}},
        },
    },
}

_IMAGE_MANIFEST = {
    "type": "object",
    "required": ["schemaVersion", "config", "layers"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string", "pattern": _MEDIA_TYPE},
        "config": _DESCRIPTOR,
        "layers": {"type": "array", "items": _DESCRIPTOR},
        "subject": _DESCRIPTOR,
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

_INDEX = {
    "type": "object",
    "required": ["schemaVersion", "manifests"],
    "properties": {
        "schemaVersion": {"const": 2},
        "mediaType": {"type": "string"},
        "artifactType": {"type": "string", "pattern": _MEDIA_TYPE},
        "manifests": {"type": "array", "items": _DESCRIPTOR},
        "subject": _DESCRIPTOR,
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@lru_cache(maxsize=None)
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = _INDEX if kind == "index" else _IMAGE_MANIFEST
    return jsonschema.Draft202012Validator(schema)


def manifest_error(rule: str) -> InvalidParameterException:
    return InvalidParameterException(f"Invalid parameter at 'imageManifest' failed to satisfy constraint: '{rule}'")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    foreign: bool = False  # non-distributable layer with ``urls``: not stored in the registry


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    #: config + layers (image manifests)
    blobs: tuple[Descriptor, ...] = ()
    layers: tuple[Descriptor, ...] = ()
    #: child manifests (indexes)
    children: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    config_media_type: str | None = None
    artifact_type: str | None = None
    annotations: dict = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return bool(self.media_type in INDEX_TYPES or (self.children and not self.blobs))

    @property
    def artifact_media_type(self) -> str | None:
        """What ECR reports as ``artifactMediaType``: the config media type (none for indexes)."""
        if self.is_index:
            return self.artifact_type
        return self.config_media_type


def _descriptor(raw: dict) -> Descriptor:
    return Descriptor(raw["mediaType"], raw["digest"], raw["size"], bool(raw.get("urls")))


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_strings(value) -> None:
    """Every string (keys too) must be encodable as UTF-8: a ``\\ud800`` escape decodes to a
    lone surrogate, which no client could read back as UTF-8."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def strict_json(data: bytes) -> dict:
    """``data`` as a JSON object under RFC 8259's strict reading: UTF-8 without a byte order
    mark, no ``NaN``/``Infinity``, no lone surrogate escapes; else InvalidParameterException."""
    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            raise ValueError("byte order mark")
        doc = json.loads(text, parse_constant=_no_constant)
        _check_strings(doc)
    except (ValueError, RecursionError):  # UnicodeError is a ValueError; RecursionError: nested too deeply
        raise manifest_error("Invalid JSON syntax") from None
    if not isinstance(doc, dict):
        raise manifest_error("Invalid JSON syntax")
    return doc


def parse_manifest(data: bytes, media_type_hint: str | None = None) -> ParsedManifest:
    """Parse and validate ``data``; raises ``InvalidParameterException`` naming the problem."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise manifest_error(f"Member must have length less than or equal to {MAX_MANIFEST_BYTES}")
    doc = strict_json(data)
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise manifest_error("mediaType must be a string")
    if declared and media_type_hint and declared != media_type_hint:
        raise InvalidParameterException(
            f"Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: "
            f"'The media type {media_type_hint} does not match the manifest mediaType {declared}'"
        )
    media_type = declared or media_type_hint
    if media_type is None:
        raise InvalidParameterException(
            "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: "
            "'The manifest does not declare a mediaType; specify imageManifestMediaType'"
        )
    if media_type in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
        raise manifest_error("Docker image manifest schema version 1 is not supported by ecr-emulator")
    if media_type not in MANIFEST_TYPES:
        raise InvalidParameterException(
            f"Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: '{media_type!r} is "
            f"not a manifest media type; ECR stores {', '.join(MANIFEST_TYPES)}'"
        )
    kind = "index" if media_type in INDEX_TYPES or ("manifests" in doc and "config" not in doc) else "image"
    errors = sorted(_validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "manifest"
        raise manifest_error(f"Invalid {media_type} at {where}: {errors[0].message}")
    subject = _descriptor(doc["subject"]) if "subject" in doc else None
    annotations = doc.get("annotations") or {}
    if kind == "index":
        children = tuple(_descriptor(m) for m in doc["manifests"])
        return ParsedManifest(media_type, children=children, subject=subject,
                              artifact_type=doc.get("artifactType"), annotations=annotations)
    config = _descriptor(doc["config"])
    layers = tuple(_descriptor(layer) for layer in doc["layers"])
    return ParsedManifest(
        media_type, blobs=(config, *layers), layers=layers, subject=subject,
        config_media_type=config.media_type,
        # the referrers API reports artifactType, falling back to the config media type
        artifact_type=doc.get("artifactType") or config.media_type,
        annotations=annotations,
    )

