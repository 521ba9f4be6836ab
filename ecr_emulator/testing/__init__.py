"""Test tooling: a real server in a subprocess, the pytest plugin, the in-process ``mock_ecr``,
contract checks and synthetic images.

Names are imported on first use (``ecr_emulator._lazy``), so importing the pytest plugin, which
lives in this package, does not import boto3 or the emulator.
"""

from __future__ import annotations

from .._lazy import exports

_EXPORTS = {
    "ContractViolation": ".contract", "check_response": ".contract", "checked_client": ".contract",
    "ServerProcess": ".server", "stop_process": ".server", "mock_ecr": ".mock", "MockEcr": ".mock",
    "ImagePusher": ".push", "build_image": ".push", "PushError": ".push",
    "EmulatorEvents": ".observe", "EmulatorCalls": ".observe", "EmulatorFaults": ".observe",
}
__all__ = sorted(_EXPORTS)
__getattr__ = exports(__name__, _EXPORTS)
