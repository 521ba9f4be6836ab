#!/usr/bin/env python3
"""What the call log, the EventBridge events and the fault hook cost a control-plane call
(never part of the tests).

In process (``mock_ecr``), one boto3 client loops over DescribeRepositories,
ListTagsForResource and PutImageTagMutability (a write call: recorded, rendered as a CloudTrail
event and published), in interleaved rounds with the protocol's observers and interceptors in
place and removed, so a machine getting busier affects both alike. Reported: the thread's CPU
time per call, median of the rounds, and the difference.

usage: python scripts/bench_observe.py [--calls 300] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from ecr_emulator import mock_ecr

ARN = "arn:aws:ecr:us-east-1:123456789012:repository/app"


def _round(ecr, calls: int) -> float:
    started = time.thread_time()
    for _ in range(calls):
        ecr.describe_repositories()
        ecr.list_tags_for_resource(resourceArn=ARN)
        ecr.put_image_tag_mutability(repositoryName="app", imageTagMutability="MUTABLE")
    return (time.thread_time() - started) / (3 * calls) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with mock_ecr() as mock:
        ecr = mock.client()
        ecr.create_repository(repositoryName="app")
        protocol = mock.emulator.protocol
        hooks = (list(protocol.observers), list(protocol.interceptors))
        on, off = [], []
        for _ in range(args.rounds):
            protocol.observers[:], protocol.interceptors[:] = hooks
            on.append(_round(ecr, args.calls))
            protocol.observers[:], protocol.interceptors[:] = [], []
            off.append(_round(ecr, args.calls))
            mock.reset()  # the logs start empty each round (a full ring costs no more: it is bounded)
            ecr.create_repository(repositoryName="app")
    with_hooks, without = statistics.median(on), statistics.median(off)
    print(f"per call, CPU ms, median of {args.rounds} rounds of {3 * args.calls} calls:")
    print(f"  with the call log, events and fault hook: {with_hooks:.3f}")
    print(f"  without:                                  {without:.3f}")
    print(f"  added:                                    {with_hooks - without:.3f}")


if __name__ == "__main__":
    main()
