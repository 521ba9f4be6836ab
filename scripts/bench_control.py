#!/usr/bin/env python3
"""Control-plane benchmark: the emulator side by side with moto's server, in one run.

Several client *processes* (one boto3 client per server in each; a single process would be
capped by its own GIL long before the server is) loop over ``CreateRepository`` +
``DescribeRepositories`` + ``ListTagsForResource`` against:

- ``emulator``: ``ecr-emulator serve --no-access-log`` (the built-in server, the default);
- ``moto``: ``python -m moto.server -H 127.0.0.1 -p <port>`` (Flask on werkzeug's dev server);
- ``werkzeug``: ``ecr-emulator serve --server werkzeug --no-access-log``.

All servers run for the whole benchmark and the clients take turns on them in short
interleaved slices (``--rounds`` slices of ``--seconds / --rounds`` each per server), so a
machine that gets busier or quieter during the run (``../shared/BASELINES.md``: two noisy
cores shared by clients and servers) affects every server alike.

Printed per server: ops/s (every API call counts as one op), the ratio to moto, p50/p99
latency per operation, and CPU time per call of the server's process tree and of the clients
(on a small machine the boto3 clients use most of the CPU; their cost per call bounds what any
server can reach). Every server binds 127.0.0.1 and is stopped at the end, also on errors and
Ctrl-C; every wait is bounded.

usage: python scripts/bench_control.py [--seconds 8] [--rounds 4] [--processes 4]
                                       [--servers emulator,moto,werkzeug] [--baseline PYTHON]
       python scripts/bench_control.py --profile [--seconds 5]   # cProfile the app in-process
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import queue
import socket
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from ecr_emulator.testing import ServerProcess, stop_process  # noqa: E402

#: the interpreter of the ``baseline`` server (``--baseline``)
BASELINE: list[str] = [""]
OPERATIONS = ("CreateRepository", "DescribeRepositories", "ListTagsForResource")
WARMUP_ROUNDS = 5
STARTUP_TIMEOUT = 60
STOP_TIMEOUT = 10
#: time for every client process to start, import boto3 and warm up before the first slice
CLIENT_STARTUP = 4.0


# -- servers ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """``python -m moto.server -H 127.0.0.1 -p <port>``, always stopped on exit."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "MotoServer":
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.pid = self._process.pid
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("moto server did not start")

    def __exit__(self, *exc) -> None:
        process, self._process = self._process, None
        stop_process(process, STOP_TIMEOUT)


SERVERS = {
    "emulator": ("ecr-emulator", lambda: ServerProcess("--no-access-log")),
    # --baseline PYTHON: the same server from another checkout's virtualenv (before/after)
    "baseline": ("ecr-emulator (baseline)", lambda: ServerProcess("--no-access-log", python=BASELINE[0])),
    "moto": ("moto_server", MotoServer),
    "werkzeug": ("ecr-emulator (werkzeug)", lambda: ServerProcess("--no-access-log", "--server", "werkzeug")),
}


def _server_pid(server) -> int | None:
    if getattr(server, "pid", None):
        return server.pid
    process = getattr(server, "_process", None)  # ServerProcess keeps its Popen private
    return process.pid if process is not None else None


def _descendants(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo and len(pids) < 1000:  # bounded walk of the process tree
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return pids


def process_tree_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants (Linux /proc)."""
    if pid is None or not os.path.isdir(f"/proc/{pid}"):
        return None
    total = 0.0
    for p in _descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- clients ------------------------------------------------------------------------------

def _client(url: str):
    import boto3
    from botocore.config import Config

    return boto3.client("ecr", endpoint_url=url, region_name="us-east-1", aws_access_key_id="123456789012",
                        aws_secret_access_key="secret",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=2))


def _worker(urls: dict[str, str], index: int, schedule: list[tuple[str, float, float]], results) -> None:
    """One client process: a client per server, warmed up; then the slices of ``schedule``."""
    try:
        clients = {key: _client(url) for key, url in urls.items()}
        prefix = f"bench-{index}-{uuid.uuid4().hex[:8]}"
        stats = {key: {"latencies": {op: [] for op in OPERATIONS}, "cpu": 0.0} for key in urls}
        counter = 0

        def one_round(key: str, record: bool) -> None:
            nonlocal counter
            counter += 1
            client, name = clients[key], f"{prefix}/repo-{counter}"
            t0 = time.perf_counter()
            arn = client.create_repository(repositoryName=name)["repository"]["repositoryArn"]
            t1 = time.perf_counter()
            found = client.describe_repositories(repositoryNames=[name])["repositories"]
            t2 = time.perf_counter()
            client.list_tags_for_resource(resourceArn=arn)
            t3 = time.perf_counter()
            assert found[0]["repositoryName"] == name
            if record:
                latencies = stats[key]["latencies"]
                latencies["CreateRepository"].append(t1 - t0)
                latencies["DescribeRepositories"].append(t2 - t1)
                latencies["ListTagsForResource"].append(t3 - t2)

        for key in urls:
            for _ in range(WARMUP_ROUNDS):
                one_round(key, record=False)
        for key, start, stop in schedule:
            time.sleep(max(0.0, start - time.time()))
            cpu = time.process_time()
            while time.time() < stop:  # bounded by the slice's end
                one_round(key, record=True)
            stats[key]["cpu"] += time.process_time() - cpu
        results.put((index, stats, None))
    except Exception as error:  # report, never hang the parent
        results.put((index, None, f"{type(error).__name__}: {error}"))


def measure(servers: dict[str, object], processes: int, seconds: float, rounds: int) -> dict[str, dict]:
    """Run the clients over interleaved slices; per server: ops/s, latencies, CPU per call."""
    keys = list(servers)
    urls = {key: server.url for key, server in servers.items()}
    slice_seconds = seconds / rounds
    first = time.time() + CLIENT_STARTUP + 0.5 * processes
    schedule = [(key, first + i * slice_seconds, first + (i + 1) * slice_seconds)
                for i, key in enumerate(k for _ in range(rounds) for k in keys)]
    ctx = mp.get_context("spawn")  # clean interpreters: no inherited locks or sockets
    results = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(urls, i, schedule, results), daemon=True)
               for i in range(processes)]
    for worker in workers:
        worker.start()
    server_cpu = {key: 0.0 for key in keys}
    collected = {key: {"latencies": {op: [] for op in OPERATIONS}, "cpu": 0.0} for key in keys}
    errors: list[str] = []
    try:
        for key, start, stop in schedule:
            time.sleep(max(0.0, start - time.time()))
            before = process_tree_cpu(_server_pid(servers[key]))
            time.sleep(max(0.0, stop - time.time()))
            after = process_tree_cpu(_server_pid(servers[key]))
            if before is None or after is None:
                server_cpu[key] = None
            elif server_cpu[key] is not None:
                server_cpu[key] += after - before
        pending, deadline = len(workers), time.time() + 60
        while pending and time.time() < deadline:  # bounded: a dead client must not hang the run
            try:
                index, stats, error = results.get(timeout=1)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    errors.append("client processes exited without reporting")
                    break
                continue
            pending -= 1
            if error:
                errors.append(f"client {index}: {error}")
                continue
            for key in keys:
                collected[key]["cpu"] += stats[key]["cpu"]
                for op in OPERATIONS:
                    collected[key]["latencies"][op] += stats[key]["latencies"][op]
        if pending and not errors:
            errors.append(f"{pending} client processes did not report in time")
    finally:
        for worker in workers:
            worker.join(timeout=STOP_TIMEOUT)
            if worker.is_alive():
                worker.kill()
                worker.join(timeout=STOP_TIMEOUT)
    if errors:
        raise RuntimeError("; ".join(errors))
    report = {}
    for key in keys:
        calls = sum(len(v) for v in collected[key]["latencies"].values())
        report[key] = {
            "ops": calls / seconds,
            "calls": calls,
            "latencies": collected[key]["latencies"],
            "client_cpu_ms": 1000 * collected[key]["cpu"] / max(calls, 1),
            "server_cpu_ms": None if server_cpu[key] is None else 1000 * server_cpu[key] / max(calls, 1),
        }
    return report


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def print_report(results: dict[str, dict], processes: int, seconds: float, rounds: int) -> None:
    print(f"\n{processes} client processes, {seconds:g} s per server in {rounds} interleaved slices; "
          f"ops = API calls ({' + '.join(OPERATIONS)} per round)\n")
    header = (f"{'server':<24}{'ops/s':>7}{'vs moto':>9}{'cpu ms/call':>13}{'':>8}   "
              + "  ".join(f"{op[:20]:>20} p50/p99 ms" for op in OPERATIONS))
    sub = f"{'':<24}{'':>7}{'':>9}{'server':>13}{'clients':>8}"
    print(header)
    print(sub)
    print("-" * len(header))
    moto = results.get("moto", {}).get("ops")
    for key, result in results.items():
        ratio = f"{result['ops'] / moto:.2f}x" if moto else "-"
        server_cpu = "-" if result["server_cpu_ms"] is None else f"{result['server_cpu_ms']:.3f}"
        cells = "  ".join(
            f"{_percentile(result['latencies'][op], 0.5) * 1000:>21.2f} / "
            f"{_percentile(result['latencies'][op], 0.99) * 1000:<7.2f}"
            for op in OPERATIONS)
        print(f"{SERVERS[key][0]:<24}{result['ops']:>7.0f}{ratio:>9}{server_cpu:>13}"
              f"{result['client_cpu_ms']:>8.3f}   {cells}")
    if moto and "emulator" in results:
        print(f"\nemulator / moto = {results['emulator']['ops'] / moto:.2f}x (target >= 3x)")
    print(f"{os.cpu_count()} CPUs shared by the clients and the server under test.")


# -- profiling ----------------------------------------------------------------------------

def profile(seconds: float) -> None:
    """cProfile the emulator's WSGI app in-process on prebuilt requests (no sockets, no server)."""
    import cProfile
    import io
    import json
    import pstats

    from ecr_emulator import Settings, create_app

    app = create_app(Settings(access_log=False))
    auth = ("AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/ecr/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0")

    def post(op: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        environ = {  # what a WSGI server hands the app for a boto3 request
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:5000", "CONTENT_TYPE": "application/x-amz-json-1.1",
            "CONTENT_LENGTH": str(len(data)), "HTTP_X_AMZ_TARGET": "AmazonEC2ContainerRegistry_V20150921." + op,
            "HTTP_AUTHORIZATION": auth, "wsgi.input": io.BytesIO(data), "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "wsgi.version": (1, 0),
        }
        status = []
        answer = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        assert status[0].startswith("200"), answer
        return json.loads(answer)

    def loop(deadline: float) -> int:
        n = 0
        while time.perf_counter() < deadline:  # bounded by the deadline
            name = f"profile/repo-{uuid.uuid4().hex[:12]}"
            arn = post("CreateRepository", {"repositoryName": name})["repository"]["repositoryArn"]
            post("DescribeRepositories", {"repositoryNames": [name]})
            post("ListTagsForResource", {"resourceArn": arn})
            n += 3
        return n

    loop(time.perf_counter() + 0.5)
    calls = loop(time.perf_counter() + seconds)
    print(f"{calls / seconds:.0f} calls/s in-process without profiler ({1e6 * seconds / calls:.0f} us per call)")
    profiler = cProfile.Profile()
    profiler.enable()
    calls = loop(time.perf_counter() + seconds)
    profiler.disable()
    print(f"{calls / seconds:.0f} calls/s under cProfile")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    print(out.getvalue())


# -- main ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured time per server (default 8)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved slices per server (default 4)")
    parser.add_argument("--processes", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--servers", default="emulator,moto,werkzeug",
                        help="comma-separated subset of: " + ", ".join(SERVERS))
    parser.add_argument("--profile", action="store_true", help="cProfile the emulator's app in-process instead")
    parser.add_argument("--baseline", metavar="PYTHON", default="",
                        help="also measure the server of another checkout, run by this interpreter "
                             "(e.g. ../base/.venv/bin/python): server 'baseline'")
    args = parser.parse_args(argv)
    BASELINE[0] = args.baseline
    if args.baseline and "baseline" not in args.servers:
        args.servers += ",baseline"
    if args.profile:
        profile(args.seconds)
        return 0
    keys = [k.strip() for k in args.servers.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SERVERS]
    if unknown or not keys:
        parser.error(f"unknown servers: {unknown}" if unknown else "no servers")
    if args.seconds <= 0 or args.rounds < 1 or args.processes < 1:
        parser.error("--seconds, --rounds and --processes must be positive")
    with contextlib.ExitStack() as stack:
        servers = {}
        for key in keys:
            print(f"starting {SERVERS[key][0]}", flush=True)
            servers[key] = stack.enter_context(SERVERS[key][1]())
        print(f"measuring: {len(keys)} x {args.seconds:g} s + {CLIENT_STARTUP + 0.5 * args.processes:g} s "
              "client start-up", flush=True)
        results = measure(servers, args.processes, args.seconds, args.rounds)
    print_report(results, args.processes, args.seconds, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
