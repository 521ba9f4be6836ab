"""The vulnerability feed: OSV-format JSON records (https://ossf.github.io/osv-schema/) in a
directory (``--vuln-db``), matched against an inventory with each ecosystem's version order.

Files: ``*.json`` holding one record, a list of records or ``{"vulns": [...]}``, and ``*.zip``
archives of such files (OSV's per-ecosystem ``all.zip``), in any subdirectory. Records are
indexed by ecosystem family and package name; a record's ``affected[].package.ecosystem``
(``Debian:12``, ``Alpine:v3.19``, ``Ubuntu:22.04:LTS``, ``PyPI``, ``npm`` ...) must name the
image's OS family and, when it names one, its release. OS feeds name source packages, so
dpkg/apk/rpm packages are looked up by their source name too.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime

from ...store.scans import Cvss, Finding
from . import cvss
from .inventory import Package
from .versions import compare

log = logging.getLogger(__name__)

_SOURCES = {"debian": "DEBIAN_CVE", "ubuntu": "UBUNTU_CVE", "alpine": "ALPINE_SEC_DB", "red hat": "REDHAT_CVE",
            "rocky linux": "ROCKY_SEC", "almalinux": "ALMA_SEC", "pypi": "GITHUB_SEC_ADV", "npm": "GITHUB_SEC_ADV"}


def normalize_name(ecosystem_family: str, name: str) -> str:
    if ecosystem_family == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name.lower()


def _family(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0].strip().lower()


def ecosystem_matches(feed: str, image: str) -> bool:
    """``Debian:12`` matches ``Debian:12`` and ``Debian``; ``Ubuntu:22.04:LTS`` matches ``Ubuntu:22.04``."""
    f, i = feed.split(":"), image.split(":")
    if f[0].strip().lower() != i[0].strip().lower():
        return False
    if len(f) > 1 and len(i) > 1 and f[1].strip():
        return f[1].strip().lower().lstrip("v") == i[1].strip().lower().lstrip("v")
    return True


def _time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class _Entry:
    record: dict
    affected: dict


class VulnDb:
    """Records by ``(ecosystem family, package name)``; ``updated_at``: newest ``modified``."""

    def __init__(self, records: list[dict]) -> None:
        self.index: dict[tuple[str, str], list[_Entry]] = {}
        self.updated_at: datetime | None = None
        self.count = 0
        for record in records:
            if not isinstance(record, dict) or not isinstance(record.get("id"), str) or record.get("withdrawn"):
                continue
            self.count += 1
            modified = _time(record.get("modified"))
            if modified and (self.updated_at is None or modified > self.updated_at):
                self.updated_at = modified
            for affected in record.get("affected") or ():
                package = affected.get("package") if isinstance(affected, dict) else None
                if not isinstance(package, dict) or not package.get("name") or not package.get("ecosystem"):
                    continue
                family = _family(package["ecosystem"])
                key = (family, normalize_name(family, package["name"]))
                self.index.setdefault(key, []).append(_Entry(record, affected))

    @classmethod
    def load(cls, directory: str) -> "VulnDb":
        records: list[dict] = []
        for root, _dirs, files in sorted(os.walk(directory)):
            for name in sorted(files):
                path = os.path.join(root, name)
                if name.endswith(".json"):
                    with open(path, "rb") as f:
                        records.extend(_records(f.read(), path))
                elif name.endswith(".zip"):
                    with zipfile.ZipFile(path) as archive:
                        for member in archive.namelist():
                            if member.endswith(".json"):
                                records.extend(_records(archive.read(member), f"{path}:{member}"))
        return cls(records)

    # -- matching ---------------------------------------------------------------------------
    def match(self, packages: list[Package]) -> list[Finding]:
        findings: dict[tuple, Finding] = {}
        for package in packages:
            family = _family(package.ecosystem)
            names = {normalize_name(family, package.name)}
            if package.source_name:
                names.add(normalize_name(family, package.source_name))
            for name in names:
                for entry in self.index.get((family, name), ()):
                    if not ecosystem_matches(entry.affected["package"]["ecosystem"], package.ecosystem):
                        continue
                    hit, fixed = affects(entry.affected, package)
                    if not hit:
                        continue
                    finding = _finding(entry.record, entry.affected, package, fixed)
                    findings.setdefault((finding.vulnerability_id, package.name, package.version,
                                         package.file_path), finding)
        return list(findings.values())


def _records(data: bytes, where: str) -> list[dict]:
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError) as error:
        log.warning("vulnerability feed: %s is not JSON (%s); skipped", where, error)
        return []
    if isinstance(parsed, dict) and isinstance(parsed.get("vulns"), list):
        return parsed["vulns"]
    return parsed if isinstance(parsed, list) else [parsed]


def affects(affected: dict, package: Package) -> tuple[bool, str | None]:
    """Whether ``package``'s version is affected, and the version that fixes it (if any)."""
    versions = affected.get("versions") or ()
    if package.version in versions:
        return True, _fixed_of(affected, package)
    for rng in affected.get("ranges") or ():
        kind = rng.get("type")
        if kind not in ("ECOSYSTEM", "SEMVER"):
            continue  # GIT ranges name commits, not versions
        scheme = "semver" if kind == "SEMVER" else package.scheme
        hit, fixed = _in_range(scheme, package.version, rng.get("events") or ())
        if hit:
            return True, fixed
    return False, None


def _fixed_of(affected: dict, package: Package) -> str | None:
    for rng in affected.get("ranges") or ():
        for event in rng.get("events") or ():
            if isinstance(event, dict) and event.get("fixed"):
                return event["fixed"]
    return None


def _in_range(scheme: str, version: str, events) -> tuple[bool, str | None]:
    """OSV's evaluation of one range's events against ``version``."""
    flat = []
    for event in events:
        if isinstance(event, dict) and len(event) >= 1:
            kind, value = next(iter(event.items()))
            if kind in ("introduced", "fixed", "last_affected", "limit") and isinstance(value, str):
                flat.append((kind, value))

    def order(a, b):
        if a[1] == "0" and a[0] == "introduced":
            return -1 if not (b[1] == "0" and b[0] == "introduced") else 0
        if b[1] == "0" and b[0] == "introduced":
            return 1
        return compare(scheme, a[1], b[1])

    affected = False
    for kind, value in sorted(flat, key=functools.cmp_to_key(order)):
        at_or_below = (kind == "introduced" and value == "0") or compare(scheme, version, value) >= 0
        if not at_or_below:
            if affected and kind == "fixed":
                return True, value
            if affected and kind in ("last_affected", "limit"):
                return True, None
            continue
        if kind == "introduced":
            affected = True
        elif kind == "fixed" or kind == "limit":
            affected = False
        elif kind == "last_affected" and compare(scheme, version, value) > 0:
            affected = False
    return affected, None


def _severity(record: dict, affected: dict, scores: list[Cvss]) -> str:
    for holder in (affected.get("ecosystem_specific"), affected.get("database_specific"),
                   record.get("database_specific")):
        if isinstance(holder, dict):
            for key in ("severity", "urgency"):
                word = holder.get(key)
                if isinstance(word, str) and word.upper() in cvss.WORDS:
                    return cvss.WORDS[word.upper()]
    for entry in record.get("severity") or ():
        if isinstance(entry, dict) and entry.get("type") == "Ubuntu" and str(entry.get("score", "")).upper() in cvss.WORDS:
            return cvss.WORDS[str(entry["score"]).upper()]
    for score in sorted(scores, key=lambda c: c.version, reverse=True):
        if score.score is not None:
            return cvss.severity_of_score(score.score, score.version)
    return "UNDEFINED"


def _cvss(record: dict, source: str) -> list[Cvss]:
    scores = []
    for entry in record.get("severity") or ():
        if not isinstance(entry, dict) or not isinstance(entry.get("score"), str):
            continue
        vector, kind = entry["score"], entry.get("type")
        if kind == "CVSS_V3":
            version = vector.split("/")[0].split(":")[1] if vector.startswith("CVSS:") else "3.0"
            scores.append(Cvss(version, vector, cvss.v3_score(vector), source))
        elif kind == "CVSS_V2":
            scores.append(Cvss("2.0", vector, cvss.v2_score(vector), source))
        elif kind == "CVSS_V4":
            scores.append(Cvss("4.0", vector, None, source))
    return scores


def _display_id(record: dict) -> str:
    """The CVE when the record is another database's entry for one (DEBIAN-CVE-..., GHSA-...)."""
    if record["id"].startswith("CVE-"):
        return record["id"]
    for alias in [*(record.get("upstream") or ()), *(record.get("aliases") or ())]:
        if isinstance(alias, str) and alias.startswith("CVE-"):
            return alias
    return record["id"]


def _finding(record: dict, affected: dict, package: Package, fixed: str | None) -> Finding:
    family = _family(package.ecosystem)
    source = _SOURCES.get(family, "OSV")
    scores = _cvss(record, source)
    references = [r["url"] for r in record.get("references") or () if isinstance(r, dict) and r.get("url")]
    advisory = next((r["url"] for r in record.get("references") or ()
                     if isinstance(r, dict) and r.get("type") == "ADVISORY" and r.get("url")), None)
    vulnerability_id = _display_id(record)
    aliases = sorted({a for a in [record["id"], *(record.get("aliases") or ())]
                      if isinstance(a, str) and a != vulnerability_id})
    return Finding(
        vulnerability_id=vulnerability_id, severity=_severity(record, affected, scores),
        package_name=package.name, package_version=package.version, package_manager=package.manager,
        description=str(record.get("details") or record.get("summary") or ""),
        title=str(record.get("summary") or ""),
        uri=advisory or (references[0] if references else f"https://osv.dev/vulnerability/{record['id']}"),
        references=references, aliases=aliases, cvss=scores, fixed_version=fixed,
        file_path=package.file_path, layer_digest=package.layer, source=source,
        published=_time(record.get("published")), modified=_time(record.get("modified")),
        epoch=package.epoch, release=package.release, arch=package.arch,
    )
