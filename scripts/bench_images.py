#!/usr/bin/env python3
"""ListImages / DescribeImages page cost against the repository's size (issue 13 point 9).

A page's cost must follow the page size, not the repository's: the first page of 100 at
20,000 images should cost about what it costs at 1,000. The app is called in-process through
its WSGI door (the AWS JSON protocol: parsing, the handler under the lock, serializing), with
no sockets or botocore in the figure. Repositories are filled with PutImage of small manifests
(``--lenient-manifests``, so no blobs are needed).

Printed per size and operation: the median milliseconds of the first page, of a page in the
middle and of the last page (a deep page still skips the images before it: its offset costs
a filter check per skipped image).

usage: python scripts/bench_images.py [--sizes 1000,20000] [--page 100] [--repeat 30]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from werkzeug.test import Client  # noqa: E402

from ecr_emulator.app import create_app  # noqa: E402
from ecr_emulator.settings import Settings  # noqa: E402

TARGET = "AmazonEC2ContainerRegistry_V20150921."
MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _call(client: Client, operation: str, body: dict) -> dict:
    response = client.post("/", data=json.dumps(body), headers={
        "X-Amz-Target": TARGET + operation, "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _manifest(i: int) -> str:
    config = hashlib.sha256(f"config-{i}".encode()).hexdigest()
    layer = hashlib.sha256(f"layer-{i}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + config, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + layer,
                    "size": 1024}],
    })


def _fill(client: Client, name: str, count: int) -> None:
    _call(client, "CreateRepository", {"repositoryName": name})
    for i in range(count):
        body = {"repositoryName": name, "imageManifest": _manifest(i), "imageManifestMediaType": MEDIA_TYPE}
        if i % 2 == 0:
            body["imageTag"] = f"t{i}"
        _call(client, "PutImage", body)


def _token(offset: int, operation: str, name: str) -> str | None:
    """The nextToken a client holds after walking to ``offset`` (built as the emulator does)."""
    if offset == 0:
        return None
    scope = f"ecr:{operation}:123456789012:{name}"
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def _page_ms(client: Client, operation: str, name: str, offset: int, page: int, repeat: int) -> float:
    body = {"repositoryName": name, "maxResults": page}
    token = _token(offset, operation, name)
    if token:
        body["nextToken"] = token
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _call(client, operation, body)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    client = Client(create_app(Settings(lenient_manifests=True)))
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'images':>7} {'operation':<15} {'first ms':>9} {'middle ms':>10} {'last ms':>8}")
    firsts: dict[str, list[float]] = {}
    for size in sizes:
        name = f"bench/images-{size}"
        _fill(client, name, size)
        for operation in ("ListImages", "DescribeImages"):
            # ListImages lists one id per tag (every other image has one) or per untagged image
            last = max(0, size - args.page)
            row = [_page_ms(client, operation, name, offset, args.page, args.repeat)
                   for offset in (0, last // 2, last)]
            firsts.setdefault(operation, []).append(row[0])
            print(f"{size:>7} {operation:<15} {row[0]:>9.2f} {row[1]:>10.2f} {row[2]:>8.2f}")
    for operation, values in firsts.items():
        print(f"{operation}: first page at {sizes[-1]} images / at {sizes[0]} images = {values[-1] / values[0]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
