"""Test tooling: a real server in a subprocess, the pytest plugin, and contract checks."""

from .contract import ContractViolation, check_response, checked_client
from .server import ServerProcess

__all__ = ["ContractViolation", "ServerProcess", "check_response", "checked_client"]
