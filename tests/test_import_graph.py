"""The import graph of ``src/mifusion``: no cycle, and no module imports a layer above its own.

Every import counts, also one inside a function; only imports under ``if TYPE_CHECKING:`` are left out
(they never run). ``KNOWN_UPWARD`` lists the upward imports that are still there: the test fails on any
new one, and on a listed one that is gone (delete it from the list), so the list only shrinks.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: Lowest first. A package may import its own layer and the ones below, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("registry", "files", "coerce", "config"),
    ("writers", "metrics", "objectives", "presets", "stats"),
    ("estimators",),
    ("data",),
    ("encoders",),
    ("fusions",),
    ("models",),
    ("training",),
    ("evaluation",),
    ("experiments",),  # the one layer (with config and presets) that reads a whole ExperimentConfig
    ("media",),  # extraction from raw clips, and one-clip prediction through a trained run
    ("api",),
    ("sweeps",),
    ("cli", "mifusion"),  # the CLI, and the package's __init__ (public API, re-exports, __version__)
)

#: Upward imports still to remove (issue 27: the experiments layer, and the trainer's injected validate).
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset({
})  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for path in (SRC / "mifusion").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """module -> the mifusion modules it imports (``from package import submodule`` -> the submodule)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.append(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _layer(module: str) -> int:
    package = module.split(".")[1] if "." in module else "mifusion"
    for index, names in enumerate(LAYERS):
        if package in names:
            return index
    raise AssertionError(f"{module}: package {package!r} is in no layer; add it to LAYERS")


def test_every_package_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_no_import_cycle() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(_modules()):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_a_layer_above_it() -> None:
    upward = {
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    }
    assert not upward - KNOWN_UPWARD, f"new upward imports: {sorted(upward - KNOWN_UPWARD)}"
    assert not KNOWN_UPWARD - upward, f"gone, delete from KNOWN_UPWARD: {sorted(KNOWN_UPWARD - upward)}"
