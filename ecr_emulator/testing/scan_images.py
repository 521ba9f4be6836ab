"""Synthetic images for scanner tests and benchmarks: layers with an OS release file, a dpkg
status or apk installed database, Python and npm packages; plain, gzip or zstd; whiteouts.

``image_of(layers)`` builds a pushable :class:`~ecr_emulator.testing.synthetic.Image`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import zstandard

from .synthetic import DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST, Image, digest_of

LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    None: "application/vnd.oci.image.layer.v1.tar",
}


def tar_of(files: dict[str, bytes | None]) -> bytes:
    """An uncompressed tar; a ``None`` content is a directory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 0, 0o644
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def layer(files: dict[str, bytes | None], compression: str | None = "gzip") -> bytes:
    data = tar_of(files)
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def os_release(os_id: str, version_id: str, name: str = "") -> bytes:
    return (f'ID={os_id}\nVERSION_ID="{version_id}"\n'
            f'PRETTY_NAME="{name or os_id + " " + version_id}"\n').encode()


def dpkg_status(packages: list[tuple[str, str]] | list[tuple[str, str, str]]) -> bytes:
    """``(name, version[, source])`` as dpkg's status database lists installed packages."""
    stanzas = []
    for entry in packages:
        name, version = entry[0], entry[1]
        lines = [f"Package: {name}", "Status: install ok installed", "Priority: optional",
                 "Architecture: amd64", f"Version: {version}"]
        if len(entry) > 2:
            lines.append(f"Source: {entry[2]}")
        lines += [f"Description: the {name} package", " a long description line"]
        stanzas.append("\n".join(lines))
    return ("\n\n".join(stanzas) + "\n").encode()


def apk_installed(packages: list[tuple[str, str]] | list[tuple[str, str, str]]) -> bytes:
    stanzas = []
    for entry in packages:
        name, version = entry[0], entry[1]
        origin = entry[2] if len(entry) > 2 else name
        stanzas.append(f"C:Q1{hashlib.sha1(name.encode()).hexdigest()[:26]}=\nP:{name}\nV:{version}\nA:x86_64\n"
                       f"S:1000\nI:2000\nT:the {name} package\no:{origin}\nm:Nobody\nt:0\n")
    return "\n".join(stanzas).encode() + b"\n"


def python_metadata(name: str, version: str) -> dict[str, bytes]:
    """A site-packages ``dist-info`` for ``name==version``."""
    base = f"usr/lib/python3.11/site-packages/{name.replace('-', '_')}-{version}.dist-info"
    return {f"{base}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nreadme\n".encode(),
            f"{base}/RECORD": b""}


def npm_package(name: str, version: str, root: str = "app") -> dict[str, bytes]:
    return {f"{root}/node_modules/{name}/package.json": json.dumps({"name": name, "version": version}).encode()}


def image_of(layers: list[bytes], *, media_types: list[str] | None = None, docker: bool = False,
             arch: str = "amd64", config: dict | None = None) -> Image:
    """A pushable image of these layer blobs (media types guessed from their first bytes)."""
    types = media_types or [_guess(data, docker) for data in layers]
    body = config or {"architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
                      "rootfs": {"type": "layers", "diff_ids": [digest_of(d) for d in layers]}}
    config_bytes = json.dumps(body, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": digest_of(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": t, "digest": digest_of(d), "size": len(d)} for t, d in zip(types, layers, strict=True)],
    }
    blobs = {digest_of(config_bytes): config_bytes, **{digest_of(d): d for d in layers}}
    return Image(json.dumps(manifest, indent=2).encode(), manifest["mediaType"], config_bytes, list(layers), blobs)


def _guess(data: bytes, docker: bool) -> str:
    if docker:
        return "application/vnd.docker.image.rootfs.diff.tar.gzip"
    if data[:2] == b"\x1f\x8b":
        return LAYER_TYPES["gzip"]
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return LAYER_TYPES["zstd"]
    return LAYER_TYPES[None]


def rpm_header(tags: dict) -> bytes:
    """An RPM header blob (as ``rpmdb.sqlite`` stores it) with NAME, VERSION, RELEASE, EPOCH,
    ARCH and SOURCERPM from ``tags`` (``name``, ``version``, ``release``, ``epoch``, ``arch``, ``sourcerpm``)."""
    import struct

    numbers = {"name": 1000, "version": 1001, "release": 1002, "epoch": 1003, "arch": 1022, "sourcerpm": 1044}
    entries, store = [], b""
    for key, tag in numbers.items():
        if key not in tags:
            continue
        value = tags[key]
        if isinstance(value, int):
            while len(store) % 4:
                store += b"\0"
            entries.append(struct.pack(">iiii", tag, 4, len(store), 1))
            store += struct.pack(">i", value)
        else:
            entries.append(struct.pack(">iiii", tag, 6, len(store), 1))
            store += value.encode() + b"\0"
    return struct.pack(">ii", len(entries), len(store)) + b"".join(entries) + store


def rpm_database(packages: list[dict]) -> bytes:
    """An ``rpmdb.sqlite`` file listing ``packages`` (see :func:`rpm_header`)."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(rpm_header(p),) for p in packages])
    connection.commit()
    data = connection.serialize()
    connection.close()
    return bytes(data)
