"""DuckDB connections that can read the lake and nothing else.

Shared by the catalog rebuild and (it can import it) `power-market query`: a DuckDB connection
otherwise reads any file on the machine (`read_text('/etc/passwd')`), writes files
(`COPY ... TO`), attaches databases and installs extensions. The database file the connection
was opened on stays usable; everything else outside the lake folder is refused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from power_market_assets.io.lake import Lake
from power_market_assets.io.object_store import open_bucket_in_duckdb


def quote_identifier(name: str) -> str:
    """A DuckDB identifier, whatever characters it holds (`"` doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal, whatever characters it holds (`'` doubled)."""
    return "'" + text.replace("'", "''") + "'"


def lock_to_lake(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Only the lake folder (and an s3:// root's bucket prefix) is readable from SQL, and
    nobody can change that afterwards."""
    bucket = open_bucket_in_duckdb(con, lake.store, lake.duckdb_extension_dir) if lake.store else []
    lock_to_folder(con, lake.lake_dir, *bucket)


def lock_to_folder(con: duckdb.DuckDBPyConnection, folder: Path, *prefixes: str) -> None:
    """Only `folder` (and these URL prefixes) is reachable from SQL (no extension loading),
    and the setting is locked.

    Settings are SQL literals, not bound parameters: binding made DuckDB import pandas (1 s).
    """
    allowed = ", ".join(quote_literal(p) for p in [str(folder).rstrip("/") + "/", *prefixes])
    con.execute(f"SET allowed_directories = [{allowed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
