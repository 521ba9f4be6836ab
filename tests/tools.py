"""What a test needs from the machine (skopeo, podman, an AWS CLI, chromium, an importable
client...): locally a missing tool skips the tests that need it; in CI (``CI=true``) it FAILS
them, since ``.ci/run`` installs every one and a missing install must be a red build, not a
quiet skip.

Use ``need(condition, "what is missing")`` inside a test or fixture, ``@requires(condition,
"what is missing")`` on a test or module (``pytestmark``), and ``import_client("dxf")``
instead of ``pytest.importorskip``.
"""

from __future__ import annotations

import importlib
import os

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def need(condition: object, missing: str) -> None:
    """Go on if ``condition`` holds; else skip (locally) or fail (CI) naming what is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{missing}: CI must have it (.ci/run installs it), so this is a failure, not a skip",
                    pytrace=False)
    pytest.skip(f"{missing} (CI installs it)", allow_module_level=True)


def requires(condition: object, missing: str) -> pytest.MarkDecorator:
    """A mark that applies :func:`need` before the test runs (see tests/conftest.py)."""
    return pytest.mark.requires(bool(condition), missing)


def import_client(name: str):
    """``pytest.importorskip`` that fails in CI."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        need(False, f"the Python package providing {name!r} is not importable ({error})")
