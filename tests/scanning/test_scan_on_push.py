"""Scan on push through both doors, against the test feed: exact findings for dpkg, apk,
Python and npm packages, none for fixed versions."""

from __future__ import annotations

from ecr_emulator.testing.scan_images import (
    apk_installed,
    dpkg_status,
    image_of,
    layer,
    npm_package,
    os_release,
    python_metadata,
)
from ecr_emulator.testing.synthetic import digest_of

from ..control.test_layers import push_image
from .conftest import FEED_UPDATED, all_findings, attributes, wait_for_scan

DEBIAN = os_release("debian", "12", "Debian GNU/Linux 12 (bookworm)")
ALPINE = os_release("alpine", "3.19.1", "Alpine Linux v3.19")


def debian_image(packages, *extra_layers):
    base = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status(packages)})
    return image_of([base, *extra_layers])


def test_dpkg_image_pushed_through_the_registry_is_scanned_on_push(ecr, registry):
    ecr.create_repository(repositoryName="team/debian", imageScanningConfiguration={"scanOnPush": True})
    image = debian_image([
        ("libssl3", "3.0.11-1~deb12u2", "openssl"),       # vulnerable (fixed in 3.0.13-1~deb12u1)
        ("openssl", "3.0.11-1~deb12u2"),                  # the same source, another binary
        ("zlib1g", "1:1.2.13.dfsg-1", "zlib"),            # exactly the fixed version: not vulnerable
        ("bash", "5.2.15-2+b2"),
    ])
    digest = registry.push_image("team/debian", image, tag="v1")
    ecr.get_waiter("image_scan_complete").wait(
        repositoryName="team/debian", imageId={"imageTag": "v1"}, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200})
    answer = ecr.describe_image_scan_findings(repositoryName="team/debian", imageId={"imageDigest": digest})
    assert answer["imageScanStatus"] == {"status": "COMPLETE", "description": "The scan was completed successfully."}
    findings = answer["imageScanFindings"]["findings"]
    assert [(f["name"], attributes(f)["package_name"]) for f in findings] == [
        ("CVE-2024-0727", "libssl3"), ("CVE-2024-0727", "openssl")]
    first = findings[0]
    assert first["severity"] == "MEDIUM"
    assert first["uri"] == "https://security-tracker.debian.org/tracker/CVE-2024-0727"
    assert first["description"] == "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash."
    assert attributes(first) == {
        "package_name": "libssl3", "package_version": "3.0.11-1~deb12u2", "fixed_in_version": "3.0.13-1~deb12u1",
        "CVSS3_SCORE": "6.5", "CVSS3_VECTOR": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        "source_layer_hash": digest_of(image.layers[0]),
    }
    assert answer["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 2}
    assert answer["imageScanFindings"]["vulnerabilitySourceUpdatedAt"].isoformat() == FEED_UPDATED

    detail = ecr.describe_images(repositoryName="team/debian")["imageDetails"][0]
    assert detail["imageScanStatus"]["status"] == "COMPLETE"
    assert detail["imageScanFindingsSummary"]["findingSeverityCounts"] == {"MEDIUM": 2}


def test_apk_image_put_through_the_api_is_scanned_by_a_registry_rule(ecr):
    ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[{
        "scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "alp*", "filterType": "WILDCARD"}]}])
    ecr.create_repository(repositoryName="alpine-app")
    image = image_of([layer({"etc/os-release": ALPINE, "lib/apk/db/installed": apk_installed([
        ("busybox", "1.36.1-r15"), ("busybox-binsh", "1.36.1-r15", "busybox"),
        ("libcrypto3", "3.1.4-r5", "openssl"), ("musl", "1.2.4_git20230717-r4"),
    ])})], media_types=None)
    digest = push_image(ecr, "alpine-app", image, tag="3.19")["imageId"]["imageDigest"]
    answer = wait_for_scan(ecr, "alpine-app", digest)
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    found = {(f["name"], attributes(f)["package_name"], f["severity"], attributes(f).get("fixed_in_version"))
             for f in answer["imageScanFindings"]["findings"]}
    assert found == {
        ("CVE-2023-42363", "busybox", "HIGH", "1.36.1-r16"),
        ("CVE-2023-42363", "busybox-binsh", "HIGH", "1.36.1-r16"),
        ("CVE-2024-2511", "libcrypto3", "LOW", "3.1.4-r6"),
    }
    assert answer["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 2, "LOW": 1}


def test_an_image_with_fixed_versions_has_no_findings(ecr, registry):
    ecr.create_repository(repositoryName="fixed", imageScanningConfiguration={"scanOnPush": True})
    image = debian_image([("libssl3", "3.0.13-1~deb12u1", "openssl"), ("zlib1g", "1:1.3.dfsg-3", "zlib")])
    digest = registry.push_image("fixed", image)
    answer = wait_for_scan(ecr, "fixed", digest)
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    assert answer["imageScanFindings"]["findings"] == []
    assert answer["imageScanFindings"]["findingSeverityCounts"] == {}


def test_enhanced_scanning_reports_language_packages_with_inspector_findings(ecr, registry):
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[{
        "scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}])
    ecr.create_repository(repositoryName="py")
    base = layer({"etc/os-release": DEBIAN, "var/lib/dpkg/status": dpkg_status([("libssl3", "3.0.11-1~deb12u2",
                                                                                  "openssl")])})
    app = layer({**python_metadata("requests", "2.28.1"), **python_metadata("urllib3", "2.2.1"),
                 **npm_package("lodash", "4.17.20"), **npm_package("express", "4.19.2")})
    image = image_of([base, app])
    digest = registry.push_image("py", image, tag="latest")
    answer = wait_for_scan(ecr, "py", digest)
    assert answer["imageScanStatus"]["status"] == "COMPLETE"
    findings = all_findings(ecr, "py", digest, key="enhancedFindings")
    by_id = {f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in findings}
    assert set(by_id) == {"CVE-2024-0727", "CVE-2023-32681", "CVE-2021-23337"}
    requests_finding = by_id["CVE-2023-32681"]
    package = requests_finding["packageVulnerabilityDetails"]["vulnerablePackages"][0]
    assert package == {
        "name": "requests", "version": "2.28.1", "packageManager": "PYTHONPKG", "fixedInVersion": "2.31.0",
        "filePath": "usr/lib/python3.11/site-packages/requests-2.28.1.dist-info/METADATA",
        "sourceLayerHash": digest_of(image.layers[1]),
    }
    assert requests_finding["severity"] == "MEDIUM"
    assert requests_finding["title"] == "CVE-2023-32681 - requests"
    assert requests_finding["fixAvailable"] == "YES"
    assert requests_finding["score"] == 6.1
    assert requests_finding["packageVulnerabilityDetails"]["relatedVulnerabilities"] == ["GHSA-j8r2-6x86-q33q"]
    image_details = requests_finding["resources"][0]["details"]["awsEcrContainerImage"]
    assert image_details["imageHash"] == digest and image_details["repositoryName"] == "py"
    assert image_details["imageTags"] == ["latest"] and image_details["architecture"] == "amd64"
    lodash = by_id["CVE-2021-23337"]["packageVulnerabilityDetails"]["vulnerablePackages"][0]
    assert (lodash["name"], lodash["version"], lodash["packageManager"]) == ("lodash", "4.17.20", "NODEPKG")
    assert by_id["CVE-2021-23337"]["severity"] == "HIGH"
    openssl = by_id["CVE-2024-0727"]["packageVulnerabilityDetails"]["vulnerablePackages"][0]
    assert (openssl["name"], openssl["version"], openssl["release"], openssl["epoch"]) == (
        "libssl3", "3.0.11", "1~deb12u2", 0)
    assert openssl["sourceLayerHash"] == digest_of(image.layers[0])
    assert answer["imageScanFindings"]["findingSeverityCounts"] == {"MEDIUM": 2, "HIGH": 1}
