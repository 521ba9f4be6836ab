"""Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` (``PKG-INFO``, or the
file itself) in any ``site-packages`` or ``dist-packages``."""

from __future__ import annotations

import re
from email.parser import HeaderParser

from ..layers import FileSystem
from .package import OsInfo, Package

_PATH = re.compile(r"(?:^|/)(?:site|dist)-packages/[^/]+\.(?:dist-info/METADATA|egg-info/PKG-INFO|egg-info)$")


def wanted(path: str) -> bool:
    return bool(_PATH.search(path))


def packages(fs: FileSystem, os_info: OsInfo | None) -> list[Package]:
    found = []
    for path in fs.paths():
        if not wanted(path):
            continue
        current = fs.current(path)
        headers = HeaderParser().parsestr(current.data.decode("utf-8", "replace"), headersonly=True)
        name, version = headers.get("Name"), headers.get("Version")
        if name and version:
            found.append(Package(name=name.strip(), version=version.strip(), manager="PYTHONPKG", ecosystem="PyPI",
                                 scheme="pep440", file_path=path, layer=current.layer))
    return found
