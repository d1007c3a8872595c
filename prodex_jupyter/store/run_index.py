"""Fast questions over many runs (the runs list, artifact references), answered in SQL.

The event log stays the one record. Event rows are wide (a run_created carries the whole template,
a gate_posed its evidence), so the runs list never reads them. Three narrow insert-only tables
are derived from the events by SQLite triggers as events are inserted, whoever inserts them:

- `idx_run_facts`: per run, what its `run_created` event fixes (pipeline, fingerprint, start,
  number of gates);
- `idx_run_marks`: one small row per milestone event (`run_created`, `run_status`,
  `input_consumed`, `gate_posed`, `gate_decided`, `node_failed`) carrying the run's summary
  *after* that event: status, number of resolved gates, and its inputs (JSON: source node ->
  file name, plus the content hash once read). The newest mark of a run is its current summary,
  so the list is one aggregate over this table. Node events (started, produced) add no mark: the
  engine's per-node cost is unchanged;
- `idx_artifact_refs`: which run references which artifact (a produced table, or a DataFrame
  input snapshot), so deleting a run knows at once which artifacts no other run uses.

Rows are only inserted, and go only when their whole run is deleted (a trigger on `runs`). A store
created before these tables existed (or with an older layout of them) is back-filled from its
events the first time it is opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from .event_log import EventLog

VERSION = "idx_layout_3"  # an empty table whose name says which layout the idx_* objects have

_TABLES = [
    f"CREATE TABLE IF NOT EXISTS {VERSION} (x INTEGER)",
    """CREATE TABLE IF NOT EXISTS idx_run_facts (
        run_id      TEXT PRIMARY KEY,
        template_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        n_gates     INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS idx_run_facts_by_start ON idx_run_facts (created_at)",
    """CREATE TABLE IF NOT EXISTS idx_run_marks (
        run_id   TEXT NOT NULL,
        seq      INTEGER NOT NULL,
        kind     TEXT NOT NULL,
        at       TEXT NOT NULL,
        status   TEXT NOT NULL,
        resolved INTEGER NOT NULL,
        inputs   TEXT NOT NULL,
        gate     TEXT,
        decision TEXT,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS idx_artifact_refs (
        sha256 TEXT NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (sha256, run_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS idx_artifact_refs_by_run ON idx_artifact_refs (run_id)",
]

_MILESTONES = (
    "('run_created', 'run_status', 'input_consumed', 'gate_posed', 'gate_decided', 'node_failed')"
)


def _basename(expr: str) -> str:
    """The last path segment, in SQL (what is handed in as a DataFrame has no '/': kept whole)."""
    return f"replace({expr}, rtrim({expr}, replace({expr}, '/', '')), '')"


_FACTS = """INSERT OR IGNORE INTO idx_run_facts
    (run_id, template_id, fingerprint, created_at, n_gates)
SELECT {run_id}, json_extract({payload}, '$.template_id'),
    json_extract({payload}, '$.fingerprint'), {at}, json_array_length({payload}, '$.gates')"""

_INPUTS_GIVEN = (
    "(SELECT coalesce(json_group_object(key, " + _basename("value") + "), '{{}}') "
    "FROM json_each({payload}, '$.inputs'))"
)
_INPUT_READ = (
    "json_set(coalesce(prev.inputs, '{{}}'), "
    "'$.\"' || json_extract({payload}, '$.node_id') || '\"', "
    + _basename("json_extract({payload}, '$.path')")
    + " || ' (' || substr(json_extract({payload}, '$.sha256'), 1, 8) || ')')"
)

# The run's summary after this event: from the run's previous mark, updated by this event.
_MARK = (
    """INSERT OR IGNORE INTO idx_run_marks
    (run_id, seq, kind, at, status, resolved, inputs, gate, decision)
SELECT {run_id}, {seq}, {kind}, {at},
    CASE {kind} WHEN 'run_status' THEN json_extract({payload}, '$.status')
                ELSE coalesce(prev.status, 'pending') END,
    CASE WHEN {kind} = 'gate_decided' THEN (
        SELECT count(*) FROM (
            SELECT gate, decision, max(s) FROM (
                SELECT gate, decision, seq AS s FROM idx_run_marks
                WHERE run_id = {run_id} AND kind = 'gate_decided'
                UNION ALL
                SELECT json_extract({payload}, '$.gate_id'), json_extract({payload}, '$.decision'),
                    {seq}
            ) GROUP BY gate
        ) WHERE decision != 'reopened')
        ELSE coalesce(prev.resolved, 0) END,
    CASE {kind} WHEN 'run_created' THEN """
    + _INPUTS_GIVEN
    + """
                WHEN 'input_consumed' THEN """
    + _INPUT_READ
    + """
                ELSE coalesce(prev.inputs, '{{}}') END,
    CASE {kind} WHEN 'gate_decided' THEN json_extract({payload}, '$.gate_id') END,
    CASE {kind} WHEN 'gate_decided' THEN json_extract({payload}, '$.decision') END
FROM (SELECT 1) LEFT JOIN (
    SELECT status, resolved, inputs FROM idx_run_marks WHERE run_id = {run_id}
    ORDER BY seq DESC LIMIT 1
) AS prev"""
)

_NEW = {"run_id": "NEW.run_id", "seq": "NEW.seq", "kind": "NEW.kind", "at": "NEW.at"}
_NEW["payload"] = "NEW.payload"
_PARAMS = {k: f":{k}" for k in _NEW}

_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS idx_on_run_created AFTER INSERT ON events
    WHEN NEW.kind = 'run_created'
    BEGIN {_FACTS.format(**_NEW)}; END""",
    f"""CREATE TRIGGER IF NOT EXISTS idx_on_milestone AFTER INSERT ON events
    WHEN NEW.kind IN {_MILESTONES}
    BEGIN {_MARK.format(**_NEW)}; END""",
    """CREATE TRIGGER IF NOT EXISTS idx_on_produced_artifact AFTER INSERT ON events
    WHEN NEW.kind = 'node_produced' AND json_extract(NEW.payload, '$.artifact') IS NOT NULL
    BEGIN
        INSERT OR IGNORE INTO idx_artifact_refs (sha256, run_id)
        VALUES (json_extract(NEW.payload, '$.artifact'), NEW.run_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS idx_on_snapshot AFTER INSERT ON events
    WHEN NEW.kind = 'input_consumed' AND json_extract(NEW.payload, '$.snapshot')
    BEGIN
        INSERT OR IGNORE INTO idx_artifact_refs (sha256, run_id)
        VALUES (json_extract(NEW.payload, '$.sha256'), NEW.run_id);
    END""",
    """CREATE TRIGGER IF NOT EXISTS idx_on_run_deleted AFTER DELETE ON runs
    BEGIN
        DELETE FROM idx_run_facts WHERE run_id = OLD.run_id;
        DELETE FROM idx_run_marks WHERE run_id = OLD.run_id;
        DELETE FROM idx_artifact_refs WHERE run_id = OLD.run_id;
    END""",
]
_OBJECTS = (
    *(VERSION, "idx_run_facts", "idx_run_marks", "idx_artifact_refs"),
    *(t.split()[5] for t in _TRIGGERS),  # the trigger names
)


def ensure_index(log: EventLog) -> None:
    """Create the derived tables and triggers once per store file (back-filling old stores)."""
    names = ", ".join(f"'{n}'" for n in _OBJECTS)
    have = log.query(f"SELECT count(*) FROM sqlite_master WHERE name IN ({names})")[0][0]
    if have == len(_OBJECTS):
        return
    log.transact(_build)


def _build(con: sqlite3.Connection) -> None:
    old = con.execute(
        "SELECT type, name FROM sqlite_master WHERE name LIKE 'idx\\_%' ESCAPE '\\' "
        "AND type IN ('table', 'trigger')"
    ).fetchall()
    for kind, name in sorted(old, key=lambda o: o[0] != "trigger"):  # another layout: rebuild
        con.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    for statement in (*_TABLES, *_TRIGGERS):
        con.execute(statement)
    facts = _FACTS.format(run_id="run_id", payload="payload", at="at")
    con.execute(f"{facts} FROM events WHERE kind = 'run_created'")
    # Marks one event at a time, in order: each builds on the run's previous one.
    rows = con.execute(
        "SELECT run_id, seq, kind, at, CASE WHEN kind = 'gate_posed' THEN '{}' ELSE payload END "
        f"FROM events WHERE kind IN {_MILESTONES} ORDER BY run_id, seq"
    ).fetchall()
    con.executemany(_MARK.format(**_PARAMS), [dict(zip(_PARAMS, r, strict=True)) for r in rows])
    con.execute(
        "INSERT OR IGNORE INTO idx_artifact_refs (sha256, run_id) "
        "SELECT json_extract(payload, '$.artifact'), run_id FROM events "
        "WHERE kind = 'node_produced' AND json_extract(payload, '$.artifact') IS NOT NULL"
    )
    con.execute(
        "INSERT OR IGNORE INTO idx_artifact_refs (sha256, run_id) "
        "SELECT json_extract(payload, '$.sha256'), run_id FROM events "
        "WHERE kind = 'input_consumed' AND json_extract(payload, '$.snapshot')"
    )


class RunRow(NamedTuple):
    """One line of the runs list, straight from SQL."""

    run_id: str
    template_id: str
    fingerprint: str
    created_at: str
    status: str
    last_at: str
    gates_resolved: int
    gates_total: int
    inputs: str  # per source: "node=file (sha256 prefix)" once read, "; "-separated


_LIST_SQL = """
WITH last AS (
    SELECT run_id, status, resolved, at, inputs, max(seq) FROM idx_run_marks GROUP BY run_id
)
SELECT f.run_id, f.template_id, f.fingerprint, f.created_at,
    coalesce(last.status, 'pending'), coalesce(last.at, f.created_at),
    coalesce(last.resolved, 0), f.n_gates, coalesce(last.inputs, '{{}}')
FROM idx_run_facts f
LEFT JOIN last ON last.run_id = f.run_id
{where}
ORDER BY f.created_at DESC, f.run_id DESC
"""


def list_runs(
    log: EventLog,
    *,
    pipelines: Iterable[str] | None = None,
    run_ids: Iterable[str] | None = None,
) -> list[RunRow]:
    """Every run (newest first), optionally only some pipelines or some runs."""
    clauses, params = [], []
    if pipelines is not None:
        names = list(pipelines)
        clauses.append(f"f.template_id IN ({','.join('?' * len(names)) or 'NULL'})")
        params.extend(names)
    if run_ids is not None:
        ids = list(run_ids)
        clauses.append(f"f.run_id IN ({','.join('?' * len(ids)) or 'NULL'})")
        params.extend(ids)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = log.query(_LIST_SQL.format(where=where), params)
    texts: dict[str, str] = {}  # many runs read the same files: format each distinct set once
    new = tuple.__new__
    out = []
    for row in rows:
        inputs = row[8]
        text = texts.get(inputs)
        if text is None:
            text = texts[inputs] = "; ".join(f"{k}={v}" for k, v in json.loads(inputs).items())
        out.append(new(RunRow, (*row[:8], text)))
    return out


def pipelines(log: EventLog) -> list[str]:
    return [r[0] for r in log.query("SELECT DISTINCT template_id FROM runs ORDER BY template_id")]


def artifacts_of(con: sqlite3.Connection, run_id: str) -> list[str]:
    """Artifacts the run references (inside the caller's transaction)."""
    rows = con.execute("SELECT sha256 FROM idx_artifact_refs WHERE run_id = ?", (run_id,))
    return [r[0] for r in rows.fetchall()]


def artifacts_only_of(con: sqlite3.Connection, run_id: str) -> list[str]:
    """Artifacts the run references that no other run does (inside the caller's transaction)."""
    rows = con.execute(
        "SELECT a.sha256 FROM idx_artifact_refs a WHERE a.run_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM idx_artifact_refs b WHERE b.sha256 = a.sha256 AND b.run_id != a.run_id)",
        (run_id,),
    ).fetchall()
    return [r[0] for r in rows]


def still_referenced(log: EventLog, sha256: str) -> bool:
    rows = log.query("SELECT 1 FROM idx_artifact_refs WHERE sha256 = ? LIMIT 1", (sha256,))
    return bool(rows)
