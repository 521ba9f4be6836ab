"""Seeding a test's registry in one line: build a small image from files or layers and push it
through the real OCI distribution API (blob uploads, then the manifest), as a client would.

Standard library only (``urllib``), so the pytest plugin and ``mock_ecr`` can use it without
pulling ``requests`` into a user's test environment.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence

from .synthetic import OCI_CONFIG, OCI_LAYER, Image, digest_of, make_layer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
TIMEOUT = 60

#: a layer given to :func:`build_image`: the blob's bytes, or the files of a layer to build
Layer = bytes | Mapping[str, bytes]


class PushError(AssertionError):
    """The registry refused a step of the push (the message has its status and OCI error)."""


def _gzipped(blob: bytes) -> bool:
    return blob[:2] == b"\x1f\x8b"


def build_image(*, files: Mapping[str, bytes] | None = None, layers: Sequence[Layer] | None = None,
                seed: str = "image", labels: Mapping[str, str] | None = None) -> Image:
    """An OCI image (linux/amd64) whose layers are ``layers`` (blob bytes as given, or a mapping
    of path -> content made into a reproducible tar.gz), plus one layer of ``files`` if given.
    With neither, one small layer derived from ``seed``. The config's ``rootfs.diff_ids`` are
    right (gzip layers are decompressed to compute them), so runtimes accept the image."""
    blobs = [make_layer(dict(layer)) if isinstance(layer, Mapping) else bytes(layer) for layer in layers or ()]
    if files is not None:
        blobs.append(make_layer(dict(files)))
    if not blobs:
        blobs.append(make_layer({f"{seed}.txt": hashlib.sha256(seed.encode()).hexdigest().encode()}))
    diff_ids = [digest_of(gzip.decompress(b) if _gzipped(b) else b) for b in blobs]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Labels": dict(labels or {"seed": seed})},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER if _gzipped(b) else OCI_LAYER_TAR, "digest": digest_of(b),
                    "size": len(b)} for b in blobs],
    }, indent=2).encode()
    return Image(manifest, OCI_MANIFEST, config, blobs, {digest_of(config): config, **{digest_of(b): b for b in blobs}})


class ImagePusher:
    """``push("team/app", "v1", files={"app.txt": b"hi"})``: build an image and push it.

    ``registry_url``: ``http://host:port`` of the registry; ``authorization``: returns the
    ``authorizationToken`` of GetAuthorizationToken (base64 ``AWS:<password>``), sent as
    HTTP Basic auth, or None to push without credentials.
    """

    def __init__(self, registry_url: str, authorization: Callable[[], str | None]) -> None:
        self.registry_url = registry_url.rstrip("/")
        self._authorization = authorization

    def __call__(self, repository: str, tag: str | None = "latest", *, files: Mapping[str, bytes] | None = None,
                 layers: Sequence[Layer] | None = None, image: Image | None = None,
                 labels: Mapping[str, str] | None = None) -> Image:
        """Push ``image`` (or one built by :func:`build_image` from ``files`` / ``layers``) to
        ``repository`` (which must exist, as on ECR) as ``tag`` (None: by digest only).
        Returns the :class:`~ecr_emulator.testing.synthetic.Image`; ``.digest`` is its digest."""
        image = image or build_image(files=files, layers=layers, seed=f"{repository}:{tag}", labels=labels)
        token = self._authorization()
        headers = {"Authorization": f"Basic {token}"} if token else {}
        for digest, data in image.blobs.items():
            self._request("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}", data, headers,
                          "application/octet-stream", expect=201)
        answer = self._request("PUT", f"/v2/{repository}/manifests/{tag or image.digest}", image.manifest,
                               headers, image.media_type, expect=201)
        if answer.get("Docker-Content-Digest") != image.digest:
            raise PushError(f"the registry stored {answer.get('Docker-Content-Digest')}, not {image.digest}")
        return image

    def _request(self, method: str, path: str, data: bytes, headers: dict, content_type: str, *, expect: int):
        request = urllib.request.Request(self.registry_url + path, data=data, method=method,
                                         headers={**headers, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                status, answer = response.status, response.headers
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            raise PushError(f"{method} {path}: HTTP {error.code}: {body}") from None
        if status != expect:
            raise PushError(f"{method} {path}: HTTP {status}, expected {expect}")
        return answer
