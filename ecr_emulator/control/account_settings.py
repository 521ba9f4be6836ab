"""GetAccountSetting / PutAccountSetting over ``store.account_settings`` (names, values and
defaults as the installed model documents them)."""

from __future__ import annotations

from ..store import account_settings
from .tables import ecr
from .validation import invalid


def _setting(name: str) -> account_settings.AccountSetting:
    setting = account_settings.SETTINGS.get(name)
    if setting is None:
        raise invalid("name", f"Member must satisfy enum value set: [{', '.join(account_settings.SETTINGS)}]")
    return setting


@ecr("GetAccountSetting")
def get_account_setting(ctx, name):
    _setting(name)
    state = ctx.registry(None, "GetAccountSetting")
    return {"name": name, "value": account_settings.value(state, name)}


@ecr("PutAccountSetting")
def put_account_setting(ctx, name, value):
    setting = _setting(name)
    if value not in setting.values:
        raise invalid("value", f"Valid values for {name} are: [{', '.join(setting.values)}]")
    state = ctx.registry(None, "PutAccountSetting")
    state.account_settings[name] = value
    return {"name": name, "value": value}
