"""RPM distributions: the SQLite rpm database (``rpmdb.sqlite``, RHEL/Rocky/Alma 9+, Fedora 33+,
Amazon Linux 2023). Each row of its ``Packages`` table is an RPM header blob, read here.

Older Berkeley DB (``Packages``) and ndb (``Packages.db``) databases are not read: an image
with only those is reported UNSUPPORTED_IMAGE, saying why.
"""

from __future__ import annotations

import sqlite3
import struct

from ..layers import FileSystem
from .package import UNSUPPORTED, OsInfo, Package, UnsupportedImage

FAMILIES = {"Red Hat", "Rocky Linux", "AlmaLinux", "Oracle Linux", "Amazon Linux", "Fedora", "openSUSE", "SUSE",
            "Photon OS", "Mariner", "Azure Linux"}
SQLITE = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
LEGACY = ("var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db")

NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9


def wanted(path: str) -> bool:
    return path in SQLITE or path in LEGACY


def parse_header(blob: bytes) -> dict[int, object]:
    """The tags of an RPM header blob (``il``, ``dl``, index entries, data store)."""
    il, dl = struct.unpack_from(">ii", blob, 0)
    if not (0 < il < 100_000 and 0 <= dl <= len(blob)):
        raise ValueError("not an RPM header")
    data_start = 8 + 16 * il
    store = blob[data_start:data_start + dl]
    tags: dict[int, object] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack_from(">iiii", blob, 8 + 16 * i)
        if kind in (_STRING, _I18NSTRING, _STRING_ARRAY):
            end = store.index(b"\0", offset)
            tags[tag] = store[offset:end].decode("utf-8", "replace")
        elif kind == _INT32 and count >= 1:
            tags[tag] = struct.unpack_from(">i", store, offset)[0]
    return tags


def _source_name(source_rpm: str | None) -> str | None:
    """``openssl-3.0.7-27.el9.src.rpm`` -> ``openssl``."""
    if not source_rpm:
        return None
    parts = source_rpm.removesuffix(".rpm").rsplit("-", 2)
    return parts[0] if len(parts) == 3 else None


def packages(fs: FileSystem, os_info: OsInfo) -> list[Package]:
    path = next((p for p in SQLITE if fs.current(p)), None)
    if path is None:
        legacy = next((p for p in LEGACY if fs.current(p)), None)
        if legacy is not None:
            raise UnsupportedImage(f"{UNSUPPORTED} (the rpm database /{legacy} is in a format ecr-emulator "
                                   "does not read; it reads rpmdb.sqlite)")
        return []
    current = fs.current(path)
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(current.data)
        rows = connection.execute("SELECT blob FROM Packages").fetchall()
    except sqlite3.Error as error:
        raise UnsupportedImage(f"{UNSUPPORTED} (the rpm database /{path} cannot be read: {error})") from None
    finally:
        connection.close()
    found = []
    for (blob,) in rows:
        try:
            tags = parse_header(bytes(blob))
        except (ValueError, struct.error):
            continue
        if not tags.get(NAME) or not tags.get(VERSION):
            continue
        epoch, release = tags.get(EPOCH), tags.get(RELEASE)
        version = f"{tags[VERSION]}-{release}" if release else str(tags[VERSION])
        if epoch:
            version = f"{epoch}:{version}"
        found.append(Package(
            name=str(tags[NAME]), version=version, manager="RPM", ecosystem=os_info.ecosystem, scheme="rpm",
            file_path=path, layer=current.layer, source_name=_source_name(tags.get(SOURCERPM)),
            arch=tags.get(ARCH), epoch=epoch if isinstance(epoch, int) else None,
            release=str(release) if release else None,
        ))
    return found
