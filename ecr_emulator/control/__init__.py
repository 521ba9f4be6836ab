"""One plain function per AWS operation, grouped by resource.

Importing this package registers every implemented operation on :data:`ECR` and
:data:`ECR_PUBLIC`; ``ecr-emulator operations`` lists them against the models.
"""

from . import (  # noqa: F401  (registers)
    account_settings,
    auth,
    ecr_public,
    images,
    layers,
    lifecycle_policies,
    policies,
    pull_through,
    pull_times,
    replication,
    repositories,
    scanning,
    signing,
    storage_class,
    tagging,
    templates,
)
from .context import RequestContext
from .tables import ECR, ECR_PUBLIC

__all__ = ["ECR", "ECR_PUBLIC", "RequestContext"]
