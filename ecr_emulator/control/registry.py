"""Registry-level operations of private ECR."""

from __future__ import annotations

from ._registry import ecr


@ecr("DescribeRegistry")
def describe_registry(ctx):
    state = ctx.registry(None, "DescribeRegistry")
    return {"registryId": state.account, "replicationConfiguration": {"rules": state.replication_rules}}
