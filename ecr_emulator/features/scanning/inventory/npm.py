"""Node.js packages: ``node_modules/<name>/package.json`` and ``node_modules/@scope/<name>/package.json``."""

from __future__ import annotations

import json
import re

from ..layers import FileSystem
from .package import OsInfo, Package

_PATH = re.compile(r"(?:^|/)node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json$")


def wanted(path: str) -> bool:
    return bool(_PATH.search(path))


def packages(fs: FileSystem, os_info: OsInfo | None) -> list[Package]:
    found = []
    for path in fs.paths():
        if not wanted(path):
            continue
        current = fs.current(path)
        try:
            manifest = json.loads(current.data)
        except (ValueError, RecursionError):
            continue
        if not isinstance(manifest, dict):
            continue
        name, version = manifest.get("name"), manifest.get("version")
        if isinstance(name, str) and isinstance(version, str) and name and version:
            found.append(Package(name=name, version=version, manager="NODEPKG", ecosystem="npm", scheme="semver",
                                 file_path=path, layer=current.layer))
    return found
