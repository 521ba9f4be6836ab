"""An installed package and the OS it belongs to, as inventories report them; the refusal when
the scanner cannot tell what is installed."""

from __future__ import annotations

from dataclasses import dataclass

from ..layers import FileSystem

UNSUPPORTED = "The operating system and/or package manager are not supported."


class UnsupportedImage(Exception):
    """The scanner cannot tell what is installed (unknown OS or package database format)."""


@dataclass(frozen=True)
class OsInfo:
    #: OSV's ecosystem family: ``Debian``, ``Ubuntu``, ``Alpine``, ``Red Hat``, ``Rocky Linux`` ...
    family: str
    #: the release as OSV writes it after the colon (``12``, ``22.04``, ``v3.19``), or ""
    release: str
    pretty: str = ""

    @property
    def ecosystem(self) -> str:
        return f"{self.family}:{self.release}" if self.release else self.family


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    #: ``DPKG``, ``APK``, ``RPM``, ``PYTHONPKG``, ``NODEPKG`` (Inspector's packageManager)
    manager: str
    #: the OSV ecosystem the package is matched in (``Debian:12``, ``PyPI``, ``npm`` ...)
    ecosystem: str
    #: the version scheme: ``dpkg``, ``apk``, ``rpm``, ``pep440``, ``semver``
    scheme: str
    file_path: str
    layer: str
    #: the source package (dpkg ``Source``, apk origin, rpm source rpm) feeds often name
    source_name: str | None = None
    arch: str | None = None
    epoch: int | None = None
    release: str | None = None


def introduced_in(snapshots: list[tuple[str, dict[str, str]]], name: str, version: str) -> str:
    """The layer that brought ``name`` at ``version`` in: the oldest snapshot of the database
    from which on every snapshot lists it at that version (``snapshots``: oldest first)."""
    layer = snapshots[-1][0]
    for snapshot_layer, packages in reversed(snapshots):
        if packages.get(name) != version:
            break
        layer = snapshot_layer
    return layer


def paragraphs(text: str) -> list[list[str]]:
    """Blank-line separated stanzas (dpkg status, apk installed), as lists of lines."""
    result, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            result.append(current)
            current = []
    if current:
        result.append(current)
    return result


def text_of(fs: FileSystem, path: str) -> str | None:
    version = fs.current(path)
    return version.data.decode("utf-8", "replace") if version else None
