"""One plain function per AWS operation, grouped by resource.

Importing this package registers every implemented operation on :data:`ECR` and
:data:`ECR_PUBLIC`; ``ecr-emulator operations`` lists them against the models.
"""

from . import (  # noqa: F401  (registers)
    auth,
    images,
    layers,
    policies,
    public,
    pull_times,
    registry,
    replication,
    repositories,
    signing,
    tagging,
)
from ._registry import ECR, ECR_PUBLIC
from .context import RequestContext

__all__ = ["ECR", "ECR_PUBLIC", "RequestContext"]
