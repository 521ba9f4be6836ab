"""Which OS an image is: ``/etc/os-release`` (or ``/usr/lib/os-release``), with
``/etc/alpine-release`` and ``/etc/debian_version`` as fallbacks, mapped to OSV ecosystems."""

from __future__ import annotations

import shlex

from ..layers import FileSystem
from .package import OsInfo, text_of

PATHS = ("etc/os-release", "usr/lib/os-release", "etc/alpine-release", "etc/debian_version")

#: os-release ``ID`` -> OSV ecosystem family
FAMILIES = {
    "debian": "Debian", "ubuntu": "Ubuntu", "alpine": "Alpine",
    "rhel": "Red Hat", "centos": "Red Hat", "rocky": "Rocky Linux", "almalinux": "AlmaLinux",
    "ol": "Oracle Linux", "amzn": "Amazon Linux", "fedora": "Fedora", "opensuse-leap": "openSUSE",
    "sles": "SUSE", "photon": "Photon OS", "mariner": "Mariner", "azurelinux": "Azure Linux",
    "wolfi": "Wolfi", "chainguard": "Chainguard",
}


def wanted(path: str) -> bool:
    return path in PATHS


def parse(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or key.strip().startswith("#"):
            continue
        try:
            parts = shlex.split(value, posix=True)
        except ValueError:
            parts = [value.strip().strip("\"'")]
        fields[key.strip()] = " ".join(parts)
    return fields


def _release(family: str, version_id: str) -> str:
    if not version_id:
        return ""
    if family == "Alpine":
        return "v" + ".".join(version_id.split(".")[:2])
    if family in ("Debian", "Red Hat", "Rocky Linux", "AlmaLinux", "Oracle Linux"):
        return version_id.split(".")[0]
    return version_id


def detect(fs: FileSystem) -> OsInfo | None:
    text = text_of(fs, "etc/os-release") or text_of(fs, "usr/lib/os-release")
    if text:
        fields = parse(text)
        os_id = fields.get("ID", "").lower()
        family = FAMILIES.get(os_id) or next(
            (FAMILIES[i] for i in fields.get("ID_LIKE", "").lower().split() if i in FAMILIES), None)
        if family is None:
            return OsInfo(os_id or "unknown", "", fields.get("PRETTY_NAME", ""))
        version_id = fields.get("VERSION_ID", "") if FAMILIES.get(os_id) == family else ""
        return OsInfo(family, _release(family, version_id), fields.get("PRETTY_NAME", ""))
    alpine = text_of(fs, "etc/alpine-release")
    if alpine:
        return OsInfo("Alpine", _release("Alpine", alpine.strip()), f"Alpine Linux {alpine.strip()}")
    debian = text_of(fs, "etc/debian_version")
    if debian:
        major = debian.strip().split(".")[0]
        return OsInfo("Debian", major if major.isdigit() else "", f"Debian {debian.strip()}")
    return None
