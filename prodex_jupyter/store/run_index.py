"""Fast questions over many runs (the runs list, artifact references), answered in SQL.

The event log stays the one record. Event rows are wide (a run_created carries the whole template,
a gate_posed its evidence), so the runs list never reads them. Derived from the events, as they
are inserted and whoever inserts them:

- `idx_run_facts` (table, one trigger): per run, what its `run_created` event fixes (pipeline,
  fingerprint, start, number of gates);
- `idx_run_marks` (table, the same trigger): one small row per milestone event (`run_created`,
  `run_status`, `input_consumed`, `gate_posed`, `gate_decided`, `node_failed`) carrying the run's
  summary *after* that event: status, number of resolved gates, and its inputs (JSON: source node
  -> file name, plus the content hash once read). The newest mark of a run is its current
  summary, so the list is one aggregate over this table;
- two partial expression indexes on `events`: the artifact of each `node_produced` event that
  stored a table, and the snapshot hash of each DataFrame input, so deleting a run finds at once
  whether another run still uses one of its artifacts.

Node events (the frequent ones) do no trigger work (its WHEN test fails) and, for a node that
stored a table, add one index entry: a few microseconds per node. Table rows are only inserted,
and go only when their whole run is deleted (a trigger on `runs`). A store created before these
existed (or with an older layout of them) is built and back-filled from its events the first time
it is opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from .event_log import EventLog, Reader

VERSION = "idx_layout_7"  # an empty table whose name says which layout the idx_* objects have

# Partial expression indexes: only events that reference an artifact get an entry (a produced
# table; a DataFrame input's snapshot). Scalar nodes add nothing.
_PRODUCED, _PRODUCED_INDEX = "json_extract(payload, '$.artifact')", "idx_events_artifact"
_PRODUCED_ROWS = f"kind = 'node_produced' AND {_PRODUCED} IS NOT NULL"
_CONSUMED, _CONSUMED_INDEX = "json_extract(payload, '$.sha256')", "idx_events_snapshot"
_CONSUMED_ROWS = "kind = 'input_consumed' AND json_extract(payload, '$.snapshot')"
_CAPTURED = "json_extract(f.value, '$.artifact')"  # a captured function (run_created)

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
    f"CREATE INDEX IF NOT EXISTS {_PRODUCED_INDEX} ON events ({_PRODUCED}) WHERE {_PRODUCED_ROWS}",
    f"CREATE INDEX IF NOT EXISTS {_CONSUMED_INDEX} ON events ({_CONSUMED}) WHERE {_CONSUMED_ROWS}",
]

_MILESTONES = (
    "('run_created', 'run_status', 'input_consumed', 'gate_posed', 'gate_decided', 'node_failed')"
)


def _basename(expr: str) -> str:
    """The last path segment, in SQL (what is handed in as a DataFrame has no '/': kept whole)."""
    return f"replace({expr}, rtrim({expr}, replace({expr}, '/', '')), '')"


# A run_created event's facts; pipeline, fingerprint and start come from its `runs` entry (written
# just before it, in the same transaction), so the large payload is parsed once, for the gates.
_FACTS = """INSERT OR IGNORE INTO idx_run_facts
    (run_id, template_id, fingerprint, created_at, n_gates)
SELECT r.run_id, r.template_id, r.fingerprint, r.created_at,
    json_array_length({payload}, '$.gates')
FROM runs r WHERE r.run_id = {run_id} AND {kind} = 'run_created'"""

_INPUTS_GIVEN = (
    "(SELECT coalesce(json_group_object(key, " + _basename("value") + "), '{{}}') "
    "FROM json_each({payload}, '$.inputs'))"
)


def _prev(column: str) -> str:
    """The value after the run's previous mark (a scalar subquery: read only when needed)."""
    return (
        f"(SELECT {column} FROM idx_run_marks WHERE run_id = {{run_id}} ORDER BY seq DESC LIMIT 1)"
    )


_INPUT_READ = (
    f"json_set(coalesce({_prev('inputs')}, '{{{{}}}}'), "
    "'$.\"' || json_extract({payload}, '$.node_id') || '\"', "
    + _basename("json_extract({payload}, '$.path')")
    + " || ' (' || substr(json_extract({payload}, '$.sha256'), 1, 8) || ')')"
)

# The run's summary after this event: the previous mark's, updated by this event. The WHERE is
# checked first, so other events cost nothing here.
_MARK = f"""INSERT OR IGNORE INTO idx_run_marks
    (run_id, seq, kind, at, status, resolved, inputs, gate, decision)
SELECT {{run_id}}, {{seq}}, {{kind}}, {{at}},
    CASE {{kind}} WHEN 'run_status' THEN json_extract({{payload}}, '$.status')
                ELSE coalesce({_prev("status")}, 'pending') END,
    CASE WHEN {{kind}} = 'gate_decided' THEN (
        SELECT count(*) FROM (
            SELECT gate, decision, max(s) FROM (
                SELECT gate, decision, seq AS s FROM idx_run_marks
                WHERE run_id = {{run_id}} AND kind = 'gate_decided'
                UNION ALL
                SELECT json_extract({{payload}}, '$.gate_id'),
                    json_extract({{payload}}, '$.decision'), {{seq}}
            ) GROUP BY gate
        ) WHERE decision != 'reopened')
        ELSE coalesce({_prev("resolved")}, 0) END,
    CASE {{kind}} WHEN 'run_created' THEN {_INPUTS_GIVEN}
                WHEN 'input_consumed' THEN {_INPUT_READ}
                ELSE coalesce({_prev("inputs")}, '{{{{}}}}') END,
    CASE {{kind}} WHEN 'gate_decided' THEN json_extract({{payload}}, '$.gate_id') END,
    CASE {{kind}} WHEN 'gate_decided' THEN json_extract({{payload}}, '$.decision') END
WHERE {{kind}} IN {_MILESTONES}"""

_NEW = {"run_id": "NEW.run_id", "seq": "NEW.seq", "kind": "NEW.kind", "at": "NEW.at"}
_NEW["payload"] = "NEW.payload"
_PARAMS = {k: f":{k}" for k in _NEW}

_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS idx_on_milestone AFTER INSERT ON events
    WHEN NEW.kind != 'node_started' AND NEW.kind != 'node_produced'
    BEGIN
        {_FACTS.format(**_NEW)};
        {_MARK.format(**_NEW)};
    END""",
    """CREATE TRIGGER IF NOT EXISTS idx_on_run_deleted AFTER DELETE ON runs
    BEGIN
        DELETE FROM idx_run_facts WHERE run_id = OLD.run_id;
        DELETE FROM idx_run_marks WHERE run_id = OLD.run_id;
    END""",
]
_OBJECTS = (
    *(VERSION, "idx_run_facts", "idx_run_marks", _PRODUCED_INDEX, _CONSUMED_INDEX),
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
        "AND type IN ('table', 'trigger', 'index') AND sql IS NOT NULL"
    ).fetchall()
    order = {"trigger": 0, "index": 1, "table": 2}
    for kind, name in sorted(old, key=lambda o: order[o[0]]):  # another layout: rebuild
        con.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    for statement in (*_TABLES, *_TRIGGERS):
        con.execute(statement)
    con.execute(
        "INSERT OR IGNORE INTO idx_run_facts "
        "(run_id, template_id, fingerprint, created_at, n_gates) "
        "SELECT r.run_id, r.template_id, r.fingerprint, r.created_at, "
        "json_array_length(e.payload, '$.gates') FROM runs r JOIN events e "
        "ON e.run_id = r.run_id AND e.seq = 0"
    )
    # Marks one event at a time, in order: each builds on the run's previous one.
    rows = con.execute(
        "SELECT run_id, seq, kind, at, CASE WHEN kind = 'gate_posed' THEN '{}' ELSE payload END "
        f"FROM events WHERE kind IN {_MILESTONES} ORDER BY run_id, seq"
    ).fetchall()
    con.executemany(_MARK.format(**_PARAMS), [dict(zip(_PARAMS, r, strict=True)) for r in rows])


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
    log: Reader,
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
    """Artifacts the run references: its produced tables, its DataFrame input snapshots and the
    functions its run_created event captured (runtime/functions.py; another run storing the
    same capture holds a claim on it, so it is never removed from under that run)."""
    rows = con.execute(
        f"SELECT {_PRODUCED} FROM events WHERE run_id = ? AND {_PRODUCED_ROWS} UNION "
        f"SELECT {_CONSUMED} FROM events WHERE run_id = ? AND {_CONSUMED_ROWS} UNION "
        f"SELECT {_CAPTURED} FROM events, json_each(events.payload, '$.functions') AS f "
        f"WHERE run_id = ? AND seq = 0 AND kind = 'run_created' AND {_CAPTURED} IS NOT NULL",
        (run_id, run_id, run_id),
    )
    return [r[0] for r in rows.fetchall()]


def used_elsewhere(con: sqlite3.Connection, sha256: str, run_id: str | None = None) -> bool:
    """Does a run other than `run_id` (any run, when None) reference this artifact?"""
    return any(con.execute(sql, (sha256, run_id)).fetchone() for sql in _USED_ELSEWHERE)


_USED_ELSEWHERE = [  # the partial indexes' own conditions, so SQLite uses them
    f"SELECT 1 FROM events WHERE {rows} AND {expr} = ? AND run_id IS NOT ? LIMIT 1"
    for rows, expr in ((_PRODUCED_ROWS, _PRODUCED), (_CONSUMED_ROWS, _CONSUMED))
]


_PENDING_SQL = """
SELECT run_id, count(*) FROM (
    SELECT run_id, kind, json_extract(payload, '$.decision') AS decision,
        row_number() OVER (
            PARTITION BY run_id, json_extract(payload, '$.gate_id') ORDER BY seq DESC
        ) AS newest
    FROM events
    WHERE run_id IN ({ids}) AND kind IN ('gate_posed', 'gate_decided')
) WHERE newest = 1 AND (kind = 'gate_posed' OR decision = 'reopened')
GROUP BY run_id
"""


def change_marker(log: EventLog) -> tuple:
    """Moves whenever the store changes: `data_version` when another connection commits,
    `total_changes()` when this one writes (what a cache of the runs list is keyed on)."""
    version = log.query("PRAGMA data_version")[0][0]
    return version, log.query("SELECT total_changes()")[0][0]


def pending_gate_counts(log: EventLog, run_ids: Iterable[str]) -> dict[str, int]:
    """How many gates of each run wait for a decision (posed, or reopened, and not decided since);
    runs with none are left out. For a page of the runs list, not for every run at once."""
    ids = list(run_ids)
    if not ids:
        return {}
    rows = log.query(_PENDING_SQL.format(ids=",".join("?" * len(ids))), ids)
    return {run_id: n for run_id, n in rows}
