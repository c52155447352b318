"""`power-market ui`: the Dagster UI over a data root's instance, started and stopped cleanly.

`dagster dev` needs DAGSTER_HOME, the workspace file and a free port, and it starts a webserver,
a daemon and a code server as child processes. Started in its own process group, the whole
tree is stopped together on Ctrl-C or SIGTERM, so no code server is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from power_market_assets.automation.runs import persistent_instance
from power_market_assets.commands import EXIT_OK
from power_market_assets.io.lake import Lake

WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"
STOP_GRACE_SECONDS = 20.0
# Known and documented (docs/reference/DAGSTER_NOTES.md): the `dagster dev` command's own
# supersession notice; the definitions silence the beta/preview notices of the APIs they use.
QUIET_WARNINGS = "ignore::FutureWarning"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def ui_command(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster), "dev", "-w", str(WORKSPACE), "-h", host, "-p", str(port)]


def ui_environment(lake: Lake) -> dict[str, str]:
    """The instance under <data root>/dagster_home and the same data root for the code."""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(lake.dagster_home)
    env["PMA_DATA_ROOT"] = str(lake.root)
    env["PYTHONWARNINGS"] = QUIET_WARNINGS
    return env


def prepare_instance(lake: Lake) -> None:
    """Write the instance's dagster.yaml (storage, run monitoring) before the UI reads it."""
    persistent_instance(lake.root).dispose()


def stop_process_group(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the whole group (webserver, daemon, code servers), SIGKILL after `grace`."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None and not group_alive(process.pid):
                return
            time.sleep(0.2)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def run_ui(
    data_root: str,
    host: str = "127.0.0.1",
    port: int | None = None,
    on_started: Callable[[str], None] | None = None,
) -> int:
    """Start the UI, print its URL, and block until it exits or we are told to stop."""
    lake = Lake.at(data_root)
    prepare_instance(lake)
    port = port or free_port(host)
    url = f"http://{host}:{port}"
    process = subprocess.Popen(
        ui_command(host, port), env=ui_environment(lake), start_new_session=True
    )
    stopping: list[int] = []

    def request_stop(signum: int, _frame) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"Dagster UI for {lake.root}: {url}  (DAGSTER_HOME={lake.dagster_home}; Ctrl-C stops)")
    if on_started:
        on_started(url)
    try:
        while process.poll() is None and not stopping:
            time.sleep(0.2)
    finally:
        stop_process_group(process)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopping:
        print("Dagster UI stopped.")
        return EXIT_OK
    return process.returncode or EXIT_OK
