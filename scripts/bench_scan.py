#!/usr/bin/env python3
"""Image scanner benchmark: seconds and peak memory to scan a large image with ~1,000 packages.

The image: one base layer with ``/etc/os-release`` (Debian 12) and a dpkg status listing
``--packages`` packages, plus filler layers of incompressible files (base64 text, gzip level 1 and
zstd alternating) up to ``--size-mib`` of layer blobs. The feed: one OSV record per package, half
of the packages at a vulnerable version (so half as many findings as packages).

Two measurements:

- **engine** (in this process): ``scanner.scan_image`` over blobs held as 1 MiB buffers, as the
  store holds them, for each size of ``--sizes`` -- seconds, and the peak RSS the scan adds
  (VmHWM after the scan minus VmRSS before it, with the high-water mark reset first). The
  sizes show whether memory grows with layer size (it must not: layers are streamed).
- **server** (``--size-mib``): push through the registry to ``ecr-emulator serve``, then
  StartImageScan and poll DescribeImageScanFindings until COMPLETE -- seconds from the
  StartImageScan call, and the peak RSS the scan adds to the server process.

Everything binds 127.0.0.1, every wait is bounded, the server and temporary files are removed.

usage: python scripts/bench_scan.py [--size-mib 200] [--packages 1000] [--sizes 50,200]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import shutil
import sys
import tempfile
import time

import requests
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ecr_emulator.features.scanning.osv import VulnDb  # noqa: E402
from ecr_emulator.features.scanning.scanner import scan_image  # noqa: E402
from ecr_emulator.store.blobs import Blob  # noqa: E402
from ecr_emulator.testing import ServerProcess, checked_client  # noqa: E402
from ecr_emulator.testing.scan_images import dpkg_status, image_of, os_release, tar_of  # noqa: E402

MIB = 1 << 20
FILE_SIZE = 4 * MIB
TIMEOUT = 600


def packages(count: int) -> list[tuple[str, str]]:
    return [(f"pkg{i:04d}", "1.0-1" if i % 2 == 0 else "3.0-1") for i in range(count)]


def feed(directory: str, count: int) -> None:
    for name, _ in packages(count):
        record = {"id": f"CVE-2099-{int(name[3:]) + 10000}", "modified": "2025-01-01T00:00:00Z",
                  "summary": f"a problem in {name}",
                  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                  "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}]}]}
        with open(os.path.join(directory, f"{name}.json"), "w") as f:
            json.dump(record, f)


def filler_layer(index: int, size: int) -> bytes:
    """About ``size`` compressed bytes of files in a tar, gzip level 1 (even index) or zstd
    (odd). The files are base64 text of random bytes: compressible (~0.75), so decompression is
    real Huffman/entropy decoding, not the stored-block copy random bytes would get."""
    count = max(1, int(size / 0.76) // FILE_SIZE)
    files = {f"opt/data{index}/file{i}.txt": base64.b64encode(os.urandom(FILE_SIZE * 3 // 4)) for i in range(count)}
    data = tar_of(files)
    if index % 2 == 0:
        return gzip.compress(data, compresslevel=1, mtime=0)
    return zstandard.ZstdCompressor(level=1).compress(data)


def build(size_mib: int, count: int):
    base = gzip.compress(tar_of({"etc/os-release": os_release("debian", "12"),
                                 "var/lib/dpkg/status": dpkg_status(packages(count))}), mtime=0)
    layers, left, index = [base], size_mib * MIB - len(base), 0
    while left > 0:
        layer = filler_layer(index, min(left, 50 * MIB))
        layers.append(layer)
        left -= len(layer)
        index += 1
    return image_of(layers)


def rss(kind: str, pid: str | int = "self") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(kind + ":"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid: str | int = "self") -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def engine(size_mib: int, count: int, db: VulnDb) -> None:
    image = build(size_mib, count)
    blobs = {d: Blob(d, len(data), [data[i:i + MIB] for i in range(0, len(data), MIB)])
             for d, data in image.blobs.items()}
    total = sum(len(layer) for layer in image.layers)
    del image.blobs
    before = rss("VmRSS")
    reset_peak()
    started = time.perf_counter()
    outcome = scan_image(blobs, image.manifest, "BASIC", db)
    seconds = time.perf_counter() - started
    added = rss("VmHWM") - before
    print(f"engine  {total / MIB:6.0f} MiB in {len(image.layers)} layers, {count} packages: {outcome.status}, "
          f"{len(outcome.findings)} findings, {seconds:.2f} s, peak RSS +{added / MIB:.1f} MiB")


def server(size_mib: int, count: int, feed_dir: str) -> None:
    image = build(size_mib, count)
    total = sum(len(layer) for layer in image.layers)
    with ServerProcess("--no-access-log", "--no-registry-auth", "--vuln-db", feed_dir) as process:
        ecr = checked_client("ecr", process.url)
        ecr.create_repository(repositoryName="bench/scan")
        session = requests.Session()
        for digest, data in image.blobs.items():
            answer = session.post(f"{process.url}/v2/bench/scan/blobs/uploads/", params={"digest": digest},
                                  data=data, timeout=TIMEOUT)
            assert answer.status_code == 201, answer.text
        answer = session.put(f"{process.url}/v2/bench/scan/manifests/v1", data=image.manifest,
                             headers={"Content-Type": image.media_type}, timeout=TIMEOUT)
        assert answer.status_code == 201, answer.text
        del image.blobs
        parent = process._process.pid
        with open(f"/proc/{parent}/task/{parent}/children") as f:
            worker = int(f.read().split()[0])
        before = rss("VmRSS", worker)
        reset_peak(worker)
        started = time.perf_counter()
        ecr.start_image_scan(repositoryName="bench/scan", imageId={"imageTag": "v1"})
        deadline = time.monotonic() + TIMEOUT
        while True:
            found = ecr.describe_image_scan_findings(repositoryName="bench/scan", imageId={"imageTag": "v1"},
                                                     maxResults=1000)
            if found["imageScanStatus"]["status"] != "IN_PROGRESS" or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        added = rss("VmHWM", worker) - before
        counts = found.get("imageScanFindings", {}).get("findingSeverityCounts")
        print(f"server  {total / MIB:6.0f} MiB in {len(image.layers)} layers, {count} packages: "
              f"{found['imageScanStatus']['status']} {counts}, {seconds:.2f} s from StartImageScan, "
              f"worker peak RSS +{added / MIB:.1f} MiB (worker RSS before the scan {before / MIB:.0f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--sizes", default="50,200", help="engine runs, MiB of layers each (comma-separated)")
    args = parser.parse_args()
    feed_dir = tempfile.mkdtemp(prefix="bench-scan-feed-")
    try:
        feed(feed_dir, args.packages)
        db = VulnDb.load(feed_dir)
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            engine(size, args.packages, db)
        server(args.size_mib, args.packages, feed_dir)
    finally:
        shutil.rmtree(feed_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
