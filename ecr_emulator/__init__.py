"""ecr-emulator: a local, offline stand-in for AWS ECR and ECR Public."""

__version__ = "0.1.0"

from .app import Emulator, create_app  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Emulator", "Settings", "__version__", "create_app"]
