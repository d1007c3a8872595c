"""The runs list and artifact references of a PostgreSQL store: the same answers as
store/run_index.py, read from the rows the database's trigger derives from events
(store/postgres_schema.py: `run_summary`, `artifact_refs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from . import run_columns
from .event_log import Reader
from .postgres_log import Db, PgEventLog
from .postgres_schema import line
from .run_index import SummaryTable

_SUMMARY = "run_summary"


def _any(column: str, values: list[str]) -> tuple[str, list[Any]]:
    """`column = ANY(?)`, the values as one array parameter."""
    return f"{column} = ANY(?)", [values]


_RUNS = SummaryTable(_SUMMARY, "inputs_shown", _any)  # the same pages and counts as SQLite's
list_runs, count_runs = _RUNS.list_runs, _RUNS.count_runs


def list_columns(
    log: Reader,
    *,
    pipelines: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
) -> pa.Table:
    """The runs list (newest first) as Arrow columns (store/run_columns.py): the lines of
    `run_lines`, then the templates their keys name (read after them: a key is never removed)."""
    where, params = _RUNS.where(template_id=pipelines, status=statuses)
    chosen = f"WHERE run_id IN (SELECT run_id FROM {_SUMMARY} {where})" if where else ""
    # In the heap's order, sorted by Arrow unless newest first (the server's ordered aggregate
    # sorted the lines past work_mem: 0.53 s against 0.23 s at load 6). In binary format: the
    # bytes as they are, not escaped.
    sql = rf"SELECT count(*), string_agg(line, '\x0a'::bytea) FROM run_lines {chosen}"
    count, data = log.query(sql, params, binary=True)[0]
    templates = log.query("SELECT key, template_id, fingerprint FROM list_templates")
    fields = ", ".join([*run_columns.FIELDS[:6], "resolved || ' / ' || n_gates", "inputs_shown"])
    return run_columns.assemble_keyed(
        count,
        data,
        templates,
        lambda: log.query(f"SELECT {fields} FROM {_SUMMARY} {where}", params),
    )


def lines_apart(log: Reader, run_id: str | None = None) -> set[str]:
    """Runs whose line in `run_lines` (what `px.runs()` reads) is not the one their summary row
    makes (changed, missing, or left for a run with no summary row): verify names them."""
    where, params = ("WHERE coalesce(s.run_id, l.run_id) = ?", [run_id]) if run_id else ("", [])
    rows = log.query(
        f"""SELECT coalesce(s.run_id, l.run_id), l.line IS NOT DISTINCT FROM {line("s", "t.key")}
        FROM run_summary s LEFT JOIN list_templates t USING (template_id, fingerprint)
            FULL JOIN run_lines l ON l.run_id = s.run_id {where}""",
        params,
    )
    return {r[0] for r in rows if not r[1]}


# run_created's [nodes, gates] by json_to_record: its large payload parsed once (each `->` on a
# json value parses it again: 0.03 s more over 500 runs).
_PROGRESS_SQL = """SELECT run_id, kind,
    CASE WHEN kind = 'run_created' THEN (SELECT json_build_array(c.nodes, c.gates)::text
                                         FROM json_to_record(p) AS c(nodes json, gates json))
        WHEN kind = 'node_started' THEN coalesce((p -> 'node_ids')::text,
                                                 json_build_array(p ->> 'node_id')::text)
        WHEN kind = 'node_retried' THEN (p -> 'node_ids')::text
        WHEN kind IN ('gate_posed', 'gate_decided') THEN p ->> 'gate_id'
        ELSE p ->> 'node_id' END,
    CASE WHEN kind = 'gate_decided' THEN p ->> 'decision' END
FROM events, LATERAL (SELECT payload::json AS p) j
WHERE run_id = ANY(?) AND kind IN ('run_created', 'node_started', 'node_retried',
    'node_produced', 'node_failed', 'gate_posed', 'gate_decided')
ORDER BY run_id, seq"""


def progress_rows(log: Reader, run_ids: Iterable[str]) -> list[tuple]:
    """What tells whether these runs could go on (see run_index.progress_rows)."""
    ids = list(run_ids)
    return log.query(_PROGRESS_SQL, (ids,)) if ids else []


def pipelines(log: PgEventLog) -> list[str]:
    return [r[0] for r in log.query("SELECT DISTINCT template_id FROM runs ORDER BY template_id")]


def change_marker(log: PgEventLog) -> tuple:
    """Moves whenever the database is written (its WAL insert position): a cache of the runs
    list is keyed on it, and is re-read a little more often than strictly needed, never less.
    Not `pg_current_wal_lsn()`, the position written out: with asynchronous commit another
    session's commit may still be in the WAL buffers, and the cached list would outlive it."""
    return tuple(log.query("SELECT pg_current_wal_insert_lsn()::text")[0])


_CAPTURED = """SELECT f.value ->> 'artifact' FROM events e,
    jsonb_each(CASE WHEN jsonb_typeof(e.payload::jsonb -> 'functions') = 'object'
                    THEN e.payload::jsonb -> 'functions' ELSE '{}'::jsonb END) AS f
WHERE e.run_id = ? AND e.seq = 0 AND e.kind = 'run_created'
    AND f.value ->> 'artifact' IS NOT NULL"""


def artifacts_of(db: Db, run_id: str) -> list[str]:
    """Artifacts the run references: its produced tables, its DataFrame input snapshots and the
    functions its run_created event captured (as store/run_index.py; another run storing the
    same capture holds a claim on it, so it is never removed from under that run)."""
    rows = db.execute(
        f"SELECT sha256 FROM artifact_refs WHERE run_id = ? UNION {_CAPTURED}", (run_id, run_id)
    )
    return [r[0] for r in rows.fetchall()]


def used_elsewhere(db: Db, sha256: str, run_id: str | None = None) -> bool:
    """Does a run other than `run_id` (any run, when None) reference this artifact?"""
    row = db.execute(
        "SELECT 1 FROM artifact_refs WHERE sha256 = ? AND run_id IS DISTINCT FROM ? LIMIT 1",
        (sha256, run_id),
    ).fetchone()
    return row is not None


_PENDING_SQL = """
SELECT run_id, count(*) FROM (
    SELECT run_id, kind, payload::jsonb ->> 'decision' AS decision,
        row_number() OVER (
            PARTITION BY run_id, payload::jsonb ->> 'gate_id' ORDER BY seq DESC
        ) AS newest
    FROM events
    WHERE run_id = ANY(?) AND kind IN ('gate_posed', 'gate_decided')
) latest WHERE newest = 1 AND (kind = 'gate_posed' OR decision = 'reopened')
GROUP BY run_id
"""


def pending_gate_counts(log: PgEventLog, run_ids: Iterable[str]) -> dict[str, int]:
    """How many gates of each run wait for a decision (see run_index.pending_gate_counts)."""
    ids = list(run_ids)
    if not ids:
        return {}
    return {run_id: n for run_id, n in log.query(_PENDING_SQL, (ids,))}
