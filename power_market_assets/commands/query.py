"""`power-market query "SQL"`: read-only SQL over the DuckDB catalog, locked to the lake.

Two independent guards, because a read-only database file alone still lets SQL write files
(`COPY ... TO`), create temp tables, attach other databases or read any file on the machine:

1. the statement is parsed first and only reads are run (SELECT and its shorthands such as
   FROM, DESCRIBE, SUMMARIZE, SHOW and the reporting PRAGMAs, which DuckDB parses as SELECT;
   EXPLAIN of those). Anything else, setting PRAGMAs included, exits
   with code 2 before it runs;
2. the connection itself is locked before any user SQL is parsed: external access off except
   for the lake folder (so the catalog views over its Parquet keep working), and the
   configuration locked so the SQL cannot switch it back on.

The catalog is copied into an in-memory database before the lock-down: DuckDB always lets a
connection read the database file it has open (and its `.wal`), so `read_blob` of
`warehouse.duckdb` would otherwise get past `allowed_directories`.

Each query also runs under a memory limit (spilling to a private temp folder, itself bounded)
and a timeout, both with laptop-safe defaults and flags to change them.

The result is written by Python (a table, read by polars over DuckDB's Arrow C stream, or CSV
on stdout) or, for a Parquet file the user names, by DuckDB on a second connection locked to
that file's folder.
A Parquet file is never written inside the data root, and an existing file needs `--force`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import duckdb
import polars as pl
from duckdb.sqltypes import DuckDBPyType

from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from power_market_assets.formats.archive import atomic_path
from power_market_assets.io.duckdb_safety import lock_to_folder, lock_to_lake, quote_literal
from power_market_assets.io.lake import Lake

if TYPE_CHECKING:
    import pyarrow as pa

DISPLAY_ROWS = 100
BATCH_ROWS = 100_000
READ_TYPES = {duckdb.StatementType.SELECT}
_EXPLAIN = re.compile(r"^\s*explain\s+(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
# DuckDB's SHOW TABLES lists the current schema only, and every view lives in an ISO's schema
# (or all_isos): a user typing it wants the catalog, so it lists every view with its comment.
_SHOW_TABLES = re.compile(r"^\s*show\s+tables\s*;?\s*$", re.IGNORECASE)
CATALOG_LISTING = (
    "SELECT schema_name || '.' || view_name AS view, comment FROM duckdb_views() "
    "WHERE NOT internal AND database_name = current_database() ORDER BY schema_name, view_name"
)

MIB = 1 << 20
GIB = 1 << 30
MEMORY_SHARE = 0.25  # of the machine's RAM: a laptop keeps working while a query runs
MEMORY_CAP_BYTES = 4 * GIB
MEMORY_FALLBACK_BYTES = 2 * GIB  # when the RAM size cannot be read
MEMORY_FLOOR_BYTES = 16 * MIB  # below this DuckDB cannot run even a count
SPILL_FACTOR = 2  # temp files on disk may hold this many memory limits
DEFAULT_TIMEOUT_S = 60.0
_SIZE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]i?b|b)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1} | {
    f"{prefix}{infix}b": base**power
    for power, prefix in enumerate("kmgt", start=1)
    for infix, base in (("", 1000), ("i", 1024))
}
_CATALOG_ALIAS = "pma_catalog_file"


class RefusedStatement(UsageError):
    """The SQL would change something or reach outside the lake."""


class LimitReached(UsageError):
    """The query hit its memory limit or its timeout and was stopped."""


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX, or the value is unknown
        return None


def default_memory_bytes() -> int:
    """A quarter of the RAM, at most 4 GiB (DuckDB's own default is 80%)."""
    ram = physical_memory_bytes()
    if not ram:
        return MEMORY_FALLBACK_BYTES
    return min(int(ram * MEMORY_SHARE), MEMORY_CAP_BYTES)


def parse_size(text: str) -> int:
    """'2GB', '512MiB', '1.5 gb' -> bytes (GB = 1000^3, GiB = 1024^3, as DuckDB reads them)."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"--memory-limit {text!r}: expected a size such as 2GB or 512MB")
    size = int(float(match.group("number")) * _UNITS[(match.group("unit") or "b").lower()])
    if size < MEMORY_FLOOR_BYTES:
        raise UsageError(f"--memory-limit {text!r}: at least {format_size(MEMORY_FLOOR_BYTES)}")
    return size


def format_size(size: int) -> str:
    return f"{size / GIB:.1f} GiB" if size >= GIB else f"{size / MIB:.0f} MiB"


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use; DuckDB itself would take 80% of RAM and all the time it wants."""

    memory_bytes: int
    timeout_s: float | None  # None: no time limit

    @classmethod
    def from_flags(cls, memory_limit: str | None, timeout: float | None) -> QueryLimits:
        memory = default_memory_bytes() if memory_limit is None else parse_size(memory_limit)
        seconds = DEFAULT_TIMEOUT_S if timeout is None else timeout
        if not math.isfinite(seconds) or seconds < 0:
            raise UsageError(f"--timeout {timeout}: expected seconds, or 0 for no time limit")
        return cls(memory, seconds or None)


class Deadline:
    """Interrupts the connection when time is up: DuckDB has no statement timeout of its own."""

    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        self._con = con
        self._timer = threading.Timer(seconds, self._expire) if seconds else None
        if self._timer:
            self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        self._con.interrupt()

    def __enter__(self) -> Deadline:
        if self._timer:
            self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer.join()


def lock_down(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    limits: QueryLimits | None = None,
    spill_dir: Path | None = None,
) -> None:
    """Bounded memory and spill, UTC, then `lock_to_lake`: only the lake folder is readable.

    Settings are SQL literals, not bound parameters: binding made DuckDB import pandas (1 s).
    Without a spill folder nothing spills; DuckDB's default (`.tmp` in the working folder)
    would otherwise become readable too.
    """
    limits = limits or QueryLimits.from_flags(None, None)
    con.execute(f"SET memory_limit = '{limits.memory_bytes}B'")
    con.execute(f"SET temp_directory = {quote_literal(str(spill_dir or ''))}")
    if spill_dir:
        con.execute(f"SET max_temp_directory_size = '{limits.memory_bytes * SPILL_FACTOR}B'")
    # `*_utc` columns print in UTC on every machine; the views show local time as the ISO's
    # wall clock (`interval_start_local` + `utc_offset`), whatever this zone is.
    con.execute("SET TimeZone = 'UTC'")
    lock_to_lake(con, lake)


def load_catalog(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Copy the catalog's views into memory and let go of the file, so SQL cannot read it."""
    try:
        con.execute(
            f"ATTACH {quote_literal(str(lake.warehouse_path))} AS {_CATALOG_ALIAS} (READ_ONLY)"
        )
        con.execute(f"COPY FROM DATABASE {_CATALOG_ALIAS} TO memory")
        con.execute(f"DETACH {_CATALOG_ALIAS}")
    except duckdb.Error as exc:
        raise UsageError(
            f"could not load the catalog {lake.warehouse_path}: {exc}; rebuild it with "
            "`power-market catalog --refresh`"
        ) from exc


def connect_locked(
    lake: Lake, limits: QueryLimits | None = None, spill_dir: Path | None = None
) -> duckdb.DuckDBPyConnection:
    if not lake.warehouse_path.exists():
        raise UsageError(
            f"no catalog at {lake.warehouse_path}: materialize something first "
            "(power-market demo or backfill)"
        )
    con = duckdb.connect(":memory:")
    try:
        load_catalog(con, lake)
        lock_down(con, lake, limits, spill_dir)
    except BaseException:
        con.close()
        raise
    return con


def _is_read(con: duckdb.DuckDBPyConnection, statement: duckdb.Statement) -> bool:
    kind = statement.type
    text = statement.query
    if kind in READ_TYPES:
        return True
    if kind == duckdb.StatementType.EXPLAIN:
        # EXPLAIN ANALYZE runs its statement, so the explained statement must be a read too.
        match = _EXPLAIN.match(text)
        if not match:
            return False
        rest = re.sub(r"^\s*analy[sz]e\s+", "", match.group("rest"), flags=re.IGNORECASE)
        inner = con.extract_statements(rest)
        return len(inner) == 1 and inner[0].type in READ_TYPES
    return False


def read_only_statement(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The single statement in `sql`, if it only reads; RefusedStatement otherwise."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise RefusedStatement(f"could not parse the SQL: {exc}") from exc
    if len(statements) != 1:
        raise RefusedStatement(f"expected one SQL statement, got {len(statements)}")
    statement = statements[0]
    if not _is_read(con, statement):
        raise RefusedStatement(
            f"refused: {statement.type.name} statements are not allowed; `power-market query` "
            "only reads (SELECT, FROM, DESCRIBE, SUMMARIZE, SHOW, EXPLAIN). Nothing was run "
            "and nothing was changed."
        )
    return statement


def parquet_target(path_text: str, lake: Lake, force: bool) -> Path:
    """Where `--parquet` really writes: never inside the data root, a folder or another file.

    The parent folder is resolved (symlinks included) and the name kept, because the atomic
    rename replaces that directory entry: a symlink there is replaced, not followed.
    """
    given = Path(path_text).expanduser().absolute()
    target = given.parent.resolve() / given.name
    if target.is_relative_to(lake.root):
        raise UsageError(
            f"refused: --parquet {target} is inside the data root {lake.root}; query results "
            "are never written there (they could replace lake partitions or the catalog). "
            "Choose a path outside it."
        )
    if target.is_dir():
        raise UsageError(
            f"--parquet {target} is a folder; give a file name, e.g. {target / 'result.parquet'}"
        )
    if (target.exists() or target.is_symlink()) and not force:
        raise UsageError(f"--parquet {target} already exists; add --force to replace it")
    return target


def write_parquet(reader: pa.RecordBatchReader, target: Path, limits: QueryLimits) -> int:
    """Stream the result's record batches into one Parquet file, atomically.

    DuckDB writes the file, on a connection of its own that runs nothing but this COPY and may
    reach only the target's folder: `query` imports no pyarrow of its own, so that it starts
    fast (the table and `select 1` never load it; DuckDB loads it for these batches).
    """
    with atomic_path(target) as temp, duckdb.connect(":memory:") as writer:
        writer.execute(f"SET memory_limit = '{limits.memory_bytes}B'")
        writer.execute("SET temp_directory = ''")
        lock_to_folder(writer, temp.parent)
        writer.register("result", reader)
        copied = writer.execute(
            f"COPY result TO {quote_literal(str(temp))} (FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
    return int(copied[0]) if copied else 0


NESTED_TYPES = {"list", "struct", "map", "union", "array"}
# Arrow types polars cannot import: read through the Arrow C stream it panics on them, so they
# are refused up front with the same advice as any other type it cannot hold.
POLARS_UNREADABLE = {"interval", "union"}


def type_ids(kind: DuckDBPyType) -> Iterator[str]:
    """The DuckDB type ids of a column type and of every type nested in it."""
    yield kind.id
    if kind.id in NESTED_TYPES:
        for _, child in kind.children:
            if isinstance(child, DuckDBPyType):  # arrays also list their size
                yield from type_ids(child)


def refuse_unreadable(relation: duckdb.DuckDBPyRelation) -> None:
    """UsageError naming the columns polars cannot hold, before it is handed any."""
    columns = zip(relation.columns, relation.types, strict=True)
    unreadable = [name for name, kind in columns if POLARS_UNREADABLE & set(type_ids(kind))]
    if unreadable:
        raise UsageError(
            f"the result cannot be shown as a table or CSV: polars cannot hold "
            f"{', '.join(unreadable)} (intervals and unions); cast the column in SQL "
            "(e.g. ::VARCHAR) or use --parquet FILE"
        )


def nested_columns(relation: duckdb.DuckDBPyRelation) -> list[str]:
    """Columns CSV cannot hold, from DuckDB's own types (no pyarrow needed to ask)."""
    return [
        name
        for name, kind in zip(relation.columns, relation.types, strict=True)
        if kind.id in NESTED_TYPES
    ]


def write_csv(relation: duckdb.DuckDBPyRelation, out: TextIO) -> int:
    """CSV on `out`; nested columns are refused up front rather than half-way through."""
    nested = nested_columns(relation)
    if nested:
        raise UsageError(
            f"--csv cannot hold nested columns ({', '.join(nested)}: lists, structs, maps or "
            "unions); use --parquet FILE, or flatten them in SQL (unnest, to_json)"
        )
    refuse_unreadable(relation)
    rows = 0
    for n, batch in enumerate(relation.to_arrow_reader(BATCH_ROWS)):
        frame = pl.DataFrame(batch)
        out.write(frame.write_csv(include_header=n == 0))
        rows += batch.num_rows
    if rows == 0:
        out.write(",".join(relation.columns) + "\n")
    return rows


def stale_views(con: duckdb.DuckDBPyConnection, lake: Lake) -> list[str]:
    """Views whose files are not under this lake (the root was moved or copied)."""
    rows = con.execute(
        "SELECT schema_name || '.' || view_name, sql FROM duckdb_views() WHERE NOT internal"
    ).fetchall()
    prefix = f"'{lake.lake_dir}/"
    return [name for name, sql in rows if "read_parquet(" in sql and prefix not in sql]


def print_table(relation: duckdb.DuckDBPyRelation, out: TextIO, limit: int | None) -> int:
    shown = limit if limit is not None else DISPLAY_ROWS
    refuse_unreadable(relation)
    frame = pl.DataFrame(relation.limit(shown + 1))  # the Arrow C stream: no pyarrow
    if frame.columns == ["explain_key", "explain_value"]:
        for value in frame.get_column("explain_value"):
            print(value, file=out)
        return frame.height
    more = frame.height > shown
    frame = frame.head(shown)
    with pl.Config(
        tbl_rows=shown,
        tbl_cols=-1,
        tbl_width_chars=max(shutil.get_terminal_size((160, 40)).columns, 80),
        fmt_str_lengths=60,
        tbl_hide_dataframe_shape=True,
    ):
        print(frame, file=out)
    suffix = f" (first {shown}; use --limit N, --csv or --parquet FILE for more)" if more else ""
    print(f"{frame.height:,} row(s){suffix}", file=out)
    return frame.height


def limit_reached(exc: Exception, deadline: Deadline, limits: QueryLimits) -> LimitReached | None:
    """The clear message for a query stopped by its timeout or memory limit, if it was."""
    if deadline.expired:
        return LimitReached(
            f"query stopped after {deadline.seconds:g} s (its time limit); raise it with "
            "--timeout SECONDS (0 for none), or narrow the query"
        )
    if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory Error" in str(exc):
        return LimitReached(
            f"query stopped: it needs more than its {format_size(limits.memory_bytes)} memory "
            f"limit (and {format_size(limits.memory_bytes * SPILL_FACTOR)} of temp files); "
            "raise it with --memory-limit, e.g. --memory-limit 8GB, or narrow the query"
        )
    return None


def warn_stale(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    stale = stale_views(con, lake)
    if stale:
        print(
            f"warning: {len(stale)} catalog view(s) point outside {lake.lake_dir} (was the "
            "data root moved or copied?); rebuild them with `power-market catalog --refresh`",
            file=sys.stderr,
        )


def emit(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    limits: QueryLimits,
    target: Path | None,
    csv: bool,
    limit: int | None,
    out: TextIO,
) -> None:
    """Run the one read statement and write its result where the user asked."""
    if _SHOW_TABLES.match(sql):
        sql = CATALOG_LISTING
    statement = read_only_statement(con, sql)
    relation = con.sql(statement.query)
    if relation is None:
        raise RefusedStatement("the statement returned no result")
    if limit is not None:
        relation = relation.limit(limit)
    try:
        if target is not None:
            rows = write_parquet(relation.to_arrow_reader(BATCH_ROWS), target, limits)
            print(f"wrote {rows:,} row(s) to {target}", file=sys.stderr)
        elif csv:
            write_csv(relation, out)
        else:
            print_table(relation, out, limit)
    except pl.exceptions.PolarsError as exc:
        raise UsageError(
            f"the result cannot be shown as a table or CSV: {exc}; cast the column in SQL "
            "(e.g. ::VARCHAR) or use --parquet FILE"
        ) from exc


def run_limited(
    lake: Lake,
    sql: str,
    limits: QueryLimits,
    target: Path | None,
    csv: bool,
    limit: int | None,
    out: TextIO,
) -> None:
    """One query on a locked connection, under its memory limit and timeout."""
    # The connection closes (removing its spill files) before the spill folder goes.
    with (
        tempfile.TemporaryDirectory(prefix="power-market-query-") as spill,
        connect_locked(lake, limits, Path(spill)) as con,
    ):
        warn_stale(con, lake)
        with Deadline(con, limits.timeout_s) as deadline:
            try:
                emit(con, sql, limits, target, csv, limit, out)
            except (duckdb.Error, OSError) as exc:  # arrow readers raise OSError
                reached = limit_reached(exc, deadline, limits)
                if reached:
                    raise reached from exc
                raise


def run_query(
    sql: str,
    data_root: str,
    csv: bool = False,
    parquet: str | None = None,
    limit: int | None = None,
    out: TextIO | None = None,
    force: bool = False,
    memory_limit: str | None = None,
    timeout: float | None = None,
) -> int:
    out = out or sys.stdout
    lake = Lake.at(data_root)
    try:
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 or more")
        limits = QueryLimits.from_flags(memory_limit, timeout)
        target = parquet_target(parquet, lake, force) if parquet is not None else None
        run_limited(lake, sql, limits, target, csv, limit, out)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except duckdb.PermissionException as exc:
        print(f"refused: the query reaches outside {lake.lake_dir}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (duckdb.Error, OSError) as exc:
        print(f"query failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
