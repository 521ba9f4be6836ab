"""ecr-emulator: a local, offline stand-in for AWS ECR and ECR Public.

Names are imported on first use (``_lazy``): ``import ecr_emulator.testing.plugin``, which
pytest loads in every project that has ecr-emulator installed, must not import flask and botocore.
"""

from __future__ import annotations

from ._lazy import exports

__version__ = "0.1.0"
__all__ = ["Emulator", "Settings", "__version__", "create_app", "mock_ecr"]
__getattr__ = exports(__name__, {"Emulator": ".app", "create_app": ".app", "Settings": ".settings",
                                 "mock_ecr": ".testing.mock"})
