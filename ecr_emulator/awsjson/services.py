"""Loading botocore service models once and looking up operations by X-Amz-Target."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import botocore.session
from botocore.model import OperationModel, ServiceModel


@dataclass(frozen=True)
class Service:
    """One botocore service model plus what the wire protocol needs from it."""

    name: str
    model: ServiceModel
    target_prefix: str
    paginators: dict = field(default_factory=dict)

    def operation(self, name: str) -> OperationModel | None:
        if name not in self._operation_names:
            return None
        return _operation_model(self.name, name)

    @property
    def operation_names(self) -> list[str]:
        return list(self.model.operation_names)

    @property
    def _operation_names(self) -> frozenset[str]:
        return _names(self.name)


@lru_cache(maxsize=None)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@lru_cache(maxsize=None)
def load_service(name: str) -> Service:
    """The model of service ``name`` (e.g. ``"ecr"``), loaded once per process."""
    session = _session()
    model = session.get_service_model(name)
    try:
        paginators = session.get_paginator_model(name)._paginator_config
    except Exception:  # a service without paginators
        paginators = {}
    return Service(name, model, model.metadata["targetPrefix"], dict(paginators))


@lru_cache(maxsize=None)
def _names(service: str) -> frozenset[str]:
    return frozenset(load_service(service).model.operation_names)


@lru_cache(maxsize=None)
def _operation_model(service: str, operation: str) -> OperationModel:
    return load_service(service).model.operation_model(operation)
