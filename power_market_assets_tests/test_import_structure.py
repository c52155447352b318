"""Import structure: no project import hides inside a function, and the module-level imports
have no cycle (issue 11: imports inside functions had hidden seven cycles).

Allowed exceptions: imports under `if TYPE_CHECKING:` (never run), and cli.py's subcommand
handlers, which import their command lazily so that `power-market --help` stays fast.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("power_market_assets", "power_market_standins")
LAZY_ALLOWED = {"power_market_assets/cli.py"}  # subcommand imports keep `--help` fast


ImportNode = ast.Import | ast.ImportFrom


@cache
def _python_files() -> tuple[Path, ...]:
    return tuple(sorted(p for package in PACKAGES for p in (REPO_ROOT / package).rglob("*.py")))


@cache
def _module_names() -> frozenset[str]:
    return frozenset(map(_module_name, _python_files()))


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(node: ImportNode, module: str, is_package: bool) -> list[str]:
    """Absolute module names an import statement names: for `from pkg import x`, `pkg.x` when
    x is a submodule, else `pkg`."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        anchor = parts[: len(parts) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    modules = _module_names()
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        for alias in node.names
    ]


def _walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ImportNode, bool]]:
    """Every import below `node` with whether it runs inside a function, skipping
    TYPE_CHECKING blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for orelse in child.orelse:
                yield from _walk(orelse, in_function)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _walk(child, inner)


def _project_imports(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, imported module, inside a function) for each project import of a file."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    for node, in_function in _walk(ast.parse(path.read_text(), str(path)), False):
        for name in _imported_modules(node, module, is_package):
            if name.split(".")[0] in PACKAGES:
                yield node.lineno, name, in_function


def test_no_project_import_inside_a_function() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {name} inside a function"
        for path in _python_files()
        if str(path.relative_to(REPO_ROOT)) not in LAZY_ALLOWED
        for line, name, in_function in _project_imports(path)
        if in_function
    ]
    assert not found, "import at module level (a cycle? move the shared part):\n" + "\n".join(
        sorted(set(found))
    )


def _module_graph() -> dict[str, set[str]]:
    """Module -> project modules it imports at module level (names that are not modules,
    like `from pkg import function`, are dropped)."""
    paths = {_module_name(p): p for p in _python_files()}
    return {
        module: {
            name
            for _, name, in_function in _project_imports(path)
            if not in_function and name in paths and name != module
        }
        for module, path in paths.items()
    }


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle through `start` (depth-first), or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for imported in sorted(graph[module]):
            if imported == start:
                return [*path, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*path, imported]))
    return None


def test_module_level_imports_have_no_cycle() -> None:
    """Edges are the modules each statement names (a package's __init__ importing its own
    submodules, as formats/__init__.py's FORMATS table does, is one edge, not a loop)."""
    graph = _module_graph()
    cycles = [cycle for module in sorted(graph) if (cycle := _cycle_from(module, graph))]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# The layers of docs/ARCHITECTURE.md, lowest first: a module imports only its own layer or
# lower ones (the CLI and its commands sit on top, the Definitions just below them).
LAYERS = (
    ("registry",),
    ("formats", "transforms", "quality", "reporting"),
    ("sources",),
    ("settings",),  # the environment's settings, with the sources' default URLs
    ("io",),
    ("assets",),
    ("automation",),
    ("definitions",),
    ("commands", "cli"),
)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "power_market_assets" or len(parts) < 2:
        return None
    return next((n for n, names in enumerate(LAYERS) if parts[1] in names), None)


def test_imports_only_point_down_the_layers() -> None:
    graph = _module_graph()
    upward = [
        f"{module} imports {imported}"
        for module, imports in graph.items()
        for imported in imports
        if (low := _layer(module)) is not None
        and (high := _layer(imported)) is not None
        and high > low
    ]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(sorted(upward))
