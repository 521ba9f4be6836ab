"""Settings: every field has a row in the settings table (docs/settings.md, linked from the
README), and bad values name the setting."""

from __future__ import annotations

import pathlib
import re
from dataclasses import fields

import pytest

from ecr_emulator.runtime.cli import main
from ecr_emulator.settings import SettingError, Settings, env_of

#: the table of every setting (the README links to it)
SETTINGS_TABLE = (pathlib.Path(__file__).parents[2] / "docs" / "settings.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_in_the_settings_table(name):
    named = re.compile(f"`{env_of(name)}(?![A-Z_])")
    rows = [line for line in SETTINGS_TABLE.splitlines() if line.startswith("| ") and named.search(line)]
    assert len(rows) == 1, f"{env_of(name)} needs one row in docs/settings.md's table"


@pytest.mark.parametrize("variable, value", [
    ("ECR_EMULATOR_PORT", "xyz"), ("ECR_EMULATOR_REGISTRY_AUTH", "maybe"), ("ECR_EMULATOR_THREADS", "1.5"),
])
def test_a_bad_environment_value_names_the_variable(variable, value):
    with pytest.raises(SettingError, match=variable):
        Settings.from_env({variable: value})


@pytest.mark.parametrize("overrides, named", [
    ({"port": 99999}, "--port / ECR_EMULATOR_PORT"),
    ({"public_port": 70000}, "--public-port / ECR_EMULATOR_PUBLIC_PORT"),
    ({"uri_style": "weird"}, "--uri-style"),
    ({"account": "12"}, "--account"),
    ({"extra_regions": ("Not_A_Region",)}, "--extra-region / ECR_EMULATOR_EXTRA_REGIONS"),
])
def test_a_bad_value_names_the_flag_and_the_variable(overrides, named):
    with pytest.raises(SettingError, match=named):
        Settings(**overrides)


def test_serve_refuses_a_bad_port_with_one_line_and_status_2(capsys):
    assert main(["serve", "--port", "99999"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ecr-emulator: --port / ECR_EMULATOR_PORT must be a port number from 0 to 65535, not 99999"]


def test_public_port_follows_the_port():
    assert Settings(port=5000).effective_public_port == 5001
    assert Settings(port=0).effective_public_port == 0
    assert Settings(port=5000, public_port=6000).effective_public_port == 6000


@pytest.mark.parametrize("entries", [
    ("123456789012",), ("123=my-org",), ("123456789012=UPPER",), ("123456789012=a",),
    ("123456789012=public-210987654321",), ("123456789012=org,210987654321=org",),
])
def test_a_bad_public_alias_names_the_setting(entries):
    if len(entries) == 1 and "," in entries[0]:
        entries = tuple(entries[0].split(","))
    with pytest.raises(SettingError, match="--public-alias / ECR_EMULATOR_PUBLIC_ALIAS"):
        Settings(public_alias=entries)


def test_public_aliases_and_verified_accounts_from_the_environment():
    settings = Settings.from_env({"ECR_EMULATOR_PUBLIC_ALIAS": "123456789012=my-org, 210987654321=other.org",
                                  "ECR_EMULATOR_PUBLIC_VERIFIED": "123456789012"})
    assert settings.public_alias == ("123456789012=my-org", "210987654321=other.org")
    assert settings.public_verified == ("123456789012",)
    with pytest.raises(SettingError, match="--public-verified"):
        Settings(public_verified=("not-an-account",))
