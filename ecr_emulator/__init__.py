"""ecr-emulator: a local, offline stand-in for AWS ECR and ECR Public.

Names are imported on first use (PEP 562): ``import ecr_emulator.testing.plugin`` (which pytest
loads in every project that has ecr-emulator installed) must not import flask and botocore.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {"Emulator": ".app", "create_app": ".app", "Settings": ".settings", "mock_ecr": ".testing.mock"}
__all__ = ["Emulator", "Settings", "__version__", "create_app", "mock_ecr"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
