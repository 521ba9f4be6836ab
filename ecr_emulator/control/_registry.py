"""The two operation registries and the decorator every control module uses.

Each handler runs under ``Backend.lock``: control-plane operations are short, in-memory and
must see a consistent registry (a docker push may be committing an image at the same time).
"""

from __future__ import annotations

import functools

from ..awsjson import OperationRegistry

ECR = OperationRegistry("ecr")
ECR_PUBLIC = OperationRegistry("ecr-public")


def _locked(func):
    @functools.wraps(func)
    def run(ctx, **members):
        with ctx.backend.lock:
            return func(ctx, **members)

    return run


def ecr(name: str):
    """Register a private-ECR operation."""
    return lambda func: ECR.operation(name)(_locked(func)) and func


def ecr_public(name: str):
    """Register an ECR Public operation."""
    return lambda func: ECR_PUBLIC.operation(name)(_locked(func)) and func


def both(name: str):
    """Register one function for an operation that both services share unchanged."""
    return lambda func: ecr(name)(ecr_public(name)(func))
