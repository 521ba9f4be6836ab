#!/usr/bin/env python3
"""Replication and signing benchmark: how long after a push its replicas are COMPLETE.

Starts ``ecr-emulator serve --no-access-log --port 0`` (127.0.0.1, stopped at the end), puts
a replication rule to two destinations (another region; another account whose registry
policy allows it) and, with ``--sign``, a signing rule; then pushes ``--images`` small images
(``--layers`` x ``--layer-kib``) over the registry API one after the other and records, for
each, the time from the manifest PUT's answer to every destination COMPLETE (and every
signature COMPLETE), polling DescribeImage*Status every 5 ms (bounded: 60 s per image).

Printed: pushes/s, p50/p99/max of the push-to-replicated latency, and the server's CPU time
per image.

usage: python scripts/bench_replication.py [--images 200] [--layers 2] [--layer-kib 64] [--sign]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_control import process_tree_cpu  # noqa: E402

from ecr_emulator.testing import ServerProcess, checked_client  # noqa: E402
from ecr_emulator.testing.synthetic import make_image  # noqa: E402
from tests.registry.client import Registry, authorization_token  # noqa: E402

SOURCE, OTHER = "123456789012", "210987654321"
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/bench"


def _wait(probe, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit("replication did not complete within 60 s")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--layer-kib", type=int, default=64)
    parser.add_argument("--sign", action="store_true")
    args = parser.parse_args()
    with ServerProcess("--no-access-log") as server:
        ecr = checked_client("ecr", server.url)
        checked_client("ecr", server.url, account=OTHER).put_registry_policy(policyText=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": SOURCE},
                                                    "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
                                                    "Resource": f"arn:aws:ecr:us-east-1:{OTHER}:repository/*"}]}))
        ecr.put_replication_configuration(replicationConfiguration={"rules": [{"destinations": [
            {"region": "us-west-2", "registryId": SOURCE}, {"region": "us-east-1", "registryId": OTHER}]}]})
        if args.sign:
            ecr.put_signing_configuration(signingConfiguration={"rules": [{"signingProfileArn": PROFILE}]})
        ecr.create_repository(repositoryName="bench/app")
        registry = Registry(server.url, authorization_token(ecr))
        images = [make_image(f"bench-{n}", layers=args.layers, layer_bytes=args.layer_kib * 1024)
                  for n in range(args.images)]
        cpu0, start, latencies = process_tree_cpu(server._process.pid), time.perf_counter(), []
        for n, image in enumerate(images):
            registry.push_image("bench/app", image, tag=f"t{n}")
            pushed = time.perf_counter()
            image_id = {"imageDigest": image.digest}

            def done(image_id=image_id) -> bool:
                replication = ecr.describe_image_replication_status(repositoryName="bench/app", imageId=image_id)
                ok = [s["status"] for s in replication["replicationStatuses"]] == ["COMPLETE", "COMPLETE"]
                if ok and args.sign:
                    signing = ecr.describe_image_signing_status(repositoryName="bench/app", imageId=image_id)
                    ok = [s["status"] for s in signing["signingStatuses"]] == ["COMPLETE"]
                return ok

            _wait(done)
            latencies.append(time.perf_counter() - pushed)
        elapsed, cpu = time.perf_counter() - start, process_tree_cpu(server._process.pid) - cpu0
    latencies.sort()
    print(f"{args.images} images of {args.layers} x {args.layer_kib} KiB, 2 destinations"
          f"{' + signing' if args.sign else ''}: {args.images / elapsed:.1f} pushes/s (push + wait)")
    print(f"push -> COMPLETE: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"server CPU: {cpu / args.images * 1000:.1f} ms per image (push, replication, status polls)")


if __name__ == "__main__":
    main()
