"""Where a template's SQL runs: a DuckDB that reads the node's upstream tables and nothing else.

Every SQL node and SQL output runs in a cursor of a locked-down in-memory DuckDB, one per store
artifact directory and process. The lockdown happens when the database is created, before any
template SQL reaches it, in the order DuckDB requires (the reverse is an error):
`allowed_directories` (the store's artifacts, read as Parquet for a source stored in one pass,
and the database's own spill folder), extensions neither installed nor loaded, external access off,
configuration locked. No statement can undo a locked configuration, so sharing the database's
cursors between nodes and runs (microseconds, where a new database costs ~11 ms) keeps the
lockdown for every statement.

A node's SQL must also be one SELECT (checked here as well as when the template is built): a
SELECT writes no file and leaves no table, macro or attached database behind for the next node,
which COPY, CREATE, ATTACH, INSTALL, LOAD or SET would. Upstream nodes are registered on the
node's own cursor under their ids. A refused read fails the node with its id, the function and
the file, never the file's content.

Source files are read by the engine (`compute.read_source`), never by template SQL.
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from ..template.sql_refs import select_problem

_REFUSED = re.compile(r'Cannot access (file|directory) "([^"]*)"')
_EXTENSION = re.compile(r"(?i)extension")


class SqlSandboxError(PermissionError):
    """A node's SQL tried something outside its sandbox; says which node, what and why."""


class SqlSandbox:
    """A locked-down DuckDB for template SQL. `readable` is the one directory it may read."""

    def __init__(self, readable: Path) -> None:
        self.readable = Path(readable).resolve()
        spill = tempfile.mkdtemp(prefix="prodex-sql-spill-")
        self.database = duckdb.connect(config={"temp_directory": spill})
        weakref.finalize(self, shutil.rmtree, spill, ignore_errors=True)
        for statement in lockdown_statements([self.readable, Path(spill)]):
            self.database.execute(statement)

    def query(
        self,
        node_id: str,
        kind: str,
        sql: str,
        upstream: dict[str, pa.Table | Path],
        on_query: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> pa.Table:
        """The result of one node's SQL over its upstream tables, registered by node id; a
        Path is a Parquet artifact, read lazily through a view of the cursor.
        `on_query` gets the cursor before the SQL runs (a time limit interrupts it)."""
        check_one_select(sql, _who(node_id, kind))
        cursor = self.database.cursor()
        try:
            for name, table in upstream.items():
                if isinstance(table, Path):
                    cursor.execute(
                        f"CREATE TEMP VIEW {_ident(name)} AS "
                        f"SELECT * FROM read_parquet({_sql_string(str(table))})"
                    )
                else:
                    cursor.register(name, table)
            if on_query is not None:
                on_query(cursor)
            return cursor.sql(sql).to_arrow_table()
        except duckdb.PermissionException as exc:
            raise refusal(node_id, kind, sql, exc, sorted(upstream)) from None
        finally:
            cursor.close()


@functools.lru_cache(maxsize=4)
def sandbox_for(readable: Path) -> SqlSandbox:
    """The process's sandbox for a store's artifact directory (a few stores at most are used
    at once; a scheduler keeps its own reference, so an evicted one lives while it runs)."""
    return SqlSandbox(readable)


def lockdown_statements(directories: list[Path]) -> list[str]:
    """The settings, in the order DuckDB accepts them (docs/trust-model.md)."""
    listed = ", ".join(_sql_string(str(d).rstrip("/") + "/") for d in directories)
    return [
        f"SET allowed_directories = [{listed}]",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ]


def check_one_select(sql: str, who: str) -> None:
    """Refuse anything but a single SELECT, as the template builder does."""
    problem = select_problem(sql)
    if problem is not None:
        raise SqlSandboxError(f"{who}: {problem}")


def refusal(
    node_id: str, kind: str, sql: str, exc: duckdb.Error, upstream: list[str]
) -> SqlSandboxError:
    """The error for a read the lockdown refused: which node, what it tried, and why."""
    who = _who(node_id, kind)
    reads = ", ".join(upstream) or "none"
    why = (
        f"SQL reads only its upstream nodes, by id ({reads}); "
        "a file must be declared as a source node of the template"
    )
    found = _REFUSED.search(str(exc))
    if found:
        what, path = found.groups()
        function = _function_for(sql, path)
        via = f" with {function}()" if function else ""
        return SqlSandboxError(
            f"{who} tried to read the {what} {path!r}{via}: refused by the SQL sandbox. {why}"
        )
    if _EXTENSION.search(str(exc)):
        return SqlSandboxError(
            f"{who} needs a DuckDB extension, which the SQL sandbox neither installs nor "
            f"loads ({str(exc).splitlines()[0]}). {why}"
        )
    return SqlSandboxError(f"{who}: refused by the SQL sandbox ({str(exc).splitlines()[0]}). {why}")


def _function_for(sql: str, path: str) -> str | None:
    """The function called with `path` as its first argument, when the SQL spells it out."""
    literal = re.escape(_sql_string(path))
    found = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*(?:\[\s*)?" + literal, sql)
    return found.group(1) if found else None


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _who(node_id: str, kind: str) -> str:
    return f"SQL {'output' if kind == 'output' else 'node'} '{node_id}'"
