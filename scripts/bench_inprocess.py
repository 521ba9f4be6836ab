#!/usr/bin/env python3
"""In-process benchmark: what a test suite pays for ecr-emulator (never part of the tests).

1. **plugin start-up**: importing the pytest plugin, and starting the session server the
   ``ecr_emulator_server`` fixture starts (``ecr-emulator serve`` on a free port, until it
   answers ``/_emulator/health``);
2. **per-test reset**: the plugin's reset before each test (``POST /_emulator/reset``) of an
   emulator holding ``--repositories`` repositories with one pushed image each;
3. **per-call latency** of one boto3 ``ecr`` client looping over CreateRepository +
   DescribeRepositories + ListTagsForResource, answered by
   - ``floor``: a no-op ``before-send`` handler returning ``{}`` (botocore's own cost: build,
     sign, parse; nothing can be faster),
   - ``mock_ecr``: the in-process emulator,
   - ``moto``: moto's ``mock_aws``,
   - ``replay`` (for information): a no-op handler answering with the bodies mock_ecr gave
     (so botocore parses real answers: what any emulator, moto included, adds above the
     floor without doing any work),
   in interleaved rounds (so a machine getting busier affects all three alike). Everything
   runs in this one thread, so the figure is the CPU time of the thread per call (what other
   processes on a shared machine do barely moves it); wall-clock time is printed too. The
   median round is reported, and the time above the floor, which is what the emulator adds.

Target: mock_ecr's time above the floor is at most 1/5 of moto's.

usage: python scripts/bench_inprocess.py [--calls 600] [--rounds 5] [--repositories 50]
       python scripts/bench_inprocess.py --profile    # cProfile mock_ecr's loop
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import boto3  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

from ecr_emulator import mock_ecr  # noqa: E402
from ecr_emulator.testing import ServerProcess  # noqa: E402
from ecr_emulator.testing.push import ImagePusher  # noqa: E402

REGION = "us-east-1"


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def _floor_answer(request, **_):
    return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(b"{}"))


def _loop(client, calls: int, prefix: str) -> tuple[float, float]:
    """CPU and wall-clock seconds per call of ``calls`` calls (a third of each operation)."""
    gc.collect()  # what earlier rounds left is not this round's cost
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(calls // 3):
        name = f"{prefix}/repo-{i}"
        arn = client.create_repository(repositoryName=name).get("repository", {}).get(
            "repositoryArn", f"arn:aws:ecr:{REGION}:123456789012:repository/{name}")
        client.describe_repositories(repositoryNames=[name])
        client.list_tags_for_resource(resourceArn=arn)
    done = calls // 3 * 3
    return (time.thread_time() - cpu) / done, (time.perf_counter() - start) / done


def run_floor(calls: int, prefix: str) -> tuple[float, float]:
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="123456789012", aws_secret_access_key="x")
    client.meta.events.register("before-send.ecr", _floor_answer)
    _loop(client, 30, prefix + "-warm")
    return _loop(client, calls, prefix)


_RECORDED: list[bytes] = []


def run_replay(calls: int, prefix: str) -> tuple[float, float]:
    if not _RECORDED:
        with mock_ecr() as mock:
            client = boto3.client("ecr", region_name=REGION, aws_access_key_id="123456789012",
                                  aws_secret_access_key="x")
            client.meta.events.register("after-call.ecr", lambda http_response, **_: _RECORDED.append(
                http_response.content))
            _loop(client, calls + 30, "replay")
            del mock
    answers = iter(_RECORDED * 2)

    def replay(request, **_):
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(next(answers)))

    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="123456789012", aws_secret_access_key="x")
    client.meta.events.register("before-send.ecr", replay)
    _loop(client, 30, prefix + "-warm")
    return _loop(client, calls, prefix)


def _run_inside(mock, calls: int, prefix: str) -> tuple[float, float]:
    """The loop with a client created inside ``mock`` (a started context manager)."""
    with mock:
        client = boto3.client("ecr", region_name=REGION, aws_access_key_id="123456789012",
                              aws_secret_access_key="x")
        _loop(client, 30, prefix + "-warm")
        return _loop(client, calls, prefix)


def run_mock_ecr(calls: int, prefix: str) -> tuple[float, float]:
    return _run_inside(mock_ecr(), calls, prefix)


def run_moto(calls: int, prefix: str) -> tuple[float, float]:
    from moto import mock_aws

    return _run_inside(mock_aws(), calls, prefix)


def per_call(args) -> dict[str, list[tuple[float, float]]]:
    runners = {"floor": run_floor, "replay": run_replay, "mock_ecr": run_mock_ecr, "moto": run_moto}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for round_ in range(args.rounds):
        for name, run in runners.items():
            results[name].append(run(args.calls, f"r{round_}"))
    return results


def plugin_startup(args) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pytest; import ecr_emulator.testing.plugin"],
                         capture_output=True, text=True, check=True).stderr
    plugin_us = next(int(line.split("|")[1]) for line in out.splitlines() if line.endswith("ecr_emulator.testing.plugin"))
    starts, resets = [], []
    for _ in range(args.starts):
        begin = time.perf_counter()
        with ServerProcess("--no-access-log") as server:
            with urllib.request.urlopen(server.url + "/_emulator/health", timeout=30) as answer:
                answer.read()
            starts.append(time.perf_counter() - begin)
            resets.extend(_resets(server.url, args))
    return {"import_ms": plugin_us / 1000, "start_s": statistics.median(starts),
            "reset_ms": statistics.median(resets) * 1000, "resets": len(resets)}


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def _resets(url: str, args) -> list[float]:
    """Reset times of an emulator seeded with ``--repositories`` repositories and images."""
    ecr = boto3.client("ecr", endpoint_url=url, region_name=REGION, aws_access_key_id="123456789012",
                       aws_secret_access_key="x")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    push = ImagePusher(url, lambda: token)
    times = []
    for _ in range(args.resets):
        for i in range(args.repositories):
            ecr.create_repository(repositoryName=f"seed/r{i}")
            push(f"seed/r{i}", "v1", files={"f": str(i).encode()})
        begin = time.perf_counter()
        _post(url + "/_emulator/reset")
        times.append(time.perf_counter() - begin)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600, help="calls per round per runner")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--starts", type=int, default=3, help="server starts to time")
    parser.add_argument("--resets", type=int, default=5, help="resets to time per start")
    parser.add_argument("--repositories", type=int, default=50, help="repositories (one image each) before a reset")
    parser.add_argument("--profile", action="store_true", help="cProfile mock_ecr's loop instead")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("run_mock_ecr(args.calls, 'p')", globals(), {"args": args}, "/tmp/bench_inprocess.prof")
        pstats.Stats("/tmp/bench_inprocess.prof").sort_stats("cumulative").print_stats(40)
        return
    results = per_call(args)
    cpu = {name: statistics.median(c for c, _ in times) * 1000 for name, times in results.items()}
    wall = {name: statistics.median(w for _, w in times) * 1000 for name, times in results.items()}
    print(f"per call, median of {args.rounds} rounds of {args.calls} calls (create + describe + list-tags), ms:")
    print(f"  {'':9s} {'CPU':>6s} {'above floor':>12s}   {'wall':>6s} {'above floor':>12s}   CPU of each round")
    for name in results:
        rounds = ", ".join(f"{c * 1000:.3f}" for c, _ in results[name])
        print(f"  {name:9s} {cpu[name]:6.3f} {cpu[name] - cpu['floor']:12.3f}   {wall[name]:6.3f} "
              f"{wall[name] - wall['floor']:12.3f}   {rounds}")
    ratios = {}
    for label, figures in (("CPU", cpu), ("wall", wall)):
        above_moto = figures["moto"] - figures["floor"]
        ratios[label] = (figures["mock_ecr"] - figures["floor"]) / above_moto if above_moto > 0 else float("nan")
    print(f"  mock_ecr's time above the floor is {ratios['CPU']:.2f} of moto's in CPU time, "
          f"{ratios['wall']:.2f} in wall-clock time (target <= 0.20)")
    print(f"  of mock_ecr's {cpu['mock_ecr'] - cpu['floor']:.3f} ms above the floor (CPU), "
          f"{cpu['replay'] - cpu['floor']:.3f} ms is botocore parsing real answers (replay) and "
          f"{cpu['mock_ecr'] - cpu['replay']:.3f} ms the emulator's own work")
    startup = plugin_startup(args)
    print(f"plugin import: {startup['import_ms']:.1f} ms (pytest already imported)")
    print(f"session server start (ServerProcess until /_emulator/health answers): {startup['start_s']:.2f} s, "
          f"median of {args.starts}")
    print(f"per-test reset of {args.repositories} repositories with an image each: {startup['reset_ms']:.2f} ms, "
          f"median of {startup['resets']}")
    print(json.dumps({"per_call_cpu_ms": cpu, "per_call_wall_ms": wall, "ratio_above_floor": ratios, **startup}))


if __name__ == "__main__":
    main()
