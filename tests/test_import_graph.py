"""The import graph of ``src/mifusion``: no cycle, no module imports a layer above its own, and only
the experiments layer and those above it read a whole ``ExperimentConfig``.

Every import counts, also one inside a function; only imports under ``if TYPE_CHECKING:`` are left out
of the layer check (they never run). The config check counts those too: a lower layer takes typed
arguments or its own config section (``ModelConfig``, ``TrainConfig``), never the whole experiment.
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

#: Where a whole experiment config may be read: its own module, the shipped presets (YAML files loaded
#: into it), and the experiments layer and every layer above it.
CONFIG_READERS_FROM = "experiments"
WHOLE_CONFIG_NAMES = frozenset({"ExperimentConfig", "load", "apply_overrides"})


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
    upward = sorted(
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert not upward, f"upward imports (module, the layer above it imports): {upward}"


def _whole_config_imports(path: Path) -> set[str]:
    """The names of ``WHOLE_CONFIG_NAMES`` that ``path`` imports from ``mifusion.config`` (anywhere)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "mifusion.config"
        for alias in node.names
        if alias.name in WHOLE_CONFIG_NAMES
    }


def test_only_the_experiments_layer_and_above_read_the_whole_config() -> None:
    lowest = _layer(f"mifusion.{CONFIG_READERS_FROM}")
    readers = {
        module: sorted(names)
        for module, path in _modules().items()
        if (names := _whole_config_imports(path))
        and _layer(module) < lowest
        and module not in ("mifusion.config", "mifusion.presets")
    }
    assert not readers, (
        f"modules below {CONFIG_READERS_FROM}/ that read the whole ExperimentConfig: {readers}; pass them "
        "typed arguments or their own config section, built in mifusion.experiments"
    )


def test_the_config_check_sees_a_reader() -> None:
    """The check above is not vacuous: it finds the experiments layer's own readers."""
    modules = _modules()
    assert "ExperimentConfig" in _whole_config_imports(modules["mifusion.experiments.pipeline"])
    assert "load" in _whole_config_imports(modules["mifusion.experiments.run"])
