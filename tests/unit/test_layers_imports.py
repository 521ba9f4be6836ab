"""The package kept in order, checked from the code itself:

- the dependency rules between the packages, on every import statement (module level and inside
  functions): engines and the store know nothing of HTTP, and the control plane and the registry
  reach engines through the emulator, never by importing them;
- no import cycle between the package's modules (imports at every level, ``__init__`` a module);
- no module over :data:`MAX_LINES` lines, at most :data:`MAX_ROOT_MODULES` at the package root,
  none named like a standard-library module;
- no test skips itself because something is "not implemented" or "not yet": a missing feature
  is built or left out, not parked as a skip.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import ecr_emulator

ROOT = Path(ecr_emulator.__file__).parent
TESTS = Path(__file__).resolve().parents[1]
MAX_LINES = 450
#: ``.py`` files directly in ``ecr_emulator/``, ``__init__.py`` and ``__main__.py`` included
MAX_ROOT_MODULES = 8
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
    package = _module_name(path)  # what a relative import starts from: a package's __init__ is it
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


def _module_name(path: Path) -> str:
    """``ecr_emulator.httpd.server`` for ``httpd/server.py``, ``ecr_emulator.httpd`` for its ``__init__``."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """``{module: {module it imports: line}}`` between the package's modules, from every import
    statement at any level. ``from a import b`` counts ``a.b`` when that is a module, else ``a``
    (its ``__init__``); ``import a.b.c`` counts ``a.b.c``."""
    modules = {_module_name(path): path for path in root.rglob("*.py")}
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges = graph[name] = {}
        for line, imported in _imports(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                edges.setdefault(imported, line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as one cycle
    through its first module: ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(graph, component) for component in components]


def _cycle_through(graph, component: set[str]) -> list[str]:
    """One path ``[start, ..., start]`` inside ``component`` (breadth first: a shortest one)."""
    start = min(component)
    came_from = {start: None}
    queue = [start]
    for node in queue:
        for target in sorted(graph[node]):
            if target == start:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target in component and target not in came_from:
                came_from[target] = node
                queue.append(target)
    raise AssertionError(f"no cycle in {sorted(component)}")


def test_no_import_cycle():
    graph = import_graph()
    assert "ecr_emulator.httpd.connection" in graph["ecr_emulator.httpd.server"]  # the graph is read
    found = ["; ".join(f"{a}:{graph[a][b]} imports {b}" for a, b in zip(cycle, cycle[1:], strict=False))
             for cycle in cycles(graph)]
    assert found == []


def test_cycles_are_found():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_module_is_too_long():
    long = {str(path.relative_to(ROOT)): count for path in sorted(ROOT.rglob("*.py"))
            if (count := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_few_modules_at_the_root():
    """Counted with ``__init__.py`` and ``__main__.py``."""
    root = sorted(path.name for path in ROOT.glob("*.py"))
    assert "__init__.py" in root
    assert len(root) <= MAX_ROOT_MODULES, root


def test_no_root_module_is_named_like_the_standard_library():
    """Root modules and root packages: ``ecr_emulator/http.py`` would be imported for ``http`` by
    anything run from inside the package's directory."""
    names = {path.stem for path in ROOT.glob("*.py")} | {
        path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert sorted(names & set(sys.stdlib_module_names)) == []


#: what skips (or expects to fail) a test: pytest's own, unittest's, and tests/tools.py's
SKIPPING = {"skip", "skipif", "xfail", "importorskip", "skipTest", "need", "requires"}
PARKED = re.compile(r"not\s+implemented|not\s+yet", re.IGNORECASE)


def parked_skips(path: Path, base: Path = TESTS) -> list[str]:
    """``line: text`` of every skip in ``path`` whose strings say "not implemented" / "not yet"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in SKIPPING:
            continue
        texts = [part.value for part in ast.walk(node) if isinstance(part, ast.Constant) and isinstance(part.value, str)]
        if any(PARKED.search(text) for text in texts):
            found.append(f"{path.relative_to(base)}:{node.lineno}: {' '.join(texts)}")
    return found


def test_no_test_is_parked_as_a_skip():
    assert [found for path in sorted(TESTS.rglob("*.py")) for found in parked_skips(path)] == []


def test_parked_skips_are_found(tmp_path):
    (tmp_path / "t.py").write_text(
        "import pytest\n"
        "@pytest.mark.skip(reason='Not implemented')\n"
        "def test_a(): pass\n"
        "@pytest.mark.skipif(True, reason=f'{1} not yet')\n"
        "def test_b(): pytest.xfail('NOT YET')\n"
        "def test_c(): pytest.skip('skopeo is not installed')\n")
    assert [line.split(":")[1] for line in parked_skips(tmp_path / "t.py", tmp_path)] == ["2", "4", "5"]
