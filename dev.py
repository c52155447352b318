#!/usr/bin/env python3
"""One entry point for a fresh machine with only Python 3.11: set-up happens on first use.

    python3 dev.py demo    # create .venv, install the pinned deps, run the demo: real-format
                           # sample files of all five ISOs (ERCOT, CAISO, NYISO, ISO-NE, PJM)
                           # served on 127.0.0.1, every asset materialized into ./data
    python3 dev.py test    # the same set-up, then lint, `dagster definitions validate`, pytest
    python3 dev.py bench   # stage 1 -> 2 benchmark on one generated month of ERCOT RT prices

The virtual environment is rebuilt when requirements.lock or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed"


def _requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml", "setup.py"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is required (this is {sys.version.split()[0]})")
    wanted = _requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing pinned dependencies (requirements.lock) ...", flush=True)
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def run(*args: str) -> None:
    completed = subprocess.run(list(args), cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "help"
    if command not in {"demo", "test", "bench", "setup"}:
        sys.exit(__doc__)
    ensure_venv()
    if command == "demo":
        run(str(BIN / "power-market"), "demo", *argv[1:])
    elif command == "bench":
        run(str(BIN / "power-market"), "bench", *argv[1:])
    elif command == "test":
        run(str(BIN / "ruff"), "check", ".")
        run(str(BIN / "ruff"), "format", "--check", ".")
        run(str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml")
        # Two pytest workers (pytest-xdist), one per core: every test makes its own data root,
        # servers on free ports and Dagster instance, so they run side by side.
        run(str(BIN / "pytest"), "-q", "-n", "2", *argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
