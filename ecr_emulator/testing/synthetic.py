"""Small synthetic images for tests: real tar.gz layers, configs, manifests, OCI layouts.

Everything is built in memory from a seed, so tests need no network and no image daemon.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field

from ..store.digests import sha256_digest
from ..store.manifests import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


#: the digest of ``data`` (``store.digests.sha256_digest``, under the name tests know)
digest_of = sha256_digest


def make_layer(files: dict[str, bytes]) -> bytes:
    """A reproducible gzipped tar holding ``files``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 0, 0o644
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Image:
    """A built image: its blobs by digest and its manifest bytes."""

    manifest: bytes
    media_type: str
    config: bytes
    layers: list[bytes]
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    @property
    def layer_size(self) -> int:
        return sum(len(layer) for layer in self.layers)

    def descriptor(self, platform: dict | None = None) -> dict:
        d = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.manifest)}
        if platform:
            d["platform"] = platform
        return d


def make_image(seed: str = "app", *, layers: int = 2, layer_bytes: int = 1024, docker: bool = False,
               arch: str = "amd64", artifact_type: str | None = None, subject: dict | None = None,
               config: bytes | None = None, config_media_type: str | None = None) -> Image:
    """An image of ``layers`` random-content layers (deterministic for ``seed``)."""
    layer_blobs = [
        make_layer({f"{seed}/file{i}": hashlib.sha256(f"{seed}-{i}".encode()).digest() * (layer_bytes // 32 + 1)})
        for i in range(layers)
    ]
    diff_ids = [digest_of(gzip.decompress(layer)) for layer in layer_blobs]
    if config is None:
        config = json.dumps({
            "architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Labels": {"seed": seed}}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }, sort_keys=True).encode()
    config_type = config_media_type or (DOCKER_CONFIG if docker else OCI_CONFIG)
    layer_type = DOCKER_LAYER if docker else OCI_LAYER
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": digest_of(b), "size": len(b)} for b in layer_blobs],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if subject:
        manifest["subject"] = subject
    body = json.dumps(manifest, indent=2).encode()
    blobs = {digest_of(config): config, **{digest_of(b): b for b in layer_blobs}}
    return Image(body, manifest["mediaType"], config, layer_blobs, blobs)


@dataclass
class Index:
    manifest: bytes
    media_type: str
    images: list[Image]

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)


def make_index(images: list[Image], platforms: list[dict], *, docker: bool = False) -> Index:
    media_type = DOCKER_MANIFEST_LIST if docker else OCI_INDEX
    body = json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "manifests": [image.descriptor(p) for image, p in zip(images, platforms, strict=True)],
    }, indent=2).encode()
    return Index(body, media_type, images)


def write_oci_layout(path: str, root: Image | Index, tag: str = "latest") -> str:
    """Write ``root`` (and everything it references) as an OCI image layout at ``path``.

    Returns the skopeo reference ``oci:<path>:<tag>``.
    """
    blob_dir = os.path.join(path, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)

    def put(data: bytes) -> None:
        with open(os.path.join(blob_dir, digest_of(data).split(":")[1]), "wb") as f:
            f.write(data)

    images = root.images if isinstance(root, Index) else [root]
    for image in images:
        for data in image.blobs.values():
            put(data)
        put(image.manifest)
    put(root.manifest)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": root.media_type, "digest": root.digest, "size": len(root.manifest),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }]}, f)
    return f"oci:{path}:{tag}"
