"""The program's import graph: every module imports alone, and nothing imports in a circle.

Modules are those of the project's own packages (common/, infra/, workflows/). An edge is any
import statement a module holds, also one inside a function (a deferred import still closes a
cycle the first time it runs); importing `a.b.c` counts as an edge to the module `a.b.c` (or to
`a.b` when `c` is a name defined there), not to the parent packages Python initialises first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from common.paths import REPO_ROOT

PACKAGES = ("common", "infra", "workflows")
# The packages' layering, lowest first: a package may import only those listed before it.
LAYERS = ("common", "workflows", "infra")


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def imports_of(module: str, path: Path) -> set[str]:
    """The project modules `module` imports, anywhere in its body."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import module` imports pkg.module; `from pkg import name`, pkg.
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # The longest project module the name starts with: a.b.c, else a.b (c is a name).
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_checker_finds_a_cycle_and_reads_every_import_form(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    source = tmp_path / "x.py"
    source.write_text(
        "import json\n"
        "from common import exports\n"
        "from .stack import StackOutputs\n"
        "from . import errors\n"
        "def later():\n"
        "    import workflows.runs.retry\n"
    )
    assert imports_of("workflows.runs.x", source) == {
        "common.exports",
        "workflows.runs.stack",
        "workflows.runs.errors",
        "workflows.runs.retry",
    }
    # The real graph holds the deferred import of the commands (workflows/runs/__init__.py).
    assert "workflows.runs.commands" in GRAPH["workflows.runs"]


def test_no_module_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH) or ())


def test_packages_import_only_lower_layers():
    """common imports no other package; workflows imports common only; infra may use both."""
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(module.split(".")[0])
    )
    assert wrong == []


def test_target_specs_load_no_component():
    """The target declarations are data: reading them (infra/config.py does) imports none of
    the components, so no target's SDK loads for another target's stack."""
    for spec_module in ("infra.targets.kind", "infra.targets.existing", "infra.targets.ackone"):
        assert GRAPH[spec_module] == {"infra.targets.contracts"}, spec_module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_alone(module):
    """A fresh interpreter imports the module first, as `pulumi`, `python -m workflows` or a
    test importing only it would: no module relies on another having been imported before."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
