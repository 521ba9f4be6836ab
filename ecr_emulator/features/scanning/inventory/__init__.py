"""What is installed in an image: its OS (os-release) and its packages, per package manager.

Each module here knows one package database: which paths it reads (``wanted``) and how to
list packages from them (``packages``). :func:`inventory` runs them over a walked
:class:`~ecr_emulator.features.scanning.layers.FileSystem`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layers import FileSystem
from . import apk, dpkg, npm, os_release, python, rpm
from .package import UNSUPPORTED, OsInfo, Package, UnsupportedImage

OS_MANAGERS = (dpkg, apk, rpm)
LANGUAGE_MANAGERS = (python, npm)
_ALL = (os_release, *OS_MANAGERS, *LANGUAGE_MANAGERS)


def wanted(path: str) -> bool:
    return any(module.wanted(path) for module in _ALL)


@dataclass
class Inventory:
    os: OsInfo | None
    packages: list[Package]


def inventory(fs: FileSystem, *, languages: bool) -> Inventory:
    """The image's OS and packages; OS packages always, language packages if ``languages``.

    Raises :class:`UnsupportedImage` when there is nothing the scanner can read: no known OS
    (and, with ``languages``, no language package either), or an OS package database in a
    format the scanner does not read.
    """
    os_info = os_release.detect(fs)
    packages: list[Package] = []
    if os_info is not None:
        manager = next((m for m in OS_MANAGERS if m.FAMILIES & {os_info.family}), None)
        if manager is None:
            raise UnsupportedImage(f"{UNSUPPORTED} ({os_info.pretty or os_info.family})")
        packages.extend(manager.packages(fs, os_info))
    if languages:
        for module in LANGUAGE_MANAGERS:
            packages.extend(module.packages(fs, os_info))
    if os_info is None and not packages:
        raise UnsupportedImage(UNSUPPORTED)
    return Inventory(os_info, packages)

__all__ = ["Inventory", "OsInfo", "Package", "UnsupportedImage", "inventory", "wanted"]
