"""A marker for state kept as the API's own data: ``Annotated[dict, WireShape("ecr", "ReplicationRule")]``.

Some state is stored as the wire shape the API takes or returns (a replication rule, catalog
data, a lifecycle preview result), a plain dict. The annotation names that shape in botocore's
model, so the snapshot schema (``store/schema.py``) types it from the model instead of leaving
it ``Any``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WireShape:
    service: str
    shape: str
