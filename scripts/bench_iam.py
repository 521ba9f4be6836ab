#!/usr/bin/env python3
"""What identity policies cost: IAM decisions in-process, and signed API calls over a real server
with and without ``--identity-policies``.

1. ``decisions``: µs per :func:`iam.require_identity` for the README recipe's pusher policy (four
   statements, one condition) and for a 40-statement policy with conditions and policy variables.
2. ``server``: two ``ecr-emulator serve --credentials-file`` processes, one with the recipe's
   identity policies, timed in interleaved slices (``--rounds``) so a machine that gets busier
   affects both alike: ms per signed ``DescribeImages`` of the pusher (p50 and mean).

Every server binds 127.0.0.1 and is stopped at the end; every wait is bounded.

usage: python scripts/bench_iam.py [--calls 300] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecr_emulator.identity.iam import AccessRequest, Principal, context_keys, require_identity  # noqa: E402
from ecr_emulator.testing import ServerProcess  # noqa: E402

ACCOUNT = "111122223333"
PUSHER = f"arn:aws:sts::{ACCOUNT}:assumed-role/pusher/bench"
TEAM = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/*"
PUSHER_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Effect": "Allow", "NotAction": "ecr:CreateRepository", "Resource": TEAM},
    {"Effect": "Allow", "Action": "ecr:CreateRepository", "Resource": TEAM,
     "Condition": {"StringEquals": {"aws:RequestTag/team": "a"}}},
    {"Effect": "Deny", "Action": "ecr:BatchDeleteImage", "Resource": "*"}]}
LARGE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": [f"ecr:Describe{i}*", "ecr:List*"],
     "Resource": f"arn:aws:ecr:*:{ACCOUNT}:repository/${{aws:PrincipalTag/team}}-{i}/*",
     "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT},
                   "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"},
                   "DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}}
    for i in range(40)] + [PUSHER_POLICY["Statement"][1]]}


def decisions(n: int = 20000) -> None:
    keys = context_keys("ecr", datetime.now(timezone.utc), {"aws:SourceIp": "127.0.0.1",
                                                             "aws:SecureTransport": "false"})
    request = AccessRequest(Principal(ACCOUNT, PUSHER, tags=(("team", "a"),)), "ecr:PutImage",
                            f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app", keys)
    for name, policy in (("pusher policy (4 statements)", PUSHER_POLICY), ("40 statements, conditions", LARGE_POLICY)):
        started = time.perf_counter()
        for _ in range(n):
            require_identity(request, ACCOUNT, [policy], [None, None])
        print(f"decision, {name}: {(time.perf_counter() - started) / n * 1e6:.1f} µs")


def server(calls: int, rounds: int) -> None:
    import boto3

    work = Path(tempfile.mkdtemp(prefix="bench-iam-"))
    keys = {"root": ("AKIABENCHROOT0000001", None), "pusher": ("ASIABENCHPUSHER00001", PUSHER)}
    (work / "credentials").write_text("\n".join(
        f"[{n}]\naws_access_key_id = {k}\naws_secret_access_key = s\naccount = {ACCOUNT}\n"
        + (f"principal_arn = {arn}\n" if arn else "") for n, (k, arn) in keys.items()))
    (work / "policies.json").write_text(json.dumps({f"arn:aws:iam::{ACCOUNT}:role/pusher": [PUSHER_POLICY]}))
    base = ("--no-access-log", "--credentials-file", str(work / "credentials"))
    with ServerProcess(*base) as plain, ServerProcess(*base, "--identity-policies", str(work / "policies.json")) as iam:
        clients = {}
        for label, proc in (("without identity policies", plain), ("with identity policies", iam)):
            def client(who, url=proc.url):
                return boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                                    aws_access_key_id=keys[who][0], aws_secret_access_key="s")
            client("root").create_repository(repositoryName="team/app")
            clients[label] = client("pusher")
            for _ in range(20):
                clients[label].describe_images(repositoryName="team/app")
        times = {label: [] for label in clients}
        for _ in range(rounds):
            for label, c in clients.items():
                for _ in range(calls // rounds):
                    started = time.perf_counter()
                    c.describe_images(repositoryName="team/app")
                    times[label].append(time.perf_counter() - started)
        for label, samples in times.items():
            print(f"signed DescribeImages, {label}: p50 {statistics.median(samples) * 1e3:.2f} ms, "
                  f"mean {statistics.fmean(samples) * 1e3:.2f} ms ({len(samples)} calls)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    decisions()
    server(args.calls, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
