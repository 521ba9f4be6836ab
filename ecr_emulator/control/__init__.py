"""One plain function per AWS operation, grouped by resource.

Importing this package registers every implemented operation on :data:`ECR` and
:data:`ECR_PUBLIC`; ``ecr-emulator operations`` lists them against the models.
"""

from . import (  # noqa: F401  (registers)
    account_settings,
    auth,
    images,
    layers,
    lifecycle,
    policies,
    public,
    pull_through,
    pull_times,
    registry,
    replication,
    repositories,
    scanning,
    signing,
    storage_class,
    tagging,
    templates,
)
from ._registry import ECR, ECR_PUBLIC
from .context import RequestContext

__all__ = ["ECR", "ECR_PUBLIC", "RequestContext"]
