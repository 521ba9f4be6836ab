#!/usr/bin/env python3
"""Registry data-plane benchmark: the emulator side by side with CNCF Distribution.

One 512 MiB single-layer image (a real gzip layer, stored uncompressed so it is cheap to
make), pushed and pulled in the same run against both registries:

- ``skopeo push`` / ``skopeo pull``: ``skopeo copy`` from an OCI layout to the registry and
  back to another layout;
- raw HTTP monolithic ``POST`` + ``PUT ?digest=``;
- raw HTTP chunked upload, ``PATCH`` of 16 MiB chunks with ``Content-Range``, then ``PUT``;
- raw HTTP ``GET`` of the blob (following the emulator's ``307`` to its download port without
  the ``Authorization`` header, as a client must; read without hashing, so the client does not
  cap the figure).

The emulator keeps its blob files in a private directory on the same tmpfs (``--blob-dir``), as
Distribution does, for a like-for-like comparison.

``--big-gib N`` instead pushes one N GiB layer (streamed from a file on disk, monolithic ``PUT``)
and pulls it back, checking it is byte-identical (sha256), and reports the emulator worker's peak
RSS growth over its idle figure (the target: at most 300 MiB) in the default mode (blob files on
disk under ``--blob-dir``) and with ``--state-dir``.

Distribution (``/usr/bin/docker-registry``) uses the filesystem driver on a tmpfs directory
with auth off; the emulator runs as ``ecr-emulator serve`` (auth on: the clients use
``AWS:<token>``). Each figure is the median of ``--rounds`` rounds, MiB/s. Peak RSS: VmHWM
of the emulator process and of the registry.
Everything binds 127.0.0.1, every step has a timeout, and every process and directory the
script makes is removed at the end.

usage: python scripts/bench_registry.py [--size-mib 512] [--rounds 3] [--chunk-mib 16]
       python scripts/bench_registry.py --big-gib 3 [--big-dir DIR]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ecr_emulator.store.digests import sha256_digest  # noqa: E402
from ecr_emulator.testing import ServerProcess, checked_client, stop_process  # noqa: E402

MIB = 1 << 20
TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") else None
REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
STEP_TIMEOUT = 600
READ_BUFFER = 16 * MIB


# -- the image ------------------------------------------------------------------------------
def build_layout(root: str, size: int) -> dict:
    """An OCI layout with one image whose single layer is a ~``size`` byte gzip (stored
    blocks, level 0: valid gzip, incompressible payload, quick to make)."""
    blobs = os.path.join(root, "blobs", "sha256")
    os.makedirs(blobs)
    payload = os.urandom(size - 64 * 1024)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("payload.bin")
        info.size, info.mtime = len(payload), 0
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    del payload, raw
    layer = gzip.compress(tar_bytes, compresslevel=0, mtime=0)
    diff_id = sha256_digest(tar_bytes)
    del tar_bytes

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return "sha256:" + digest

    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(layer),
                    "size": len(layer)}],
    }).encode()
    manifest_digest = put(manifest)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    return {"layer": layer, "layer_digest": sha256_digest(layer),
            "manifest_digest": manifest_digest}


# -- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Distribution:
    name = "distribution"

    def __init__(self, workdir: str) -> None:
        self.root = os.path.join(workdir, "distribution-data")
        self.port = free_port()
        self.config = os.path.join(workdir, "distribution.yml")
        with open(self.config, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.root}\n  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n")
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}
        self.creds: list[str] = []
        self.peak = 0
        self.process: subprocess.Popen | None = None
        self._start()

    def _start(self) -> None:
        os.makedirs(self.root)
        self.process = subprocess.Popen([REGISTRY, "serve", self.config], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if request(self.url, "GET", "/v2/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start")

    def pid(self) -> int:
        return self.process.pid

    def new_repository(self, name: str) -> None:
        pass  # Distribution creates repositories on push

    def reset(self) -> None:
        """A fresh, empty registry: restarted on a new storage directory. (skopeo running as
        root keeps a blob-info cache in /var/lib/containers that would otherwise turn the next
        push into a cross-repository mount.)"""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self._start()

    def peak_rss(self) -> int:
        return max(self.peak, peak_rss(self.pid()) if self.process.poll() is None else 0)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.peak = max(self.peak, peak_rss(self.process.pid))
            stop_process(self.process)


class Emulator:
    name = "emulator"

    def __init__(self, *args: str) -> None:
        self.server = ServerProcess("--no-access-log", *args).start()
        self.url = self.server.url
        self.ecr = checked_client("ecr", self.url)
        token = self.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        self.headers = {"Authorization": f"Basic {token}"}
        password = base64.b64decode(token).decode().split(":", 1)[1]
        self.creds = ["--creds", f"AWS:{password}"]

    def pid(self) -> int:
        """The emulator process (the server process itself; a forking server: its child)."""
        parent = self.server._process.pid
        with open(f"/proc/{parent}/task/{parent}/children") as f:
            children = [int(c) for c in f.read().split()]
        return children[0] if children else parent

    def new_repository(self, name: str) -> None:
        self.ecr.create_repository(repositoryName=name)

    def reset(self) -> None:
        request(self.url, "POST", "/_emulator/reset")

    def peak_rss(self) -> int:
        return peak_rss(self.pid())

    def stop(self) -> None:
        self.server.stop()


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# -- raw HTTP (http.client: one sendall per body, readinto on the way back) --------------------
def request(url: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
    parts = urlsplit(url) if "://" in url else None
    target = urlsplit(path) if path.startswith("http") else None
    host = (target or parts).hostname
    port = (target or parts).port
    if target:
        path = target.path + (f"?{target.query}" if target.query else "")
    conn = http.client.HTTPConnection(host, port, timeout=STEP_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def upload_location(server, repo: str) -> str:
    status, headers, body = request(server.url, "POST", f"/v2/{repo}/blobs/uploads/", headers=server.headers)
    assert status == 202, (status, body)
    location = headers["Location"]
    return location if location.startswith("http") else server.url + location


def raw_monolithic(server, repo: str, layer, digest: str) -> float:
    start = time.perf_counter()
    location = upload_location(server, repo)
    sep = "&" if "?" in location else "?"
    status, _, body = request(server.url, "PUT", f"{location}{sep}digest={digest}", body=memoryview(layer),
                              headers={**server.headers, "Content-Type": "application/octet-stream"})
    elapsed = time.perf_counter() - start
    assert status == 201, (status, body[:300])
    return elapsed


def raw_chunked(server, repo: str, layer, digest: str, chunk: int) -> float:
    view = memoryview(layer)
    start = time.perf_counter()
    location = upload_location(server, repo)
    parts = urlsplit(location)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=STEP_TIMEOUT)
    try:
        for offset in range(0, len(layer), chunk):
            piece = view[offset:offset + chunk]
            path = urlsplit(location).path + (f"?{urlsplit(location).query}" if urlsplit(location).query else "")
            conn.request("PATCH", path, body=piece, headers={
                **server.headers, "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(piece) - 1}"})
            response = conn.getresponse()
            response.read()
            assert response.status == 202, response.status
            location = response.headers["Location"]
            if not location.startswith("http"):
                location = server.url + location
        sep = "&" if "?" in location else "?"
        status, _, body = request(server.url, "PUT", f"{location}{sep}digest={digest}", headers=server.headers)
    finally:
        conn.close()
    elapsed = time.perf_counter() - start
    assert status == 201, (status, body[:300])
    return elapsed


def raw_get(server, repo: str, digest: str, size: int) -> float:
    buffer = memoryview(bytearray(READ_BUFFER))
    parts = urlsplit(server.url)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=STEP_TIMEOUT)
    try:
        conn.request("GET", f"/v2/{repo}/blobs/{digest}", headers=server.headers)
        response = conn.getresponse()
        if response.status == 307:  # ECR's redirect: another origin, no Authorization header
            response.read()
            conn.close()
            target = urlsplit(response.headers["Location"])
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=STEP_TIMEOUT)
            conn.request("GET", f"{target.path}?{target.query}")
            response = conn.getresponse()
        assert response.status == 200, response.status
        got = 0
        while True:
            n = response.readinto(buffer)
            if not n:
                break
            got += n
    finally:
        conn.close()
    elapsed = time.perf_counter() - start
    assert got == size, (got, size)
    return elapsed


def skopeo(*args: str, home: str) -> float:
    env = {**os.environ, "HOME": home, "XDG_RUNTIME_DIR": home, "XDG_CACHE_HOME": home, "XDG_DATA_HOME": home,
           "REGISTRY_AUTH_FILE": os.path.join(home, "auth.json")}
    start = time.perf_counter()
    done = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, text=True, env=env,
                          timeout=STEP_TIMEOUT)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"skopeo {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


# -- the run ------------------------------------------------------------------------------------
PHASES = ["skopeo push", "skopeo pull", "raw monolithic PUT", "raw chunked PATCH", "raw GET"]


def run_round(server, layout: str, image: dict, workdir: str, round_no: int, chunk: int) -> dict[str, float]:
    size = len(image["layer"])
    digest = image["layer_digest"]
    host = urlsplit(server.url).netloc
    times: dict[str, float] = {}
    # skopeo: a fresh HOME, and an emptied registry (root skopeo also caches blob locations in
    # /var/lib/containers), so the push uploads instead of mounting from the previous round
    server.reset()
    repo = f"bench/skopeo{round_no}"
    server.new_repository(repo)
    home = tempfile.mkdtemp(dir=workdir)
    times["skopeo push"] = skopeo("copy", "--dest-tls-verify=false", *(["--dest-creds", server.creds[1]]
                                  if server.creds else []), f"oci:{layout}:bench", f"docker://{host}/{repo}:bench",
                                  home=home)
    out = os.path.join(workdir, f"pulled-{server.name}-{round_no}")
    times["skopeo pull"] = skopeo("copy", "--src-tls-verify=false", *(["--src-creds", server.creds[1]]
                                  if server.creds else []), f"docker://{host}/{repo}:bench", f"oci:{out}:bench",
                                  home=home)
    with open(os.path.join(out, "index.json")) as f:
        assert json.load(f)["manifests"][0]["digest"] == image["manifest_digest"]
    shutil.rmtree(out)
    shutil.rmtree(home)
    # raw monolithic PUT, then GET of what it stored
    server.reset()
    repo = f"bench/raw{round_no}"
    server.new_repository(repo)
    times["raw monolithic PUT"] = raw_monolithic(server, repo, image["layer"], digest)
    times["raw GET"] = raw_get(server, repo, digest, size)
    # raw chunked PATCH
    server.reset()
    repo = f"bench/chunked{round_no}"
    server.new_repository(repo)
    times["raw chunked PATCH"] = raw_chunked(server, repo, image["layer"], digest, chunk)
    server.reset()
    return {phase: size / MIB / seconds for phase, seconds in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument("--big-gib", type=float, default=0,
                        help="push and pull back one layer of this many GiB and report peak RSS growth")
    parser.add_argument("--big-dir", default=tempfile.gettempdir(),
                        help="a directory on disk (not tmpfs) for the big layer and the blob files")
    args = parser.parse_args(argv)
    if args.big_gib:
        return big_layer(int(args.big_gib * 1024) * MIB, args.big_dir)
    for tool in (REGISTRY, SKOPEO):
        if not os.path.exists(tool):
            print(f"missing {tool}", file=sys.stderr)
            return 2
    workdir = tempfile.mkdtemp(prefix="bench-registry-", dir=TMPFS)
    servers = []
    try:
        layout = os.path.join(workdir, "layout")
        print(f"building a {args.size_mib} MiB single-layer image in {layout} ...", flush=True)
        image = build_layout(layout, args.size_mib * MIB)
        size = len(image["layer"])
        servers = [Emulator("--blob-dir", workdir), Distribution(workdir)]
        for server in servers:
            reset_peak(server.pid())
        results: dict[str, dict[str, list[float]]] = {s.name: {p: [] for p in PHASES} for s in servers}
        for round_no in range(args.rounds):
            # side by side in the same run, the order alternating from round to round
            for server in (servers if round_no % 2 == 0 else servers[::-1]):
                speeds = run_round(server, layout, image, workdir, round_no, args.chunk_mib * MIB)
                for phase, speed in speeds.items():
                    results[server.name][phase].append(speed)
                print(f"round {round_no + 1} {server.name:12s} " +
                      "  ".join(f"{p}: {v:7.0f}" for p, v in speeds.items()), flush=True)
        peaks = {s.name: s.peak_rss() for s in servers}
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nlayer {size / MIB:.1f} MiB, median of {args.rounds} rounds, MiB/s")
    print(f"{'':22s} {'emulator':>10s} {'distribution':>13s} {'ratio':>7s}")
    ok = True
    for phase in PHASES:
        mine = statistics.median(results["emulator"][phase])
        ref = statistics.median(results["distribution"][phase])
        ok &= mine >= ref
        print(f"{phase:22s} {mine:10.0f} {ref:13.0f} {mine / ref:6.2f}x")
    budget = 300 * MIB + 100 * MIB
    print(f"\npeak RSS: emulator worker {peaks['emulator'] / MIB:.0f} MiB "
          f"(target <= {budget / MIB:.0f} MiB: blobs live in files), "
          f"distribution {peaks['distribution'] / MIB:.0f} MiB")
    print(f"throughput >= 1.0x distribution everywhere: {'yes' if ok else 'no'}; "
          f"RSS within budget: {'yes' if peaks['emulator'] <= budget else 'no'}")
    return 0


# -- one big layer, bounded memory ------------------------------------------------------------
def _write_big(path: str, size: int) -> str:
    """A ``size`` byte file (a 64 MiB random block repeated: quick to make); its digest."""
    block = os.urandom(64 * MIB)
    hasher = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[:min(left, len(block))]
            f.write(piece)
            hasher.update(piece)
            left -= len(piece)
    return "sha256:" + hasher.hexdigest()


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _big_round(server: Emulator, path: str, digest: str, size: int) -> tuple[float, float, int]:
    """Push the file (monolithic PUT, streamed), pull it back hashing it; the seconds of each and
    the worker's peak RSS growth over its idle figure."""
    pid = server.pid()
    server.new_repository("bench/big")
    idle = _rss(pid)
    reset_peak(pid)
    location = upload_location(server, "bench/big")
    target = urlsplit(location)
    start = time.perf_counter()
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=STEP_TIMEOUT)
    conn.blocksize = MIB
    with open(path, "rb") as body:
        conn.request("PUT", f"{target.path}?{target.query + '&' if target.query else ''}digest={digest}", body=body,
                     headers={**server.headers, "Content-Length": str(size),
                              "Content-Type": "application/octet-stream"})
        response = conn.getresponse()
        response.read()
    conn.close()
    push = time.perf_counter() - start
    assert response.status == 201, response.status
    start = time.perf_counter()
    status, headers, _ = request(server.url, "GET", f"/v2/bench/big/blobs/{digest}", headers=server.headers)
    assert status == 307, status
    target = urlsplit(headers["Location"])
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=STEP_TIMEOUT)
    conn.request("GET", f"{target.path}?{target.query}")
    response = conn.getresponse()
    hasher, got, buffer = hashlib.sha256(), 0, memoryview(bytearray(READ_BUFFER))
    while n := response.readinto(buffer):
        hasher.update(buffer[:n])
        got += n
    conn.close()
    pull = time.perf_counter() - start
    assert got == size and "sha256:" + hasher.hexdigest() == digest, "the layer came back different"
    return push, pull, peak_rss(pid) - idle


def big_layer(size: int, directory: str) -> int:
    workdir = tempfile.mkdtemp(prefix="bench-big-", dir=directory)
    try:
        path = os.path.join(workdir, "layer")
        print(f"writing a {size / MIB / 1024:.1f} GiB layer to {path} ...", flush=True)
        digest = _write_big(path, size)
        ok = True
        for mode, args in (("default", ("--blob-dir", workdir)),
                           ("--state-dir", ("--state-dir", os.path.join(workdir, "state")))):
            server = Emulator(*args)
            try:
                push, pull, growth = _big_round(server, path, digest, size)
            finally:
                server.stop()
            ok &= growth <= 300 * MIB
            print(f"{mode:12s} push {size / MIB / push:6.0f} MiB/s  pull {size / MIB / pull:6.0f} MiB/s  "
                  f"identical: yes  peak RSS growth {growth / MIB:5.0f} MiB (target <= 300)", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"peak RSS growth within 300 MiB in both modes: {'yes' if ok else 'no'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
