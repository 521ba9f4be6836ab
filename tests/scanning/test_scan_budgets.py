"""Scanner budgets: an image past what one scan may expand or read ends IMAGE_SIZE_EXCEEDED with a
description naming the budget, and a scan's memory stays bounded whatever the image holds.

The memory test is the issue's: one gzip layer (about 1 MiB) of 16 files of 64 MiB under
``var/lib/dpkg/status.d/`` -- each file small enough for the per-file limit, 1 GiB together --
scanned at the default settings by a server of its own, whose peak RSS (``VmHWM``) must not
grow by 200 MiB (it grew by 2.2 GiB before the budgets).
"""

from __future__ import annotations

import io
import tarfile
import zlib

import pytest

from ecr_emulator.testing import ServerProcess, checked_client
from ecr_emulator.testing.scan_images import dpkg_status, image_of, layer, os_release

from ..registry.client import Registry
from .conftest import wait_for_scan

MIB = 1 << 20
DEBIAN = {"etc/os-release": os_release("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
          "var/lib/dpkg/status": dpkg_status([("openssl", "3.0.11-1~deb12u2")])}


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        count = min(len(target), self.left)
        target[:count] = bytes(count)
        self.left -= count
        return count


class _Gzipped(io.RawIOBase):
    """A write-only file that gzips what is written to it into ``self.out``."""

    def __init__(self) -> None:
        self.compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        self.out = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.out.write(self.compressor.compress(data))
        return len(data)

    def finish(self) -> bytes:
        self.out.write(self.compressor.flush())
        return self.out.getvalue()


def _bomb_layer(files: int, size: int) -> bytes:
    sink = _Gzipped()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=MIB) as tar:
        for name, content in DEBIAN.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for i in range(files):
            info = tarfile.TarInfo(f"var/lib/dpkg/status.d/package{i}")
            info.size = size
            tar.addfile(info, io.BufferedReader(_Zeros(size), MIB))
    return sink.finish()


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _push_and_scan(server, name: str, layers: list[bytes]) -> dict:
    ecr = checked_client("ecr", server.url)
    ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})
    digest = Registry(server.url).push_image(name, image_of(layers), tag="v1")
    return wait_for_scan(ecr, name, digest, attempts=2400)["imageScanStatus"]


def test_sixteen_files_of_64_mib_keep_the_scan_memory_bounded():
    bomb = _bomb_layer(16, 64 * MIB)
    assert len(bomb) < 8 * MIB
    with ServerProcess("--no-access-log", "--no-registry-auth") as server:
        ecr = checked_client("ecr", server.url)
        ecr.create_repository(repositoryName="warm", imageScanningConfiguration={"scanOnPush": True})
        wait_for_scan(ecr, "warm", Registry(server.url).push_image("warm", image_of([layer(DEBIAN)]), tag="v1"))
        pid = server.worker_pid()
        before = _peak_rss(pid)
        status = _push_and_scan(server, "bomb", [bomb])
        grown = _peak_rss(pid) - before
    assert status["status"] == "IMAGE_SIZE_EXCEEDED", status
    assert "ECR_EMULATOR_SCAN_MAX_READ_BYTES" in status["description"]
    assert grown < 200 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB"


@pytest.fixture(scope="module")
def small_budgets(feed_dir):
    with ServerProcess("--no-access-log", "--no-registry-auth", "--vuln-db", feed_dir, env={
            "ECR_EMULATOR_SCAN_MAX_LAYER_BYTES": str(4 * MIB), "ECR_EMULATOR_SCAN_MAX_IMAGE_BYTES": str(6 * MIB),
            "ECR_EMULATOR_SCAN_MAX_FILES": "4", "ECR_EMULATOR_SCAN_MAX_READ_BYTES": str(MIB)}) as server:
        yield server


@pytest.mark.parametrize("name, layers, budget", [
    ("layer", [layer({**DEBIAN, "opt/big": bytes(5 * MIB)})], "ECR_EMULATOR_SCAN_MAX_LAYER_BYTES"),
    ("image", [layer(DEBIAN), layer({"opt/a": bytes(3 * MIB)}), layer({"opt/b": bytes(3 * MIB)})],
     "ECR_EMULATOR_SCAN_MAX_IMAGE_BYTES"),
    ("files", [layer({**DEBIAN, **{f"var/lib/dpkg/status.d/p{i}": b"Package: p\n" for i in range(3)}})],
     "ECR_EMULATOR_SCAN_MAX_FILES"),
    ("read", [layer({**DEBIAN, "var/lib/dpkg/status.d/big": bytes(MIB)})], "ECR_EMULATOR_SCAN_MAX_READ_BYTES"),
])
def test_an_image_past_a_budget_is_image_size_exceeded_naming_it(small_budgets, name, layers, budget):
    status = _push_and_scan(small_budgets, name, layers)
    assert status["status"] == "IMAGE_SIZE_EXCEEDED", status
    assert budget in status["description"], status


def test_an_image_within_the_budgets_is_scanned(small_budgets):
    status = _push_and_scan(small_budgets, "within", [layer(DEBIAN), layer({"opt/a": bytes(2 * MIB)})])
    assert status["status"] == "COMPLETE", status
