"""Issue 10 item 12: `power-market ui` serves the data root's instance on a free port, prints
the URL, shows no warning wall, and SIGTERM stops it with no process left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

POWER_MARKET = Path(sys.executable).with_name("power-market")
START_TIMEOUT = 240.0


def _wait_for_url(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"(http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return found.group(1)
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    raise AssertionError(f"no URL printed: {log.read_text()[-3000:]}")


def _wait_until_served(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(1.0)
    raise AssertionError(f"{url} never answered: {log.read_text()[-3000:]}")


def _processes_mentioning(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ or marker in cmdline:
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


@pytest.mark.slow
@pytest.mark.skipif(not POWER_MARKET.exists(), reason="power-market is not installed in the venv")
def test_ui_starts_on_a_free_port_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "root"
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(POWER_MARKET), "ui", "--data-root", str(root)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = _wait_for_url(process, log)
        _wait_until_served(url, process, log)
        assert (root / "dagster_home" / "dagster.yaml").exists()
        text = log.read_text()
        assert "BetaWarning" not in text and "SupersessionWarning" not in text, text[-3000:]
        assert _processes_mentioning(str(root)), "the UI's processes should carry its data root"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Dagster UI stopped." in log.read_text()
    deadline = time.monotonic() + 10
    while _processes_mentioning(str(root)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_mentioning(str(root)) == []
