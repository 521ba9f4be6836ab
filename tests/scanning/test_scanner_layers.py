"""What the scanner reads from layers: compression, whiteouts, the layer that brought a
package in, RPM databases, unknown OSes, and corrupt or truncated layers (FAILED, not a crash)."""

from __future__ import annotations

import gzip

import pytest

from ecr_emulator.testing.scan_images import (
    dpkg_status,
    image_of,
    layer,
    os_release,
    python_metadata,
    rpm_database,
)
from ecr_emulator.testing.synthetic import digest_of

from .conftest import attributes, wait_for_scan

DEBIAN = os_release("debian", "12")


def scan(ecr, registry, image, repo="scanned") -> dict:
    if repo not in {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}:
        ecr.create_repository(repositoryName=repo, imageScanningConfiguration={"scanOnPush": True})
    digest = registry.push_image(repo, image)
    return wait_for_scan(ecr, repo, digest)


def packages_found(answer) -> set[tuple[str, str]]:
    return {(attributes(f)["package_name"], attributes(f)["package_version"])
            for f in answer["imageScanFindings"]["findings"]}


@pytest.mark.parametrize("compression", ["gzip", "zstd", None])
def test_gzip_zstd_and_plain_tar_layers_are_read(ecr, registry, compression):
    image = image_of([layer({"etc/os-release": DEBIAN,
                             "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl")])},
                            compression)])
    answer = scan(ecr, registry, image)
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    assert packages_found(answer) == {("libssl3", "3.0.9-1")}


def test_a_whiteout_removes_a_file_of_a_lower_layer(ecr, registry):
    """The status file is deleted by a whiteout, then the next layer installs a fixed one."""
    enhanced = python_metadata("requests", "2.28.1")
    lower = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl")]),
                   **enhanced})
    dist_info = next(iter(enhanced)).rsplit("/", 1)[0]
    parent, name = dist_info.rsplit("/", 1)
    middle = layer({"var/lib/dpkg/.wh.status": b"", f"{parent}/.wh.{name}": b""})
    upper = layer({"var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.13-1~deb12u1", "openssl")])})
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[{
        "scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}])
    answer = scan(ecr, registry, image_of([lower, middle, upper]))
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    assert answer["imageScanFindings"]["enhancedFindings"] == []


def test_an_opaque_directory_hides_what_lower_layers_put_in_it(ecr, registry):
    lower = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl")])})
    upper = layer({"var/lib/dpkg/.wh..wh..opq": b""})
    answer = scan(ecr, registry, image_of([lower, upper]))
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    assert answer["imageScanFindings"]["findings"] == []


def test_each_finding_names_the_layer_that_brought_its_package_in(ecr, registry):
    first = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl")])})
    # the second layer rewrites the status database: libssl3 unchanged, zlib1g added
    second = layer({"var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl"),
                                                         ("zlib1g", "1:1.2.11.dfsg-2", "zlib")])})
    answer = scan(ecr, registry, image_of([first, second]))
    layers = {attributes(f)["package_name"]: attributes(f)["source_layer_hash"]
              for f in answer["imageScanFindings"]["findings"]}
    assert layers == {"libssl3": digest_of(first), "zlib1g": digest_of(second)}


def test_a_package_upgraded_in_a_later_layer_comes_from_that_layer(ecr, registry):
    first = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.1-1", "openssl")])})
    second = layer({"var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.9-1", "openssl")])})
    answer = scan(ecr, registry, image_of([first, second]))
    (finding,) = answer["imageScanFindings"]["findings"]
    assert attributes(finding)["package_version"] == "3.0.9-1"
    assert attributes(finding)["source_layer_hash"] == digest_of(second)


def test_distroless_status_d_and_usr_lib_os_release(ecr, registry):
    image = image_of([layer({"usr/lib/os-release": DEBIAN,
                             "var/lib/dpkg/status.d/libssl3": dpkg_status([("libssl3", "3.0.9-1", "openssl")]),
                             "var/lib/dpkg/status.d/libssl3.md5sums": b"0000  usr/lib/libssl.so.3\n"})])
    answer = scan(ecr, registry, image)
    assert packages_found(answer) == {("libssl3", "3.0.9-1")}


def test_rpm_sqlite_database(ecr, registry):
    rocky = os_release("rocky", "9.3", "Rocky Linux 9.3 (Blue Onyx)")
    database = rpm_database([
        {"name": "curl", "version": "7.76.1", "release": "26.el9", "arch": "x86_64",
         "sourcerpm": "curl-7.76.1-26.el9.src.rpm"},
        {"name": "libcurl", "version": "7.76.1", "release": "29.el9", "arch": "x86_64",
         "sourcerpm": "curl-7.76.1-29.el9.src.rpm"},
        {"name": "bash", "version": "5.1.8", "release": "6.el9", "epoch": 0, "arch": "x86_64",
         "sourcerpm": "bash-5.1.8-6.el9.src.rpm"},
    ])
    answer = scan(ecr, registry, image_of([layer({"etc/os-release": rocky, "var/lib/rpm/rpmdb.sqlite": database})]))
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    (finding,) = answer["imageScanFindings"]["findings"]
    assert (finding["name"], finding["severity"]) == ("CVE-2024-0001", "HIGH")
    assert attributes(finding)["package_version"] == "7.76.1-26.el9"


def test_an_image_whose_os_is_unknown_is_unsupported(ecr, registry):
    answer = scan(ecr, registry, image_of([layer({"app/server": b"binary"})]))
    assert answer["imageScanStatus"] == {
        "status": "UNSUPPORTED_IMAGE", "description": "The operating system and/or package manager are not supported."}
    assert "imageScanFindings" not in answer


def test_an_rpm_database_in_berkeley_db_format_is_unsupported_and_says_why(ecr, registry):
    centos = os_release("centos", "7")
    answer = scan(ecr, registry, image_of([layer({"etc/os-release": centos, "var/lib/rpm/Packages": b"\0" * 64})]))
    assert answer["imageScanStatus"]["status"] == "UNSUPPORTED_IMAGE"
    assert "var/lib/rpm/Packages" in answer["imageScanStatus"]["description"]


def good_layer() -> bytes:
    return layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("bash", "5.2-1")])})


@pytest.mark.parametrize("damage", ["truncated-gzip", "garbage-gzip", "truncated-zstd", "not-a-tar"])
def test_a_corrupt_or_truncated_layer_fails_the_scan_with_a_reason(ecr, registry, url, damage):
    raw = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("bash", "5.2-1")]),
                 "filler": bytes(range(256)) * 400}, "zstd" if "zstd" in damage else "gzip")
    broken = {
        "truncated-gzip": raw[: len(raw) // 2],
        "garbage-gzip": raw[:20] + b"\xff" * 200 + raw[220:],
        "truncated-zstd": raw[: len(raw) // 2],
        "not-a-tar": gzip.compress(b"this is not a tar archive" * 100),
    }[damage]
    answer = scan(ecr, registry, image_of([good_layer(), broken]))
    status = answer["imageScanStatus"]
    assert status["status"] == "FAILED"
    assert digest_of(broken) in status["description"]
    assert status["description"].startswith("UnableToScan: layer ")
    assert "imageScanFindings" not in answer
    # the server is fine: the next image scans normally
    assert scan(ecr, registry, image_of([good_layer()]))["imageScanStatus"]["status"] == "COMPLETE"
