"""A local S3 server for the object-store lake tests: moto's server mode on 127.0.0.1.

`s3_server` (session) starts one ThreadedMotoServer on a free port and stops it at the end;
`s3_root` (per test) gives a fresh bucket's `s3://` data root with the environment a run on it
reads (PMA_S3_ENDPOINT_URL, a work directory, test credentials moto accepts). Skips, saying
why, only when moto's server extra is not installed.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# Test-only values moto accepts; the tests grep logs and events for them.
TEST_ACCESS_KEY = "AKIAPMATESTKEY0000000"
TEST_SECRET_KEY = "pma-test-secret-0123456789-do-not-log"
TEST_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self):
        """A boto3 client on the server, for tests to look at the bucket directly."""
        import boto3  # noqa: PLC0415 (test-only dependency, imported when a test needs it)

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=TEST_ACCESS_KEY,
            aws_secret_access_key=TEST_SECRET_KEY,
            region_name=TEST_REGION,
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_moto() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 and a free port until the block ends (ImportError when
    moto's server extra is missing)."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 (optional: skip when absent)

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, for the whole session."""
    try:
        import moto.server  # noqa: F401, PLC0415
    except ImportError as missing:
        pytest.skip(f"moto's server mode is not installed (moto[server]): {missing}")
    with running_moto() as server:
        yield server


@dataclass(frozen=True)
class S3Root:
    """A fresh bucket as a data root, and the work directory runs on it use."""

    server: S3Server
    bucket: str
    prefix: str
    work_dir: Path

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def keys(self, under: str = "") -> list[str]:
        """Object keys under `<prefix>/<under>`, relative to the data root."""
        start = f"{self.prefix}/{under}"
        return [k[len(self.prefix) + 1 :] for k in self.server.keys(self.bucket, start)]


@pytest.fixture
def s3_root(s3_server: S3Server, tmp_path: Path, monkeypatch) -> S3Root:
    """An empty bucket and the variables a run on `s3://<bucket>/lake-root` reads."""
    bucket = f"pma-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    work_dir = tmp_path / "work"
    monkeypatch.setenv("PMA_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("PMA_WORK_DIR", str(work_dir))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", TEST_REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return S3Root(s3_server, bucket, "lake-root", work_dir)
