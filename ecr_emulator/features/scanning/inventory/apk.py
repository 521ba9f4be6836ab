"""Alpine (and Wolfi/Chainguard): the apk installed database ``/lib/apk/db/installed``."""

from __future__ import annotations

from ..layers import FileSystem
from .package import OsInfo, Package, introduced_in, paragraphs

FAMILIES = {"Alpine", "Wolfi", "Chainguard"}
INSTALLED = "lib/apk/db/installed"


def wanted(path: str) -> bool:
    return path == INSTALLED


def parse(text: str) -> list[dict[str, str]]:
    result = []
    for stanza in paragraphs(text):
        fields: dict[str, str] = {}
        for line in stanza:
            key, sep, value = line.partition(":")
            if sep and len(key) == 1 and key not in fields:
                fields[key] = value
        if fields.get("P") and fields.get("V"):
            result.append(fields)
    return result


def packages(fs: FileSystem, os_info: OsInfo) -> list[Package]:
    history = fs.history.get(INSTALLED)
    if not history:
        return []
    parsed = [(v.layer, parse(v.data.decode("utf-8", "replace"))) for v in history]
    snapshots = [(layer, {p["P"]: p["V"] for p in stanzas}) for layer, stanzas in parsed]
    return [
        Package(name=p["P"], version=p["V"], manager="APK", ecosystem=os_info.ecosystem, scheme="apk",
                file_path=INSTALLED, layer=introduced_in(snapshots, p["P"], p["V"]),
                source_name=p.get("o"), arch=p.get("A"))
        for p in parsed[-1][1]
    ]
