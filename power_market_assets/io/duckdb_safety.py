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


def quote_identifier(name: str) -> str:
    """A DuckDB identifier, whatever characters it holds (`"` doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal, whatever characters it holds (`'` doubled)."""
    return "'" + text.replace("'", "''") + "'"


def lock_to_lake(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Only the lake folder is readable from SQL, and nobody can change that afterwards."""
    lock_to_folder(con, lake.lake_dir)


def lock_to_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Only `folder` is reachable from SQL (no extension loading), and the setting is locked.

    Settings are SQL literals, not bound parameters: binding made DuckDB import pandas (1 s).
    """
    allowed = str(folder).rstrip("/") + "/"
    con.execute(f"SET allowed_directories = [{quote_literal(allowed)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
