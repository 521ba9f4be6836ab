"""A server scanning against a feed the tests write (``--vuln-db``), wiped before each test,
and helpers to push synthetic images and wait for their scans."""

from __future__ import annotations

import json
import time

import pytest
import requests

from ecr_emulator.testing import ServerProcess, checked_client

from ..registry.client import Registry

#: The test feed: OSV records for the packages the tests install, with known fixed versions.
FEED = [
    {"id": "DEBIAN-CVE-2024-0727", "upstream": ["CVE-2024-0727"], "modified": "2024-06-01T00:00:00Z",
     "published": "2024-01-26T09:15:00Z", "summary": "openssl: denial of service via null dereference",
     "details": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"}],
     "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                              {"fixed": "3.0.13-1~deb12u1"}]}]}],
     "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2024-0727"}]},
    {"id": "DEBIAN-CVE-2023-45853", "upstream": ["CVE-2023-45853"], "modified": "2024-05-01T00:00:00Z",
     "summary": "zlib: integer overflow in minizip",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
     "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                              {"fixed": "1:1.2.13.dfsg-1"}]}]}]},
    {"id": "DEBIAN-CVE-2022-0001", "upstream": ["CVE-2022-0001"], "modified": "2024-05-01T00:00:00Z",
     "summary": "a Debian 11 only problem",
     "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9"}]}]}]},
    {"id": "ALPINE-CVE-2023-42363", "upstream": ["CVE-2023-42363"], "modified": "2024-03-01T00:00:00Z",
     "summary": "busybox: use-after-free in awk",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"}],
     "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "busybox"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.36.1-r16"}]}]}]},
    {"id": "ALPINE-CVE-2024-2511", "upstream": ["CVE-2024-2511"], "modified": "2024-04-10T00:00:00Z",
     "summary": "openssl: unbounded memory growth with session handling in TLSv1.3",
     "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r6"}]}],
                   "database_specific": {"severity": "LOW"}}]},
    {"id": "GHSA-j8r2-6x86-q33q", "aliases": ["CVE-2023-32681"], "modified": "2024-02-01T00:00:00Z",
     "published": "2023-05-22T20:36:32Z", "summary": "Unintended leak of Proxy-Authorization header in requests",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"}],
     "affected": [{"package": {"ecosystem": "PyPI", "name": "requests"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]}],
                   "database_specific": {"severity": "MODERATE"}}],
     "references": [{"type": "ADVISORY", "url": "https://github.com/advisories/GHSA-j8r2-6x86-q33q"}]},
    {"id": "GHSA-35jh-r3h4-6jhm", "aliases": ["CVE-2021-23337"], "modified": "2024-01-01T00:00:00Z",
     "summary": "Command Injection in lodash",
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],
     "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
                   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]},
    {"id": "RHSA-2024:0001", "aliases": ["CVE-2024-0001"], "modified": "2024-01-02T00:00:00Z",
     "summary": "curl: a test advisory for Rocky Linux 9",
     "affected": [{"package": {"ecosystem": "Rocky Linux:9", "name": "curl"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "7.76.1-29.el9"}]}],
                   "ecosystem_specific": {"severity": "Important"}}]},
]

#: the newest ``modified`` in FEED: what scans report as vulnerabilitySourceUpdatedAt
FEED_UPDATED = "2024-06-01T00:00:00+00:00"


@pytest.fixture(scope="session")
def feed_dir(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("feed")
    for record in FEED[:-1]:
        (directory / f"{record['id'].replace(':', '_')}.json").write_text(json.dumps(record))
    (directory / "rocky").mkdir()
    (directory / "rocky" / "all.json").write_text(json.dumps({"vulns": FEED[-1:]}))
    return str(directory)


@pytest.fixture(scope="session")
def _scan_server(feed_dir):
    with ServerProcess("--no-access-log", "--no-registry-auth", "--vuln-db", feed_dir) as server:
        yield server


@pytest.fixture
def scan_server(_scan_server):
    requests.post(_scan_server.url + "/_emulator/reset", timeout=10)
    return _scan_server


@pytest.fixture
def url(scan_server) -> str:
    return scan_server.url


@pytest.fixture
def ecr(scan_server):
    return checked_client("ecr", scan_server.url)


@pytest.fixture
def registry(scan_server) -> Registry:
    return Registry(scan_server.url)


def wait_for_scan(ecr, repo: str, digest: str, attempts: int = 400) -> dict:
    """DescribeImageScanFindings once the scan has left IN_PROGRESS/PENDING (bounded)."""
    for _ in range(attempts):
        answer = ecr.describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest})
        if answer["imageScanStatus"]["status"] not in ("IN_PROGRESS", "PENDING"):
            return answer
        time.sleep(0.05)
    raise AssertionError(f"the scan of {digest} did not finish")


def all_findings(ecr, repo: str, digest: str, key: str = "findings") -> list[dict]:
    pages = ecr.get_paginator("describe_image_scan_findings").paginate(
        repositoryName=repo, imageId={"imageDigest": digest})
    return [f for page in pages for f in page["imageScanFindings"].get(key, [])]


def attributes(finding: dict) -> dict[str, str]:
    return {a["key"]: a["value"] for a in finding.get("attributes", [])}
