"""Real PostgreSQL and Redis servers on 127.0.0.1 (a free port, a temp dir), for the
deployment tests and `power-market bench --distributed`: started, used, stopped.

Debian's `postgresql` and `redis-server` packages provide the binaries (`.ci/run` installs
them); `ServiceUnavailable` says which is missing. Postgres refuses to run as root, so as root
its commands run through `runuser -u postgres` in a folder postgres owns. Both servers require
a password, so the tests can check that it never reaches a log or an event.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2

POSTGRES_BINARIES = "/usr/lib/postgresql/*/bin"
REDIS_SERVER = "/usr/bin/redis-server"
START_SECONDS = 30.0


class ServiceUnavailable(RuntimeError):
    """A server cannot be started here (its binary is missing); the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {START_SECONDS:g} s")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob(f"{POSTGRES_BINARIES}/initdb"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(initdb: str) -> int:
    return int(Path(initdb).parts[-3]) if Path(initdb).parts[-3].isdigit() else 0


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres", scheme: str = "postgresql+psycopg2") -> str:
        """SQLAlchemy's URL (Dagster's); scheme `postgresql` for libpq. SQLAlchemy 2.1 takes a
        bare `postgresql://` as psycopg 3, which is not installed: psycopg2 is."""
        userinfo = f"{self.user}:{self.password}"
        return f"{scheme}://{userinfo}@{self.host}:{self.port}/{database}"

    def create_database(self, prefix: str = "pma") -> str:
        """A fresh empty database; returns its URL (each test gets its own instance)."""
        name = f"{prefix}_{secrets.token_hex(4)}"
        connection = psycopg2.connect(self.url(scheme="postgresql"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _postgres_folder() -> Path:
    """A temp folder the server's user owns (as root: postgres, which can reach /tmp's)."""
    folder = Path(tempfile.mkdtemp(prefix="pma-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    return folder


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server, password required over TCP."""
    binaries = postgres_bin()
    if binaries is None:
        raise ServiceUnavailable(
            f"PostgreSQL is not installed (no {POSTGRES_BINARIES}/initdb): .ci/run installs it"
        )
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise ServiceUnavailable("running as root without runuser: PostgreSQL refuses root")
    folder = _postgres_folder()
    data, password = folder / "data", f"pw-{secrets.token_hex(8)}"
    (folder / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder / "pwfile", "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        _as_postgres(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync",
             f"--pwfile={folder / 'pwfile'}", "--auth-local=trust", "--auth-host=scram-sha-256"]
        ),
        **run,
    )  # fmt: skip
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l",
             str(folder / "server.log"), "-w", "start"]
        ),
        **run,
    )  # fmt: skip
    try:
        _wait_port(port)
        yield PostgresServer("127.0.0.1", port, "postgres", password)
    finally:
        subprocess.run(
            _as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class RedisServer:
    port: int
    password: str

    def url(self, database: int = 0) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{database}"


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A Redis server (no persistence), password required."""
    binary = shutil.which("redis-server") or (REDIS_SERVER if Path(REDIS_SERVER).exists() else None)
    if binary is None:
        raise ServiceUnavailable("redis-server is not installed: .ci/run installs Debian's")
    folder = Path(tempfile.mkdtemp(prefix="pma-redis-"))
    port, password = free_port(), f"pw-{secrets.token_hex(8)}"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(folder), "--requirepass", password],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_port(port, proc)
        yield RedisServer(port, password)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
