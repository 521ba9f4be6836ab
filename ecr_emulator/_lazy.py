"""Package attributes imported on first use (PEP 562 ``__getattr__``).

``import ecr_emulator.testing.plugin`` runs in every pytest session of a project that has
ecr-emulator installed, and imports both packages' ``__init__``: they must not import flask,
botocore or the emulator until a name is actually used.
"""

from __future__ import annotations

import importlib


def exports(package: str, names: dict[str, str]):
    """A module ``__getattr__`` giving ``names`` (name -> relative module) of ``package``."""

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name], package), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
