"""Production code never imports the stand-ins: only the demo and bench commands may.

The stand-in servers and sample generators ship with the distribution for the demo, but a
pipeline module that leaned on them would run fake data in production. Walking every module's
imports with `ast` catches a new dependency the moment it is written, lazy imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import power_market_assets

PACKAGE = Path(power_market_assets.__file__).resolve().parent
STANDINS = "power_market_standins"
MAY_IMPORT_STANDINS = {"commands/demo.py", "commands/bench.py", "commands/bench_distributed.py"}
STANDIN_COMMANDS = {"power_market_assets.commands.demo", "power_market_assets.commands.bench"}


def _imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in the file names, at any depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _production_modules() -> dict[str, set[str]]:
    """Relative path -> imported modules, for every module outside the demo and bench."""
    return {
        path.relative_to(PACKAGE).as_posix(): _imported_modules(path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() not in MAY_IMPORT_STANDINS
    }


def _is_standins(module: str) -> bool:
    return module == STANDINS or module.startswith(f"{STANDINS}.")


def test_production_modules_do_not_import_the_standins() -> None:
    offenders = {
        name: sorted(m for m in imports if _is_standins(m))
        for name, imports in _production_modules().items()
        if any(_is_standins(m) for m in imports)
    }
    assert offenders == {}


def test_only_the_cli_reaches_the_demo_and_bench_commands() -> None:
    offenders = {
        name: sorted(imports & STANDIN_COMMANDS)
        for name, imports in _production_modules().items()
        if name != "cli.py" and imports & STANDIN_COMMANDS
    }
    assert offenders == {}


def test_the_walk_sees_the_allowed_imports() -> None:
    """Guards the walker itself: the demo's known import of the stand-ins must be found."""
    demo = _imported_modules(PACKAGE / "commands" / "demo.py")
    assert any(_is_standins(m) for m in demo)
