#!/usr/bin/env python3
"""Soak: a bounded mixed workload against one emulator for a set time, with stalled clients.

Worker threads (each with its own HTTP session and boto3 client) run a weighted mix:
push an image (random layers of 64 KiB - ``--max-layer-kib``, some layers shared by many
images), pull one back (manifest and every blob, sha256 verified), tag one (PutImage), delete
one (manifest DELETE or BatchDeleteImage), describe (DescribeImages, every page), list tags,
and abandon an upload (POST + PATCH of 64 KiB - 1 MiB, never finished). Beside them,
``--stalled`` connections are kept open mid-headers or mid-body (replaced when the server
closes them).

Every ``--report`` seconds it prints throughput, errors, the emulator worker's RSS and the live
stored bytes (``GET /_emulator/stats``: blobs + open uploads). At the end: per operation
count, errors and latency percentiles; RSS at the start, peak and end against the live bytes;
then, after the grace period is passed on the emulator's clock and ``POST /_emulator/gc``, the
RSS once everything unreferenced is collected.

By default it starts its own server (``ecr-emulator serve``, registry auth on) with
a short grace period and upload expiry so memory is reclaimed during the run; ``--defaults``
starts it with the default settings instead (nothing shortened): then the clock is never
advanced, and after the workload it watches RSS against the live bytes for ``--settle``
seconds and says when RSS came back within 250 MiB of its figure at the start plus the bytes
still live (images kept, and abandoned uploads, which expire after 7 days at the defaults). ``--churn-mib N``
replaces the mix with push-then-delete of images of one N MiB layer (the issue's churn:
``--defaults --churn-mib 8 --workers 2 --stalled 0 --seconds 45``). ``--url`` soaks a server
you started instead (then its settings apply and RSS is not read). Everything binds
127.0.0.1, every request has a timeout, every thread is joined and the server is stopped.

usage: python scripts/soak.py [--seconds 180] [--workers 6] [--stalled 20] [--grace 15]
                              [--upload-expiry 20] [--max-layer-kib 1024] [--report 15] [--url URL]
                              [--defaults [--settle 30]] [--churn-mib N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import sys
import threading
import time
from collections import defaultdict
from urllib.parse import urlsplit

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ecr_emulator.store.digests import sha256_digest  # noqa: E402
from ecr_emulator.testing import ServerProcess, checked_client  # noqa: E402

MIB = 1 << 20
TIMEOUT = 60
REPOS = ("soak/one", "soak/two", "soak/three")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
WEIGHTS = {"push": 5, "pull": 6, "tag": 2, "delete": 3, "describe": 2, "list": 1, "abandon": 1}
#: ``--churn-mib``: push-then-delete only
CHURN_WEIGHTS = {"churn": 1}
#: how close to its start RSS must come back after the workload (``--defaults``)
SETTLED_WITHIN = 250 * MIB
MAX_IMAGES = 200  # images kept at most: past it, deletes outweigh pushes


class Soak:
    def __init__(self, url: str, args) -> None:
        self.url, self.args = url, args
        self.deadline = 0.0
        self.lock = threading.Lock()
        self.images: list[dict] = []  # {repo, digest, tags, media_type}
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.bytes_pushed = self.bytes_pulled = 0
        self.shared = [os.urandom(random.randint(64, 512) * 1024) for _ in range(4)]
        self.stalled_opened = 0
        self.tag_counter = 0

    # -- bookkeeping ------------------------------------------------------------------------
    def timed(self, name: str, call) -> None:
        start = time.perf_counter()
        try:
            call()
        except Exception as error:  # noqa: BLE001 -- every failure is counted and shown
            with self.lock:
                self.errors[name] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{name}: {type(error).__name__}: {str(error)[:300]}")
            return
        with self.lock:
            self.latency[name].append(time.perf_counter() - start)

    def pick(self, rng: random.Random) -> dict | None:
        with self.lock:
            return rng.choice(self.images) if self.images else None

    # -- operations ---------------------------------------------------------------------------
    def push_image(self, session, repo: str, config: bytes, layers: list[bytes], reference: str | None,
                   check_first: bool = True) -> str:
        """Upload the blobs (skipping those a HEAD finds, when ``check_first``) and put the manifest
        under ``reference`` (its own digest when None); returns the manifest's digest."""
        for blob in (config, *layers):
            digest = sha256_digest(blob)
            if check_first and session.head(f"{self.url}/v2/{repo}/blobs/{digest}", timeout=TIMEOUT).status_code == 200:
                continue
            response = session.post(f"{self.url}/v2/{repo}/blobs/uploads/", params={"digest": digest}, data=blob,
                                    headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
            assert response.status_code == 201, (response.status_code, response.text[:200])
            with self.lock:
                self.bytes_pushed += len(blob)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256_digest(b), "size": len(b)} for b in layers],
        }).encode()
        response = session.put(f"{self.url}/v2/{repo}/manifests/{reference or sha256_digest(manifest)}", data=manifest,
                               headers={"Content-Type": OCI_MANIFEST}, timeout=TIMEOUT)
        assert response.status_code == 201, (response.status_code, response.text[:200])
        return sha256_digest(manifest)

    def push(self, rng, session, ecr) -> None:
        repo = rng.choice(REPOS)
        layers = [rng.choice(self.shared)] + [os.urandom(rng.randint(64, self.args.max_layer_kib) * 1024)
                                              for _ in range(rng.randint(1, 2))]
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": rng.random()}).encode()
        with self.lock:
            self.tag_counter += 1
            tag = f"t{self.tag_counter}"
        digest = self.push_image(session, repo, config, layers, tag)
        with self.lock:
            self.images.append({"repo": repo, "digest": digest, "tags": [tag]})

    def churn(self, rng, session, ecr) -> None:
        """Push an image of one ``--churn-mib`` MiB layer (no HEAD first: a check would keep the
        blob of a deleted image for the long grace), then delete it at once."""
        repo = rng.choice(REPOS)
        layer = os.urandom(self.args.churn_mib * MIB)
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": rng.random()}).encode()
        digest = self.push_image(session, repo, config, [layer], None, check_first=False)
        response = session.delete(f"{self.url}/v2/{repo}/manifests/{digest}", timeout=TIMEOUT)
        assert response.status_code == 202, (response.status_code, response.text[:200])

    def pull(self, rng, session, ecr) -> None:
        image = self.pick(rng)
        if image is None:
            return
        response = session.get(f"{self.url}/v2/{image['repo']}/manifests/{image['digest']}",
                               headers={"Accept": OCI_MANIFEST}, timeout=TIMEOUT)
        if response.status_code == 404 and not self.still_there(image):
            return  # deleted by another worker meanwhile
        assert response.status_code == 200 and sha256_digest(response.content) == image["digest"], response.status_code
        doc = json.loads(response.content)
        for descriptor in [doc["config"], *doc["layers"]]:
            blob = session.get(f"{self.url}/v2/{image['repo']}/blobs/{descriptor['digest']}", timeout=TIMEOUT)
            if blob.status_code == 404 and not self.still_there(image):
                return
            assert blob.status_code == 200 and sha256_digest(blob.content) == descriptor["digest"], blob.status_code
            with self.lock:
                self.bytes_pulled += len(blob.content)

    def still_there(self, image: dict) -> bool:
        with self.lock:
            return image in self.images

    def tag(self, rng, session, ecr) -> None:
        image = self.pick(rng)
        if image is None:
            return
        found = ecr.batch_get_image(repositoryName=image["repo"], imageIds=[{"imageDigest": image["digest"]}])
        if not found["images"]:
            assert not self.still_there(image), found
            return
        with self.lock:
            self.tag_counter += 1
            tag = f"t{self.tag_counter}"
        ecr.put_image(repositoryName=image["repo"], imageManifest=found["images"][0]["imageManifest"], imageTag=tag)
        with self.lock:
            image["tags"].append(tag)

    def delete(self, rng, session, ecr) -> None:
        with self.lock:
            if not self.images:
                return
            image = self.images.pop(rng.randrange(len(self.images)))
        if rng.random() < 0.5:
            response = session.delete(f"{self.url}/v2/{image['repo']}/manifests/{image['digest']}", timeout=TIMEOUT)
            assert response.status_code == 202, (response.status_code, response.text[:200])
        else:
            result = ecr.batch_delete_image(repositoryName=image["repo"], imageIds=[{"imageDigest": image["digest"]}])
            assert not result["failures"], result["failures"]

    def describe(self, rng, session, ecr) -> None:
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=rng.choice(REPOS)):
            assert "imageDetails" in page

    def list(self, rng, session, ecr) -> None:
        response = session.get(f"{self.url}/v2/{rng.choice(REPOS)}/tags/list", params={"n": 100}, timeout=TIMEOUT)
        assert response.status_code == 200, response.status_code

    def abandon(self, rng, session, ecr) -> None:
        repo = rng.choice(REPOS)
        start = session.post(f"{self.url}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
        assert start.status_code == 202, start.status_code
        response = session.patch(start.headers["Location"], data=os.urandom(rng.randint(64, 1024) * 1024),
                                 headers={"Content-Type": "application/octet-stream"}, timeout=TIMEOUT)
        assert response.status_code == 202, response.status_code

    # -- threads ------------------------------------------------------------------------------
    def worker(self, index: int) -> None:
        rng = random.Random(index)
        ecr = checked_client("ecr", self.url)
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        session = requests.Session()
        session.headers["Authorization"] = f"Basic {token}"
        mix = CHURN_WEIGHTS if self.args.churn_mib else WEIGHTS
        names, weights = list(mix), list(mix.values())
        while time.monotonic() < self.deadline:
            name = rng.choices(names, weights)[0]
            with self.lock:
                crowded = len(self.images) > MAX_IMAGES
            if name == "push" and crowded:
                name = "delete"
            self.timed(name, lambda n=name: getattr(self, n)(rng, session, ecr))

    def stalled(self) -> None:
        """Keep ``--stalled`` connections open mid-headers or mid-body; replace closed ones."""
        parts = urlsplit(self.url)
        held: list[socket.socket] = []
        try:
            while time.monotonic() < self.deadline:
                for sock in list(held):  # drop the ones the server closed
                    sock.setblocking(False)
                    try:
                        if sock.recv(65536) == b"":
                            raise ConnectionResetError
                    except BlockingIOError:
                        continue
                    except OSError:
                        pass
                    held.remove(sock)
                    sock.close()
                while len(held) < self.args.stalled:
                    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
                    if len(held) % 2:
                        sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: soak\r\nX-Stalled: ")
                    else:
                        sock.sendall(b"PATCH /v2/soak/one/blobs/uploads/x HTTP/1.1\r\nHost: soak\r\n"
                                     b"Content-Length: 10485760\r\n\r\npartial")
                    held.append(sock)
                    self.stalled_opened += 1
                time.sleep(0.5)
        finally:
            for sock in held:
                sock.close()


def rss(pid: int | None) -> int:
    if pid is None:
        return 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def live_bytes(url: str) -> tuple[int, dict]:
    stats = requests.get(url + "/_emulator/stats", timeout=TIMEOUT).json()
    return stats["blobBytes"] + stats["uploadBytes"], stats


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def run(url: str, args, pid: int | None) -> int:
    ecr = checked_client("ecr", url)
    for repo in REPOS:
        ecr.create_repository(repositoryName=repo)
    soak = Soak(url, args)
    start_rss = rss(pid)
    started = time.monotonic()
    soak.deadline = started + args.seconds
    threads = [threading.Thread(target=soak.worker, args=(i,), daemon=True) for i in range(args.workers)]
    threads.append(threading.Thread(target=soak.stalled, daemon=True))
    for thread in threads:
        thread.start()
    print(f"soak: {args.seconds}s, {args.workers} workers, {args.stalled} stalled connections, RSS at start "
          f"{start_rss / MIB:.0f} MiB", flush=True)
    print(f"{'t':>5} {'ops/s':>7} {'errors':>6} {'RSS MiB':>8} {'live MiB':>9} {'images':>6} {'blobs':>6} "
          f"{'uploads':>7}", flush=True)
    peak, last_ops, last_t = start_rss, 0, started
    while any(t.is_alive() for t in threads[:-1]):
        time.sleep(min(args.report, max(0.1, soak.deadline + 1 - time.monotonic())))
        now = time.monotonic()
        ops = sum(len(v) for v in soak.latency.values())
        live, stats = live_bytes(url)
        current = rss(pid)
        peak = max(peak, current)
        print(f"{now - started:5.0f} {(ops - last_ops) / max(now - last_t, 1e-9):7.1f} "
              f"{sum(soak.errors.values()):6d} {current / MIB:8.0f} {live / MIB:9.1f} {stats['images']:6d} "
              f"{stats['blobs']:6d} {stats['uploads']:7d}", flush=True)
        last_ops, last_t = ops, now
        if now > soak.deadline + 120:
            print("workers did not stop within 120 s of the deadline", flush=True)
            break
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - started
    end_rss = rss(pid)
    live, stats = live_bytes(url)

    total = sum(len(v) for v in soak.latency.values())
    errors = sum(soak.errors.values())
    print(f"\n{'operation':<10} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name in CHURN_WEIGHTS if args.churn_mib else WEIGHTS:
        values = [v * 1000 for v in soak.latency.get(name, [])]
        print(f"{name:<10} {len(values):6d} {soak.errors.get(name, 0):6d} {percentile(values, 50):8.1f} "
              f"{percentile(values, 90):8.1f} {percentile(values, 99):8.1f} {max(values, default=0):8.1f}")
    print(f"\nthroughput: {total / elapsed:.1f} ops/s ({total} ops, {errors} errors), pushed "
          f"{soak.bytes_pushed / MIB / elapsed:.1f} MiB/s, pulled {soak.bytes_pulled / MIB / elapsed:.1f} MiB/s; "
          f"{soak.stalled_opened} stalled connections opened")
    for sample in soak.error_samples:
        print("  error:", sample)
    if pid is not None:
        print(f"RSS: start {start_rss / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, end {end_rss / MIB:.0f} MiB; live "
              f"stored {live / MIB:.1f} MiB ({stats['blobs']} blobs, {stats['uploads']} open uploads); end - live = "
              f"{(end_rss - live) / MIB:.0f} MiB")
    if args.defaults:
        settle(url, pid, start_rss, args.settle)
        return 1 if errors else 0
    # let the grace period and upload expiry pass on the emulator's clock, collect, measure again
    requests.post(url + "/_emulator/clock/advance",
                  json={"seconds": max(args.grace, args.upload_expiry) + 1}, timeout=TIMEOUT)
    freed = requests.post(url + "/_emulator/gc", timeout=TIMEOUT).json()
    live, stats = live_bytes(url)
    if pid is not None:
        settled = rss(pid)
        print(f"after collecting ({freed}): RSS {settled / MIB:.0f} MiB, live stored {live / MIB:.1f} MiB, "
              f"RSS - live = {(settled - live) / MIB:.0f} MiB")
    return 1 if errors else 0


def settle(url: str, pid: int | None, start_rss: int, seconds: float) -> None:
    """After the workload, at the default settings: RSS against live bytes every second for
    ``seconds`` (the clock is not advanced, nothing is collected by hand)."""
    print(f"\nsettling at the default settings (RSS at start {start_rss / MIB:.0f} MiB; does RSS come back "
          f"within {SETTLED_WITHIN / MIB:.0f} MiB of it plus the live stored bytes?)")
    print(f"{'t':>5} {'RSS MiB':>8} {'live MiB':>9} {'RSS-live':>9} {'blobs':>6} {'uploads':>7}")
    started = time.monotonic()
    back_at = settled_at = None
    while time.monotonic() - started < seconds:
        live, stats = live_bytes(url)
        current = rss(pid)
        elapsed = time.monotonic() - started
        print(f"{elapsed:5.1f} {current / MIB:8.0f} {live / MIB:9.1f} {(current - live) / MIB:9.0f} "
              f"{stats['blobs']:6d} {stats['uploads']:7d}", flush=True)
        if back_at is None and pid is not None and current <= start_rss + SETTLED_WITHIN:
            back_at = elapsed
        if settled_at is None and pid is not None and current - live <= start_rss + SETTLED_WITHIN:
            settled_at = elapsed
        time.sleep(1)
    if pid is not None:
        def said(at):
            return f"after {at:.1f} s" if at is not None else f"NOT within {seconds:.0f} s"
        print(f"RSS back within {SETTLED_WITHIN / MIB:.0f} MiB of the start: {said(back_at)}; of the start plus "
              f"the bytes still live: {said(settled_at)} (start {start_rss / MIB:.0f} MiB, now {rss(pid) / MIB:.0f} MiB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--stalled", type=int, default=20)
    parser.add_argument("--grace", type=float, default=15, help="blob grace period of the server started here")
    parser.add_argument("--upload-expiry", type=float, default=20, help="upload expiry of the server started here")
    parser.add_argument("--max-layer-kib", type=int, default=1024)
    parser.add_argument("--report", type=float, default=15)
    parser.add_argument("--url", help="soak this running server instead of starting one")
    parser.add_argument("--defaults", action="store_true",
                        help="start the server with the default settings (no shortened grace or expiry)")
    parser.add_argument("--settle", type=float, default=30, help="--defaults: seconds to watch RSS after the load")
    parser.add_argument("--churn-mib", type=int, default=0, help="push-then-delete images of one layer of N MiB")
    args = parser.parse_args()
    if args.url:
        return run(args.url.rstrip("/"), args, None)
    if args.defaults:
        with ServerProcess("--no-access-log") as server:
            return run(server.url, args, server.worker_pid())
    env = {"ECR_EMULATOR_BLOB_GRACE_SECONDS": str(args.grace), "ECR_EMULATOR_UPLOAD_EXPIRY_SECONDS": str(args.upload_expiry),
           "ECR_EMULATOR_GC_INTERVAL": "2", "ECR_EMULATOR_HEADER_TIMEOUT": "10", "ECR_EMULATOR_BODY_TIMEOUT": "10"}
    with ServerProcess("--no-access-log", env=env) as server:
        return run(server.url, args, server.worker_pid())


if __name__ == "__main__":
    sys.exit(main())
