"""Session fixtures: real PostgreSQL and Redis servers on 127.0.0.1 for the deployment tests
(power_market_standins/local_services.py starts them), skipped, saying why, only where the
server binary is not installed (`.ci/run` installs Debian's postgresql and redis-server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from power_market_standins import local_services
from power_market_standins.local_services import PostgresServer, RedisServer, ServiceUnavailable

__all__ = ["PostgresServer", "RedisServer", "postgres_server", "redis_server"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; `create_database()` gives each test its own."""
    try:
        with local_services.postgres_server() as server:
            yield server
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A Redis server for the session (no persistence)."""
    try:
        with local_services.redis_server() as server:
            yield server
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
