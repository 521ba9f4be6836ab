"""The dependency rules between the packages, checked on every import statement (module level
and inside functions): engines and the store know nothing of HTTP, and the control plane and the
registry reach engines through the emulator, never by importing them."""

from __future__ import annotations

import ast
from pathlib import Path

import ecr_emulator

ROOT = Path(ecr_emulator.__file__).parent
#: what the HTTP side is made of: the engines' and the store's imports must avoid it
WEB = ("flask", "gunicorn", "werkzeug", "ecr_emulator.app", "ecr_emulator.runtime", "ecr_emulator.registry",
       "ecr_emulator.control", "ecr_emulator.gallery")
#: werkzeug's plain-data parts, which engines may use
WEB_ALLOWED = ("werkzeug.http", "werkzeug.datastructures")
FORBIDDEN = {
    "store": WEB, "features": WEB, "lifecycle": WEB,
    "control": ("ecr_emulator.registry", "ecr_emulator.features"),
    "registry": ("ecr_emulator.control",),
}


def _imports(path: Path):
    """``(line, module)`` for every name an import statement of ``path`` brings in (absolute)."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_layers_import_only_what_they_may():
    found = []
    for layer, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / layer).rglob("*.py")):
            for line, name in _imports(path):
                if _within(name, forbidden) and not _within(name, WEB_ALLOWED):
                    found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert found == []
