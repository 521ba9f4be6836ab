"""Real clients: an image pushed with skopeo is scanned on push; the AWS CLI's
``ecr wait image-scan-complete`` and ``describe-image-scan-findings`` read the result;
``ecr-emulator operations`` lists every scanning operation as implemented."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ecr_emulator.testing.scan_images import apk_installed, image_of, layer, os_release
from ecr_emulator.testing.synthetic import write_oci_layout

from ..e2e.test_awscli import aws_cli  # noqa: F401  (the fixture, against this directory's server)
from ..tools import need
from .conftest import attributes, wait_for_scan

pytestmark = pytest.mark.slow

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
ALPINE = os_release("alpine", "3.19.1")


def alpine_image(compression="zstd"):
    return image_of([layer({"etc/os-release": ALPINE,
                            "lib/apk/db/installed": apk_installed([("busybox", "1.36.1-r15")])}, compression)])


def test_pushed_with_skopeo_and_scanned_on_push(ecr, scan_server, tmp_path):
    need(shutil.which(SKOPEO), "skopeo is not installed")
    ecr.create_repository(repositoryName="skopeo/alpine", imageScanningConfiguration={"scanOnPush": True})
    image = alpine_image("zstd")
    source = write_oci_layout(str(tmp_path / "layout"), image, tag="v1")
    subprocess.run([SKOPEO, "copy", "--dest-tls-verify=false", "--preserve-digests", source,
                    f"docker://{scan_server.host}/skopeo/alpine:v1"], check=True, capture_output=True, timeout=120)
    answer = wait_for_scan(ecr, "skopeo/alpine", image.digest)
    assert [(f["name"], attributes(f)["package_name"]) for f in answer["imageScanFindings"]["findings"]] == [
        ("CVE-2023-42363", "busybox")]


def test_the_aws_cli_waits_for_and_reads_a_scan(ecr, registry, aws_cli):  # noqa: F811
    ecr.create_repository(repositoryName="cli", imageScanningConfiguration={"scanOnPush": True})
    digest = registry.push_image("cli", alpine_image("gzip"), tag="v1")
    wait_for_scan(ecr, "cli", digest)
    waited = aws_cli("ecr", "wait", "image-scan-complete", "--repository-name", "cli", "--image-id", "imageTag=v1")
    assert waited.returncode == 0, waited.stderr
    shown = aws_cli("ecr", "describe-image-scan-findings", "--repository-name", "cli", "--image-id", "imageTag=v1")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert body["imageScanStatus"]["status"] == "COMPLETE"
    assert body["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 1}


def test_operations_lists_every_scanning_operation():
    listing = subprocess.run([sys.executable, "-m", "ecr_emulator", "operations"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    for name in ("PutRegistryScanningConfiguration", "GetRegistryScanningConfiguration",
                 "BatchGetRepositoryScanningConfiguration", "StartImageScan", "DescribeImageScanFindings",
                 "PutImageScanningConfiguration", "GetAccountSetting", "PutAccountSetting"):
        assert f"[x] {name}" in listing
