#!/usr/bin/env python3
"""ECR Public benchmark: the same image pushed and pulled with skopeo through the private
registry (Basic auth) and the public one (Bearer token flow, anonymous pull), in one run, and
the gallery's list page with many public repositories.

Each figure is the median of ``--rounds`` rounds. Binds 127.0.0.1 only; the server, the
temporary directories and every skopeo process are gone at the end.

usage: python scripts/bench_public.py [--size-mib 64] [--rounds 3] [--repositories 300]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ecr_emulator.store.manifests import OCI_MANIFEST  # noqa: E402
from ecr_emulator.testing import ServerProcess, checked_client  # noqa: E402
from ecr_emulator.testing.synthetic import (
    OCI_CONFIG,
    OCI_LAYER,
    Image,
    digest_of,
    make_layer,
    write_oci_layout,
)  # noqa: E402


def _random_image(size: int) -> Image:
    """One layer of random (incompressible) bytes, so the bytes moved are the size asked."""
    layer = make_layer({"bench/data": os.urandom(size)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [digest_of(gzip.decompress(layer))]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": digest_of(layer), "size": len(layer)}],
    }).encode()
    return Image(manifest, OCI_MANIFEST, config, [layer], {digest_of(config): config, digest_of(layer): layer})


def _password(token: str) -> str:
    return base64.b64decode(token).decode().partition(":")[2]


def _skopeo(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repositories", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("skopeo") is None:
        sys.exit("skopeo is needed")
    work = tempfile.mkdtemp(prefix="bench-public-")
    try:
        with ServerProcess("--no-access-log") as server:
            ecr = checked_client("ecr", server.url)
            public = checked_client("ecr-public", server.url)
            private_uri = ecr.create_repository(repositoryName="bench")["repository"]["repositoryUri"]
            public_uri = public.create_repository(repositoryName="bench")["repository"]["repositoryUri"]
            private_creds = "AWS:" + _password(ecr.get_authorization_token()["authorizationData"][0]
                                               ["authorizationToken"])
            public_creds = "AWS:" + _password(public.get_authorization_token()["authorizationData"]
                                              ["authorizationToken"])
            results: dict[str, list[float]] = {}
            for round_ in range(args.rounds):
                # a new image every round: nothing is already there to skip or mount
                image = _random_image(args.size_mib * 1024 * 1024)
                source = write_oci_layout(os.path.join(work, f"src-{round_}"), image, "v1")
                for name, uri, creds in (("private", private_uri, private_creds), ("public", public_uri, public_creds)):
                    tag = f"r{round_}"
                    results.setdefault(f"{name} push", []).append(_skopeo(
                        "copy", "--dest-tls-verify=false", "--dest-creds", creds, source, f"docker://{uri}:{tag}"))
                    out = os.path.join(work, f"{name}-{round_}")
                    pull_auth = ["--src-creds", creds] if name == "private" else ["--src-no-creds"]
                    results.setdefault(f"{name} pull" + ("" if name == "private" else " (anonymous)"), []).append(
                        _skopeo("copy", "--src-tls-verify=false", *pull_auth, f"docker://{uri}:{tag}", f"oci:{out}:v1"))
                    shutil.rmtree(out, ignore_errors=True)
            size = image.layer_size / (1024 * 1024)
            print(f"skopeo, one {size:.0f} MiB layer, median of {args.rounds}:")
            for name, times in results.items():
                median = statistics.median(times)
                print(f"  {name:<24} {median:6.2f} s  {size / median:7.1f} MiB/s")

            for i in range(args.repositories):
                public.create_repository(repositoryName=f"repo-{i}", catalogData={
                    "description": f"Repository number {i}", "architectures": ["x86-64"],
                    "operatingSystems": ["Linux"], "aboutText": "# About\n" + "text " * 200})
            session = requests.Session()
            for label, path in (("gallery list", "/gallery"), ("gallery search", "/gallery?q=number+12&arch=x86-64"),
                                ("repository page", "/gallery/public/public-123456789012/repo-7")):
                times = []
                for _ in range(20):
                    start = time.perf_counter()
                    assert session.get(server.url + path, timeout=30).status_code == 200
                    times.append(time.perf_counter() - start)
                print(f"  {label} ({args.repositories} public repositories): "
                      f"median {statistics.median(times) * 1000:.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
