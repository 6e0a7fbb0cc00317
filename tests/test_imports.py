"""The package is a one-way house: no import circle among neuralfx's modules, and the floors
settings -> presets -> engine -> effect -> chain -> batch -> cli import only downwards.

Read from the source with ``ast`` (nothing is imported), counting every import wherever it is:
module level, inside functions and under ``if TYPE_CHECKING``; ``from .x import y``,
``from . import x``, ``from .x.y import z``, ``import neuralfx.x`` and ``from neuralfx import x``.
``from . import name`` where ``name`` is no module imports the package's ``__init__``. The one
exception the design allows is ``__init__`` itself: it re-exports the public API from every
floor, so nothing below it may import it (``__version__`` lives in ``_version.py``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "neuralfx"
NAME = "neuralfx"

# bottom to top; a floor that does not exist (yet) is skipped
FLOORS = ["settings", "presets", "engine", "effect", "chain", "batch", "cli"]


def _modules(package: Path) -> dict[str, list[Path]]:
    """Module name -> its files: ``effect`` for neuralfx/effect.py, ``batch`` for every file of
    the subpackage neuralfx/batch/ (one floor), ``__init__`` for the package itself."""
    found = {p.stem: [p] for p in package.glob("*.py")}
    for init in package.glob("*/__init__.py"):
        found[init.parent.name] = sorted(init.parent.glob("*.py"))
    return found


def _target(parts: list[str], modules: dict[str, str]) -> str | None:
    """The neuralfx module a dotted path below the package names (its first part)."""
    if not parts:
        return "__init__"
    return parts[0] if parts[0] in modules else None


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the neuralfx modules it imports (anywhere in its source)."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, paths in modules.items():
        in_subpackage = module != "__init__" and paths[0].parent != package
        trees = [ast.parse(path.read_text(), str(path)) for path in paths]
        for node in (node for tree in trees for node in ast.walk(tree)):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == NAME:
                        targets.append(_target(parts[1:], modules))
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    parts = (node.module or "").split(".")
                    if parts[0] != NAME:
                        continue
                    below = parts[1:]
                elif node.level == 1 and not in_subpackage:
                    below = (node.module or "").split(".") if node.module else []
                elif node.level == 2 and in_subpackage:
                    below = (node.module or "").split(".") if node.module else []
                else:  # inside a subpackage: its own modules
                    continue
                if below:
                    targets.append(_target(below, modules))
                else:  # from . import x, y: modules, or names from the package's __init__
                    targets += [alias.name if alias.name in modules else "__init__"
                                for alias in node.names]
            graph[module].update(t for t in targets if t is not None and t != module)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def reachable(graph: dict[str, set[str]], start: str) -> dict[str, list[str]]:
    """Every module ``start`` imports, directly or not, with one import path to it."""
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                todo.append(nxt)
    del paths[start]
    return paths


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import circle in neuralfx/: {' -> '.join(cycle)}"


def test_floors_import_only_downwards():
    graph = import_graph()
    floors = [f for f in FLOORS if f in graph]
    assert floors[:5] == FLOORS[:5] and "cli" in floors
    problems = []
    for i, floor in enumerate(floors):
        for target, route in reachable(graph, floor).items():
            if target in floors[i + 1:] or target == "__init__":
                problems.append(" -> ".join(route))
    assert not problems, "imports running back up: " + "; ".join(problems)


def test_the_checks_see_function_level_and_package_imports(tmp_path):
    """The parser itself: a circle through a function-level import and ``from . import x``,
    named in order."""
    pkg = tmp_path / NAME
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import A\n__version__ = '0'\n")
    (pkg / "a.py").write_text("from . import b\nA = 1\n")
    (pkg / "b.py").write_text("def f():\n    from .c import C\n    return C\n")
    (pkg / "c.py").write_text("import neuralfx.a\nC = 2\n")
    (pkg / "d.py").write_text("from . import __version__\n")
    (pkg / "e").mkdir()  # a subpackage is one node: the imports of all its files
    (pkg / "e" / "__init__.py").write_text("from . import f\n")
    (pkg / "e" / "f.py").write_text("from .g import G\n\ndef h():\n    from ..d import x\n")
    graph = import_graph(pkg)
    assert graph["a"] == {"b"} and graph["b"] == {"c"} and graph["c"] == {"a"}
    assert graph["d"] == {"__init__"} and graph["__init__"] == {"a"}
    assert graph["e"] == {"d"}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    (pkg / "c.py").write_text("C = 2\n")
    assert find_cycle(import_graph(pkg)) is None


@pytest.mark.parametrize("name", ["NeuralStyle", "Pedalboard", "Mix", "Preset", "load_preset",
                                  "RenderOptions", "Settings", "Progress", "__version__"])
def test_public_api_is_unchanged(name):
    import neuralfx

    assert name in neuralfx.__all__
    assert getattr(neuralfx, name) is not None
