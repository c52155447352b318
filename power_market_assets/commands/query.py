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

The result is written by Python (a table, CSV on stdout, or a Parquet file the user names).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import TextIO

import duckdb
import polars as pl
import pyarrow.parquet as pq

from power_market_assets.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from power_market_assets.formats.archive import atomic_path
from power_market_assets.io.lake import Lake

DISPLAY_ROWS = 100
BATCH_ROWS = 100_000
READ_TYPES = {duckdb.StatementType.SELECT}
_EXPLAIN = re.compile(r"^\s*explain\s+(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


class RefusedStatement(UsageError):
    """The SQL would change something or reach outside the lake."""


def lock_down(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Only the lake folder is readable from SQL, and nobody can change that afterwards."""
    allowed = str(lake.lake_dir).rstrip("/") + "/"
    con.execute("SET allowed_directories = $dirs", {"dirs": [allowed]})
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def connect_locked(lake: Lake) -> duckdb.DuckDBPyConnection:
    if not lake.warehouse_path.exists():
        raise UsageError(
            f"no catalog at {lake.warehouse_path}: materialize something first "
            "(power-market demo or backfill)"
        )
    con = duckdb.connect(str(lake.warehouse_path), read_only=True)
    try:
        lock_down(con, lake)
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


def write_parquet(reader, target: Path) -> int:
    """Stream the result's record batches into one Parquet file, atomically."""
    rows = 0
    with atomic_path(target) as temp:
        writer = pq.ParquetWriter(str(temp), reader.schema, compression="zstd")
        try:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            writer.close()
    return rows


def write_csv(reader, out: TextIO) -> int:
    rows = 0
    for n, batch in enumerate(reader):
        frame = pl.from_arrow(batch)
        out.write(frame.write_csv(include_header=n == 0))
        rows += batch.num_rows
    if rows == 0:
        out.write(",".join(reader.schema.names) + "\n")
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
    frame = relation.limit(shown + 1).pl()
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


def run_query(
    sql: str,
    data_root: str,
    csv: bool = False,
    parquet: str | None = None,
    limit: int | None = None,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    lake = Lake.at(data_root)
    try:
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 or more")
        con = connect_locked(lake)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    with con:
        stale = stale_views(con, lake)
        if stale:
            print(
                f"warning: {len(stale)} catalog view(s) point outside {lake.lake_dir} (was the "
                "data root moved or copied?); rebuild them with `power-market catalog --refresh`",
                file=sys.stderr,
            )
        try:
            statement = read_only_statement(con, sql)
            relation = con.sql(statement.query)
            if relation is None:
                raise RefusedStatement("the statement returned no result")
            if limit is not None:
                relation = relation.limit(limit)
            if parquet:
                rows = write_parquet(relation.fetch_record_batch(BATCH_ROWS), Path(parquet))
                print(f"wrote {rows:,} row(s) to {Path(parquet).resolve()}", file=sys.stderr)
            elif csv:
                write_csv(relation.fetch_record_batch(BATCH_ROWS), out)
            else:
                print_table(relation, out, limit)
        except UsageError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        except duckdb.PermissionException as exc:
            print(f"refused: the query reaches outside {lake.lake_dir}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK
