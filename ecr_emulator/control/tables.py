"""The two operation registries and the decorator every control module uses.

Each handler runs under ``Backend.lock``: control-plane operations are short, in-memory and
must see a consistent registry (a docker push may be committing an image at the same time).
"""

from __future__ import annotations

import functools

from ..awsjson import OperationRegistry

ECR = OperationRegistry("ecr")
ECR_PUBLIC = OperationRegistry("ecr-public")


def _locked(func, name: str):
    """``func`` under the lock, once the caller is authorized for operation ``name`` (identity
    policies, when on: ``RequestContext.authorize_call``)."""
    @functools.wraps(func)
    def run(ctx, **members):
        with ctx.backend.lock:
            ctx.authorize_call(name, members)
            return func(ctx, **members)

    return run


def ecr(name: str):
    """Register a private-ECR operation."""
    return lambda func: ECR.operation(name)(_locked(func, name)) and func


def ecr_public(name: str):
    """Register an ECR Public operation."""
    return lambda func: ECR_PUBLIC.operation(name)(_locked(func, name)) and func


def both(name: str):
    """Register one function for an operation that both services share unchanged."""
    return lambda func: ecr(name)(ecr_public(name)(func))
