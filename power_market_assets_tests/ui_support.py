"""Helpers for the real-browser UI test: `dagster dev` as a child process, headless Chromium
through selenium (Debian's chromium + chromium-driver, never a downloaded driver), and the
webserver's GraphQL API.

Not a test module (no `test_` prefix); imported by test_ui_browser.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "data" / "test-artifacts"  # data/ is gitignored
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses (see the machine notes); a fresh profile every time.
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)

TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


def missing_browser() -> str | None:
    """Why the browser test can't run here, or None when it can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (Debian packages chromium and "
            "chromium-driver; .ci/run installs them)"
        )
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Call `probe` until it returns something truthy; raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # a probe may fail while the thing starts up
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


def chrome(user_data_dir: Path):
    """Headless Chromium driven through /usr/bin/chromedriver (selenium must not download one)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROME_FLAGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    return driver


def graphql(base_url: str, query: str, variables: dict | None = None, timeout: float = 15) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{base_url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise RuntimeError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


class DagsterDev:
    """`dagster dev` (webserver + daemon + code server) on 127.0.0.1:<port>, logs to a file.

    Started in its own session so that stop() can end the whole tree it spawned (webserver,
    daemon, code server, run workers) by its process group id, and nothing else.
    """

    def __init__(self, home: Path, port: int, env: dict[str, str], log_path: Path):
        self.home = home
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 180) -> DagsterDev:
        dagster = Path(sys.executable).with_name("dagster")
        command = [str(dagster) if dagster.exists() else "dagster", "dev"]
        command += [
            "-w",
            str(REPO_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
        ]
        env = {**os.environ, **self.env, "DAGSTER_HOME": str(self.home)}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # A shell's background job inherits SIGINT ignored, and dagster maps SIGTERM to
            # the SIGINT handler: restore it so that stop() can shut dagster down cleanly.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        wait_for("the Dagster webserver and the code location", self._ready, timeout)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}"
            )
        try:
            data = graphql(self.base_url, WORKSPACE_QUERY, timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError, RuntimeError):
            return False
        entries = data["workspaceOrError"].get("locationEntries") or []
        for entry in entries:
            location = entry.get("locationOrLoadError") or {}
            if location.get("__typename") == "PythonError":
                raise RuntimeError(f"code location failed to load: {location.get('message')}")
        return bool(entries) and all(
            e["loadStatus"] == "LOADED"
            and (e.get("locationOrLoadError") or {}).get("__typename") == "RepositoryLocation"
            for e in entries
        )

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 20) -> None:
        process = self.process
        if process is not None:
            pgid = process.pid  # start_new_session: the group id is dagster dev's own pid
            if process.poll() is None:
                try:
                    os.killpg(pgid, signal.SIGINT)
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
                except ProcessLookupError:
                    pass
            # whatever of the tree is left (or a stuck dagster dev): kill by the group id
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DagsterDev:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
