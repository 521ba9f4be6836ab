"""Account settings (``PutAccountSetting`` / ``GetAccountSetting``): the names and values the
installed botocore model documents, their defaults, and the one reader other features use.

Values live in ``RegistryState.account_settings`` (ECR settings are per account and region);
a name never set reads as its default.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import RegistryState


@dataclass(frozen=True)
class AccountSetting:
    default: str
    values: tuple[str, ...]


#: The model's documentation of PutAccountSetting ``value``: "Valid value for basic scan type:
#: AWS_NATIVE. Valid values for registry policy scope: V2. Valid values for blob mounting:
#: ENABLED or DISABLED." (CLAIR and V1 are retired; tests/unit check this against the model.)
SETTINGS: dict[str, AccountSetting] = {
    "BASIC_SCAN_TYPE_VERSION": AccountSetting("AWS_NATIVE", ("AWS_NATIVE",)),
    "REGISTRY_POLICY_SCOPE": AccountSetting("V2", ("V2",)),
    "BLOB_MOUNTING": AccountSetting("DISABLED", ("ENABLED", "DISABLED")),
}

BLOB_MOUNTING = "BLOB_MOUNTING"
BASIC_SCAN_TYPE_VERSION = "BASIC_SCAN_TYPE_VERSION"
REGISTRY_POLICY_SCOPE = "REGISTRY_POLICY_SCOPE"


def value(state: RegistryState, name: str) -> str:
    """The setting ``name`` of the registry's account and region (its default if never set)."""
    return state.account_settings.get(name, SETTINGS[name].default)
