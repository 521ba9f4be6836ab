"""Debian and Ubuntu: ``/var/lib/dpkg/status`` and distroless's ``/var/lib/dpkg/status.d/*``."""

from __future__ import annotations

from ..layers import FileSystem
from .package import OsInfo, Package, introduced_in, paragraphs

FAMILIES = {"Debian", "Ubuntu"}
STATUS = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"


def wanted(path: str) -> bool:
    return path == STATUS or (path.startswith(STATUS_DIR) and not path.endswith(".md5sums"))


def _fields(stanza: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in stanza:
        if line[:1] in (" ", "\t"):
            continue  # continuation of a long field (Description, Conffiles)
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def parse(text: str) -> list[dict[str, str]]:
    """Installed packages (``Status: ... installed``) of a status file."""
    result = []
    for stanza in paragraphs(text):
        fields = _fields(stanza)
        status = fields.get("Status", "install ok installed").split()
        if fields.get("Package") and fields.get("Version") and status[-1:] == ["installed"]:
            result.append(fields)
    return result


def packages(fs: FileSystem, os_info: OsInfo) -> list[Package]:
    found: list[Package] = []
    for path in fs.paths():
        if not wanted(path):
            continue
        history = fs.history[path]
        parsed = [(v.layer, parse(v.data.decode("utf-8", "replace"))) for v in history]
        snapshots = [(layer, {p["Package"]: p["Version"] for p in stanzas}) for layer, stanzas in parsed]
        for fields in parsed[-1][1]:
            source = fields.get("Source", "").split(" ")[0] or None
            found.append(Package(
                name=fields["Package"], version=fields["Version"], manager="DPKG",
                ecosystem=os_info.ecosystem, scheme="dpkg", file_path=path,
                layer=introduced_in(snapshots, fields["Package"], fields["Version"]),
                source_name=source, arch=fields.get("Architecture"),
            ))
    return found
