"""The lake on object storage: an `s3://bucket/prefix` data root (any S3-compatible server).

The bucket holds the whole lake (every stage's Parquet files and stage 1's day folders) under
`<prefix>/lake/`, laid out exactly like a local data root. What cannot live in a bucket stays in
a local work directory (`PMA_WORK_DIR`, default `<system temp>/power-market-assets/<bucket>/
<prefix>`): the Dagster home, the landing inbox (and quarantine, replaced), the downloads'
staging, the DuckDB catalog file, the catalog summary, and a mirror of the lake files this
machine wrote or read. The code writes the mirror exactly as it writes a local lake, then puts
what changed into the bucket (`ObjectStore.sync_up`); a reader first brings newer objects down
(`sync_down`), so two workers sharing a bucket see each other's partitions.

All-or-nothing: each file goes up whole, in one request (S3 shows an object whole or not at
all); a file over `SINGLE_PUT_BYTES` goes to a hidden temp key first and is copied onto its
name, so a killed upload leaves at most a `.*.tmp` key no `*.parquet` glob matches. Stage 1 of
a day is its folder plus the day's manifest Parquet one level up: the folder's files go up
first and the manifest last, and readers reach the folder only through the manifest.

Credentials are never held here: the S3 client takes AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
(or ~/.aws, or the instance role) through the AWS SDK's own chain; only DuckDB's secret, which
has no such chain without the `aws` extension, is built from them in memory (`duckdb_secret_sql`).
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import duckdb

from power_market_assets.formats.archive import atomic_path, temp_sibling

SCHEME = "s3://"
# A temp key older than this belongs to no live upload (io/lake.py STALE_TEMP_SECONDS).
STALE_TEMP_SECONDS = 3600.0
# The variables an s3:// root reads, as Settings names them (settings.py; a test keeps them
# equal): read here directly, like the CLI's PMA_DATA_ROOT, so that `power-market query` and
# `catalog` start without importing the settings (every ISO's client) or pyarrow.
ENDPOINT_VARIABLE = "PMA_S3_ENDPOINT_URL"
REGION_VARIABLE = "AWS_REGION"
WORK_DIR_VARIABLE = "PMA_WORK_DIR"
# Bigger files go to a temp key and are copied onto their name (the S3 client would split
# them into a multipart upload that an exception in the middle could complete half-way).
SINGLE_PUT_BYTES = 4 * 1024 * 1024
# The lake folder under the root, as locally (io/lake.py Lake.lake_dir).
LAKE_FOLDER = "lake"
# What the catalog and the IO manager bring down before reading: Parquet files and the
# markers of partitions that failed their blocking checks.
FAILURE_SUFFIX = ".failed.json"
MIRRORED_SUFFIXES = (".parquet", FAILURE_SUFFIX)
# DuckDB's httpfs extension comes from this PyPI package (no download at run time); it ships
# one build per DuckDB version under extensions/v<version>/.
HTTPFS_PACKAGE = "duckdb_extension_httpfs"


def is_object_url(root: str | os.PathLike) -> bool:
    """Whether a data root names a bucket rather than a local folder."""
    return str(root).startswith(SCHEME)


@dataclass(frozen=True)
class S3Location:
    """`s3://bucket/prefix`, split; the prefix has no leading or trailing slash."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parsed = urlparse(url)
        prefix = parsed.path.strip("/")
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
        if any(part in {"", ".", ".."} for part in prefix.split("/")) and prefix:
            raise ValueError(f"unsafe prefix in {url!r}")
        return cls(parsed.netloc, prefix)

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.key('')}".rstrip("/")

    def key(self, relative: str) -> str:
        """`bucket/prefix/<relative>`: the path pyarrow's S3 file system takes."""
        return "/".join(p for p in (self.bucket, self.prefix, relative) if p)


@dataclass(frozen=True)
class S3Options:
    """Where the S3 server is (credentials are left to the AWS SDK's chain)."""

    endpoint_url: str | None = None
    region: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> S3Options:
        return cls(environ.get(ENDPOINT_VARIABLE) or None, environ.get(REGION_VARIABLE) or None)


@dataclass(frozen=True)
class RemoteFile:
    size: int
    mtime: float  # seconds since the epoch (the object's Last-Modified)


class ObjectStore:
    """One bucket prefix through pyarrow's S3 file system, addressed by paths relative to the
    data root (`lake/ercot/da_prices/raw_parquet/year=2024/2024-11-03.parquet`)."""

    def __init__(self, location: S3Location, options: S3Options):
        self.location = location
        self.options = options
        self.fs = s3_filesystem(options)

    def __repr__(self) -> str:  # never the client's configuration
        return f"ObjectStore({self.location.url!r})"

    def url(self, relative: str) -> str:
        return SCHEME + self.location.key(relative)

    def put_file(self, local: Path, relative: str) -> None:
        """Upload one file whole: visible under its name complete or not at all."""
        data = local.read_bytes()
        key = self.location.key(relative)
        if len(data) <= SINGLE_PUT_BYTES:
            self._put(key, data)
            return
        temp = str(temp_sibling(PurePosixPath(key)))
        self._put(temp, data)
        try:
            self.fs.move(temp, key)  # server-side copy: the final object appears whole
        finally:
            self.fs.delete_file(temp) if self._exists(temp) else None

    def _put(self, key: str, data: bytes) -> None:
        # One buffered write and close: the request is sent at close, so a failure before it
        # sends nothing, and a failed request creates no object.
        stream = self.fs.open_output_stream(key, metadata={})
        stream.write(data)
        stream.close()

    def _exists(self, key: str) -> bool:
        return self.fs.get_file_info(key).type == _pyarrow_fs().FileType.File

    def get_file(self, relative: str, local: Path, remote: RemoteFile | None = None) -> None:
        """Download one object to `local` atomically, stamped with the object's time (so
        `sync_up` does not send it back)."""
        with atomic_path(local) as temp:
            with self.fs.open_input_stream(self.location.key(relative)) as source:
                temp.write_bytes(source.readall())
            if remote is not None:
                os.utime(temp, (remote.mtime, remote.mtime))

    def delete(self, relatives: Iterable[str]) -> None:
        for relative in relatives:
            key = self.location.key(relative)
            if self._exists(key):
                self.fs.delete_file(key)

    def listing(self, relative_folder: str) -> dict[str, RemoteFile]:
        """Every object under a folder (recursively), by path relative to the data root."""
        base = self.location.key(relative_folder)
        pafs = _pyarrow_fs()
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        skip = len(self.location.key("")) + 1
        return {
            info.path[skip:]: RemoteFile(info.size or 0, _seconds(info.mtime))
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        }


def _seconds(mtime) -> float:
    return mtime.timestamp() if mtime is not None else 0.0


def _pyarrow_fs():
    """pyarrow.fs, imported when a bucket is used (the lean CLI commands never load it)."""
    import pyarrow.fs  # noqa: PLC0415

    return pyarrow.fs


def s3_filesystem(options: S3Options):
    """pyarrow's S3 client: path-style requests, plain HTTP for an http:// endpoint (a local
    server), credentials from the AWS SDK's chain (environment, ~/.aws, instance role)."""
    # Delayed open: a file written and closed in one go is one PutObject, not a multipart
    # upload (no request is sent before close).
    args: dict = {"region": options.region, "background_writes": False, "allow_delayed_open": True}
    if options.endpoint_url:
        endpoint = urlparse(options.endpoint_url)
        args["endpoint_override"] = endpoint.netloc or endpoint.path
        args["scheme"] = endpoint.scheme or "https"
    return _pyarrow_fs().S3FileSystem(**args)


@functools.lru_cache(maxsize=16)
def object_store(url: str, options: S3Options) -> ObjectStore:
    """One client per bucket prefix and server for the process."""
    return ObjectStore(S3Location.parse(url), options)


def work_dir_for(url: str, work_dir: str | None) -> Path:
    """The local work directory of an `s3://` root: PMA_WORK_DIR, or one per bucket prefix
    under the system temp folder."""
    if work_dir:
        return Path(work_dir).expanduser().resolve()
    location = S3Location.parse(url)
    parts = [location.bucket, *filter(None, location.prefix.split("/"))]
    return Path(tempfile.gettempdir()).joinpath("power-market-assets", *parts).resolve()


# ---- the mirror: local files <-> objects -------------------------------------------------


def relative_to_root(root: Path, path: Path) -> str:
    return path.resolve().relative_to(root).as_posix()


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _commit_order(relative: str) -> tuple[int, str]:
    """Files inside stage-1 day folders before every partition Parquet: a day's manifest
    (`.../csv/year=YYYY/<day>.parquet`) goes up only after the folder it lists."""
    name = PurePosixPath(relative)
    is_partition = name.suffix == ".parquet" and name.parent.name.startswith("year=")
    return (1 if is_partition else 0, relative)


def sync_up(
    store: ObjectStore, root: Path, folder: Path, stale_after: float = STALE_TEMP_SECONDS
) -> list[str]:
    """Put every file under `folder` that the bucket lacks or holds an older copy of; returns
    the relative paths sent, in commit order. Temp files are never sent, and temp keys older
    than `stale_after` (an upload killed before its copy) are deleted from the bucket."""
    if not folder.is_dir():
        return []
    remote = store.listing(relative_to_root(root, folder))
    cutoff = time.time() - stale_after
    store.delete(
        r for r, f in remote.items() if _is_temp(PurePosixPath(r).name) and f.mtime < cutoff
    )
    changed = []
    for path in folder.rglob("*"):
        if _is_temp(path.name) or not path.is_file():
            continue
        relative = relative_to_root(root, path)
        known = remote.get(relative)
        stat = path.stat()
        if known is None or known.size != stat.st_size or stat.st_mtime > known.mtime + 1e-3:
            changed.append(relative)
    changed.sort(key=_commit_order)
    for relative in changed:
        store.put_file(root / relative, relative)
    if changed:
        # Each sent file takes its object's time (S3 keeps whole seconds), so an unchanged
        # file is not sent again and a file rewritten later is newer than its object.
        uploaded = store.listing(relative_to_root(root, folder))
        for relative in changed:
            if (known := uploaded.get(relative)) is not None:
                os.utime(root / relative, (known.mtime, known.mtime))
    return changed


def sync_down(
    store: ObjectStore,
    root: Path,
    folder: Path,
    suffixes: tuple[str, ...] = MIRRORED_SUFFIXES,
    wanted: Mapping[str, object] | None = None,
) -> list[str]:
    """Bring down the objects under `folder` (ending in `suffixes`, or named in `wanted`) that
    are missing locally or newer than the local copy; returns the relative paths fetched.
    A wanted failure marker the bucket no longer holds (a later run cleared it) goes locally
    too: every marker is published when written, so one absent there is stale here."""
    listed = store.listing(relative_to_root(root, folder))
    for marker in wanted or ():
        if marker.endswith(FAILURE_SUFFIX) and marker not in listed:
            (root / marker).unlink(missing_ok=True)
    fetched = []
    for relative, remote in sorted(listed.items()):
        name = PurePosixPath(relative).name
        if _is_temp(name):
            continue
        if wanted is not None:
            if not any(relative == w or relative.startswith(w + "/") for w in wanted):
                continue
        elif not name.endswith(suffixes):
            continue
        local = root / relative
        if local.exists():
            stat = local.stat()
            if stat.st_size == remote.size and stat.st_mtime >= remote.mtime - 1e-3:
                continue
        store.get_file(relative, local, remote)
        fetched.append(relative)
    return fetched


# ---- DuckDB over s3:// -----------------------------------------------------------------


@functools.cache
def httpfs_extension_file() -> Path | None:
    """The httpfs build for this DuckDB from the installed `duckdb-extension-httpfs` package,
    or None when the package is absent or ships no build for this DuckDB version."""
    try:
        package = __import__(HTTPFS_PACKAGE)
    except ImportError:
        return None
    folder = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = folder / "httpfs.duckdb_extension"
    return path if path.is_file() else None


def httpfs_unavailable_reason() -> str | None:
    """Why views cannot read s3:// directly here (None when they can)."""
    try:
        __import__(HTTPFS_PACKAGE)
    except ImportError:
        return f"the {HTTPFS_PACKAGE.replace('_', '-')} package is not installed"
    if httpfs_extension_file() is None:
        return (
            f"{HTTPFS_PACKAGE.replace('_', '-')} ships no httpfs build for duckdb "
            f"{duckdb.__version__} (the package's version must equal duckdb's)"
        )
    return None


def load_httpfs(con: duckdb.DuckDBPyConnection, extension_dir: Path) -> bool:
    """Install httpfs from the package's file into `extension_dir` and load it (never from
    the network); False when no matching build is installed."""
    path = httpfs_extension_file()
    if path is None:
        return False
    extension_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET extension_directory = {_literal(str(extension_dir))}")
    con.execute(f"INSTALL {_literal(str(path))}")
    con.execute("LOAD httpfs")
    return True


def duckdb_secret_sql(options: S3Options, environ: Mapping[str, str], name: str = "lake") -> str:
    """CREATE TEMPORARY SECRET for the lake's S3 server: in memory only, never persisted in
    the warehouse file; the key values come from the environment at the moment of use."""
    parts = ["TYPE s3"]
    if key := environ.get("AWS_ACCESS_KEY_ID"):
        parts.append(f"KEY_ID {_literal(key)}")
    if secret := environ.get("AWS_SECRET_ACCESS_KEY"):
        parts.append(f"SECRET {_literal(secret)}")
    if token := environ.get("AWS_SESSION_TOKEN"):
        parts.append(f"SESSION_TOKEN {_literal(token)}")
    if options.region:
        parts.append(f"REGION {_literal(options.region)}")
    if options.endpoint_url:
        endpoint = urlparse(options.endpoint_url)
        parts.append(f"ENDPOINT {_literal(endpoint.netloc)}")
        parts.append("URL_STYLE 'path'")
        parts.append(f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}")
    return f"CREATE OR REPLACE TEMPORARY SECRET {name} ({', '.join(parts)})"


def open_bucket_in_duckdb(
    con: duckdb.DuckDBPyConnection, store: ObjectStore, extension_dir: Path
) -> list[str]:
    """Before a connection is locked: load httpfs from the package and create the temporary
    secret for the store's server; returns the bucket prefixes SQL may then read (none when
    no httpfs build matches this DuckDB: views then read the local mirror)."""
    if not load_httpfs(con, extension_dir):
        return []
    try:
        con.execute(duckdb_secret_sql(store.options, os.environ))
    except duckdb.Error:
        # DuckDB quotes the statement in its errors: never let the key reach a log or event.
        raise RuntimeError(
            f"DuckDB refused the S3 secret for {store.location.url} (values not shown)"
        ) from None
    return [store.url(LAKE_FOLDER) + "/"]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
