"""The registry of operation handlers: ``@registry.operation("CreateRepository")``.

A handler is a plain function ``handler(ctx, **members)`` where the members of the input
shape arrive as snake_case keyword arguments (``repositoryName`` -> ``repository_name``)
and the return value is a dict in the output shape's own (camelCase) member names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Handler = Callable[..., dict[str, Any]]


@lru_cache(maxsize=None)
def snake_case(name: str) -> str:
    """``repositoryName`` -> ``repository_name``; ``kmsKey`` -> ``kms_key``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@dataclass
class OperationRegistry:
    """Handlers of one service, by operation name."""

    service: str

    def __post_init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        #: operations whose handlers may wait on something outside memory (a network upstream,
        #: a layer part's file): never run on the server's event loop (see :meth:`quick`)
        self.waiting: set[str] = set()

    def operation(self, name: str, waits: bool = False) -> Callable[[Handler], Handler]:
        def register(func: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"{self.service}.{name} registered twice")
            self.handlers[name] = func
            if waits:
                self.waiting.add(name)
            return func

        return register

    def get(self, name: str) -> Handler | None:
        return self.handlers.get(name)

    def quick(self, name: str) -> bool:
        """Whether ``name`` is an operation that only computes over memory (not declared
        ``waits``): the server may run it on its event loop instead of a request thread."""
        return name in self.handlers and name not in self.waiting

    def call(self, name: str, ctx: Any, members: dict[str, Any]) -> dict[str, Any]:
        handler = self.handlers[name]
        return handler(ctx, **{snake_case(k): v for k, v in members.items()})
