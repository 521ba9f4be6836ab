"""Test tooling: a real server in a subprocess, the pytest plugin, the in-process ``mock_ecr``,
contract checks and synthetic images.

Names are imported on first use (PEP 562), so importing the pytest plugin, which lives in this
package, does not import boto3 or the emulator.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ContractViolation": ".contract", "check_response": ".contract", "checked_client": ".contract",
    "ServerProcess": ".server", "mock_ecr": ".mock", "MockEcr": ".mock",
    "ImagePusher": ".push", "build_image": ".push", "PushError": ".push",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
