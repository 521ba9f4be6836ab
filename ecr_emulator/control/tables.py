"""The two operation registries and the decorator every control module uses.

Each handler runs under ``Backend.lock``: control-plane operations are short, in-memory and
must see a consistent registry (a docker push may be committing an image at the same time).
Being short and in memory, they run on the server's event loop when the lock is free (no
hand-off to a request thread); the few that wait on a network upstream or write files are
declared ``waits=True`` and always get a request thread.
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


def ecr(name: str, waits: bool = False):
    """Register a private-ECR operation; ``waits=True`` when its handler may wait on something
    outside memory (a network upstream, a file), so it always runs on a request thread."""
    return lambda func: ECR.operation(name, waits)(_locked(func, name)) and func


def ecr_public(name: str, waits: bool = False):
    """Register an ECR Public operation (``waits``: as for :func:`ecr`)."""
    return lambda func: ECR_PUBLIC.operation(name, waits)(_locked(func, name)) and func


def both(name: str, waits: bool = False):
    """Register one function for an operation that both services share unchanged."""
    return lambda func: ecr(name, waits)(ecr_public(name, waits)(func))
