"""tests/tools.py: a missing tool skips a test on a developer's machine and fails it in CI."""

from __future__ import annotations

import os
import pathlib

import pytest

from .. import tools


def test_a_missing_tool_fails_in_ci(monkeypatch):
    monkeypatch.setattr(tools, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="skopeo is not installed: CI must have it"):
        tools.need(None, "skopeo is not installed")
    with pytest.raises(pytest.fail.Exception):
        tools.import_client("a_module_that_is_not_there")


def test_a_missing_tool_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(tools, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="skopeo is not installed"):
        tools.need("", "skopeo is not installed")
    tools.need("/usr/bin/skopeo", "skopeo is not installed")  # there: nothing happens


def test_the_requires_mark_goes_through_need(pytester, monkeypatch):
    pytester.makeconftest("""
from tests.conftest import pytest_runtest_setup  # noqa: F401
""")
    pytester.makepyfile("""
from tests.tools import requires

@requires(False, "the frobnicator is not installed")
def test_needs_it():
    pass
""")
    root = str(pathlib.Path(__file__).parents[2])
    env_path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", env_path)
    monkeypatch.setenv("CI", "true")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:ecr_emulator")
    result.assert_outcomes(errors=1)  # an error in setup: a red build as a failure is
    assert "the frobnicator is not installed: CI must have it" in result.stdout.str()
    monkeypatch.setenv("CI", "")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:ecr_emulator")
    result.assert_outcomes(skipped=1)
