"""The only place data lives. No Flask, no HTTP: both doors (control plane and registry)
call into this package, so a ``PutImage`` and a ``docker push`` end in the same code."""

from .backend import PUBLIC_REGION, Backend
from .blobs import (
    Blob,
    BlobStore,
    DigestMismatch,
    IncompleteBody,
    OutOfOrderChunk,
    StorageFull,
    UploadSession,
)
from .clock import Clock
from .events import Door, ImageDeleted, ImagePushed, TagRemoved
from .model import PRIVATE, PUBLIC, Image, RegistryState, Repository

__all__ = [
    "PRIVATE",
    "PUBLIC",
    "PUBLIC_REGION",
    "Backend",
    "Blob",
    "BlobStore",
    "Clock",
    "DigestMismatch",
    "Door",
    "ImageDeleted",
    "ImagePushed",
    "Image",
    "IncompleteBody",
    "OutOfOrderChunk",
    "RegistryState",
    "StorageFull",
    "Repository",
    "TagRemoved",
    "UploadSession",
]
