"""Fast questions over many runs (the runs list, artifact references), answered in SQL.

The event log stays the one record. Event rows are wide (a run_created carries the whole template,
a gate_posed its evidence), so the runs list never reads them. Derived from the events, as they
are written, in the transaction that writes them (`derive`, which the event log calls after it
inserts a batch of events; milestone events only):

- `idx_run_marks`: one small row per milestone event (`run_created`, `run_status`,
  `input_consumed`, `gate_posed`, `gate_decided`, `node_failed`) carrying the run's summary
  *after* that event: status, number of resolved gates, and its inputs (JSON: source node -> file
  name, plus the content hash once read). Each mark builds on the run's previous one; verify
  checks every mark against its event;
- `idx_run_summary`: one row per run, its newest mark joined with what its `run_created` event
  fixes (pipeline, fingerprint, start, number of gates), the inputs already as the list shows
  them, and the row as one line (a generated column, store/run_columns.py). Clustered by start,
  so the runs list is one pass over it, however many events the runs hold;
- two partial expression indexes on `events`: the artifact of each `node_produced` event that
  stored a table, and the snapshot hash of each DataFrame input, so deleting a run finds at once
  whether another run still uses one of its artifacts.

Node events (the frequent ones) cost nothing here (an AFTER INSERT trigger did this work until
layout 8: SQLite entered its program for every event, although its WHEN test failed, which was
an eighth of the engine's instructions per node) and, for a node that stored a table, add one
index entry. A milestone adds a mark; a batch with milestones rewrites its run's summary row
once. Derived rows go only when their whole run is deleted (a trigger on `runs`). A store created
before these existed (or with an older layout of them) is built and back-filled from its events
the first time it is opened. Events inserted by SQL behind the store's back get no marks: verify
names them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa

from . import run_columns
from .event_log import EventLog, Reader

VERSION = "idx_layout_10"  # an empty table whose name says which layout the idx_* objects have

# Partial expression indexes: only events that reference an artifact get an entry (a produced
# table; a DataFrame input's snapshot). Scalar nodes add nothing: a node_produced payload is
# canonical JSON (sorted keys, no spaces), so a scalar's starts '{"artifact":null,' and is left
# out by its first bytes; testing json_extract(...) IS NOT NULL instead parsed every node's
# payload as it was inserted (layout 9: 11,000 instructions per node, 4% of the engine's).
# Any other text (none is written so) is indexed as it parses: the condition never leaves out
# an artifact, and a lookup reads the artifact itself.
_PRODUCED, _PRODUCED_INDEX = "json_extract(payload, '$.artifact')", "idx_events_produced"
_PRODUCED_ROWS = "kind = 'node_produced' AND substr(payload, 1, 17) != '{\"artifact\":null,'"
_CONSUMED, _CONSUMED_INDEX = "json_extract(payload, '$.sha256')", "idx_events_snapshot"
_CONSUMED_ROWS = "kind = 'input_consumed' AND json_extract(payload, '$.snapshot')"
_CAPTURED = "json_extract(f.value, '$.artifact')"  # a captured function (run_created)

_LINE = run_columns.line_sql("char(31)", "resolved || ' / ' || n_gates", "inputs")

_TABLES = [
    f"CREATE TABLE IF NOT EXISTS {VERSION} (x INTEGER)",
    # Clustered by (created_at, run_id); `line`: the row as the list reads it (store/run_columns).
    f"""CREATE TABLE IF NOT EXISTS idx_run_summary (
        created_at  TEXT NOT NULL,
        run_id      TEXT NOT NULL UNIQUE,
        template_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        n_gates     INTEGER NOT NULL,
        status      TEXT NOT NULL,
        last_at     TEXT NOT NULL,
        resolved    INTEGER NOT NULL,
        inputs      TEXT NOT NULL,
        line        TEXT GENERATED ALWAYS AS ({_LINE}) STORED,
        PRIMARY KEY (created_at, run_id)
    ) WITHOUT ROWID""",
    # A pipeline's newest runs (the sidebar's last run of each template) without a scan.
    "CREATE INDEX IF NOT EXISTS idx_run_summary_by_pipeline "
    "ON idx_run_summary (template_id, created_at, run_id)",
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

MILESTONES = frozenset(
    ("run_created", "run_status", "input_consumed", "gate_posed", "gate_decided", "node_failed")
)
_MILESTONES = "(" + ", ".join(f"'{k}'" for k in sorted(MILESTONES)) + ")"


def _basename(expr: str) -> str:
    """The last path segment, in SQL (what is handed in as a DataFrame has no '/': kept whole)."""
    return f"replace({expr}, rtrim({expr}, replace({expr}, '/', '')), '')"


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


def _shown(inputs: str) -> str:
    """A mark's inputs (JSON) as the runs list shows them: "node=file (hash)", "; "-separated."""
    return (
        f"(SELECT coalesce(group_concat(key || '=' || value, '; '), '') FROM json_each({inputs}))"
    )


# A new run's summary row: pipeline, fingerprint and start from its `runs` entry (written just
# before its first event, in the same transaction), so the large payload is parsed once, for the
# gates; the rest from the mark just made.
_SUMMARY_NEW = f"""INSERT OR IGNORE INTO idx_run_summary
    (created_at, run_id, template_id, fingerprint, n_gates, status, last_at, resolved, inputs)
SELECT r.created_at, r.run_id, r.template_id, r.fingerprint,
    json_array_length({{payload}}, '$.gates'), m.status, m.at, m.resolved, {_shown("m.inputs")}
FROM runs r JOIN idx_run_marks m ON m.run_id = r.run_id AND m.seq = {{seq}}
WHERE r.run_id = {{run_id}} AND {{kind}} = 'run_created'"""

# After a batch's milestones: the run's summary becomes its newest mark (inputs re-shown only
# when the batch read one).
_SUMMARY_MOVE = f"""UPDATE idx_run_summary SET (status, last_at, resolved, inputs) = (
    SELECT m.status, m.at, m.resolved,
        CASE WHEN :reshow THEN {_shown("m.inputs")} ELSE idx_run_summary.inputs END
    FROM idx_run_marks m WHERE m.run_id = :run_id AND m.seq = :seq)
WHERE run_id = :run_id"""

_PARAMS = {k: f":{k}" for k in ("run_id", "seq", "kind", "at", "payload")}
_MARK_ONE = _MARK.format(**_PARAMS)
_SUMMARY_NEW_ONE = _SUMMARY_NEW.format(**_PARAMS)

_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS idx_on_run_deleted AFTER DELETE ON runs
    BEGIN
        DELETE FROM idx_run_summary WHERE run_id = OLD.run_id;
        DELETE FROM idx_run_marks WHERE run_id = OLD.run_id;
    END""",
]
_OBJECTS = (
    *(VERSION, "idx_run_summary", "idx_run_summary_by_pipeline", "idx_run_marks"),
    *(_PRODUCED_INDEX, _CONSUMED_INDEX),
    *(t.split()[5] for t in _TRIGGERS),  # the trigger names
)


def derive(con: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """The runs list's marks and summary after a batch of one run's events, inserted just before
    in the same transaction (rows as in `events`: run_id, seq, at, kind, payload, ...). Node
    events cost one set lookup each; the milestones get their marks in order (each builds on the
    one before), and the summary row is written once, from the newest."""
    marks = [
        {"run_id": r[0], "seq": r[1], "kind": r[3], "at": r[2], "payload": r[4]}
        for r in rows
        if r[3] in MILESTONES
    ]
    if not marks:
        return
    con.executemany(_MARK_ONE, marks)
    if marks[0]["kind"] == "run_created":
        con.execute(_SUMMARY_NEW_ONE, marks[0])
        if len(marks) == 1:
            return
    reshow = any(m["kind"] == "input_consumed" for m in marks)
    newest = marks[-1]
    con.execute(_SUMMARY_MOVE, {"run_id": newest["run_id"], "seq": newest["seq"], "reshow": reshow})


def ensure_index(log: EventLog) -> None:
    """Create the derived tables and triggers once per store file (back-filling old stores)."""
    names = ", ".join(f"'{n}'" for n in _OBJECTS)
    have = log.query(f"SELECT count(*) FROM sqlite_master WHERE name IN ({names})")[0][0]
    if have == len(_OBJECTS):
        return
    log.transact(_build)


# What a store of an earlier layout keeps when opened with this one, if all of it is there: its
# tables and indexes listed (the trigger listed wrote their rows; like every old idx_* object not
# kept, it is dropped). Layouts 7 and 8 kept the same marks as this one (8 also the same summary
# rows): rebuilding 400,000 marks takes half a minute, and a store of layout 7 gains its summary
# rows from its marks. Layout 9 kept them too, with no trigger: only its index of produced
# artifacts changed (its condition parsed every node's payload). Any other layout, or one
# missing a listed object, is built again whole.
_KEEP = {
    "idx_layout_7": {"idx_run_marks", "idx_on_milestone"},
    "idx_layout_8": {
        "idx_run_marks",
        "idx_run_summary",
        "idx_run_summary_by_pipeline",
        "idx_on_milestone",
    },
    "idx_layout_9": {"idx_run_marks", "idx_run_summary", "idx_run_summary_by_pipeline"},
}


def _build(con: sqlite3.Connection) -> None:
    old = con.execute(
        "SELECT type, name FROM sqlite_master WHERE name LIKE 'idx\\_%' ESCAPE '\\' "
        "AND type IN ('table', 'trigger', 'index') AND sql IS NOT NULL"
    ).fetchall()
    names = {n for _, n in old}
    keep = next((kept for layout, kept in _KEEP.items() if layout in names), set())
    if not keep <= names:
        keep = set()
    order = {"trigger": 0, "index": 1, "table": 2}
    for kind, name in sorted(old, key=lambda o: order[o[0]]):
        if kind == "trigger" or name not in keep:
            con.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    for statement in (*_TABLES, *_TRIGGERS):
        con.execute(statement)
    if "idx_run_marks" not in keep:
        _build_marks(con)
    con.execute(_SUMMARY_FROM_MARKS)


def _build_marks(con: sqlite3.Connection) -> None:
    """Marks one event at a time, in order: each builds on the run's previous one."""
    rows = con.execute(
        "SELECT run_id, seq, kind, at, CASE WHEN kind = 'gate_posed' THEN '{}' ELSE payload END "
        f"FROM events WHERE kind IN {_MILESTONES} ORDER BY run_id, seq"
    ).fetchall()
    con.executemany(_MARK_ONE, [dict(zip(_PARAMS, r, strict=True)) for r in rows])


# Every run's summary at once, from its newest mark (a store's first opening with this layout).
_SUMMARY_FROM_MARKS = f"""INSERT OR IGNORE INTO idx_run_summary
    (created_at, run_id, template_id, fingerprint, n_gates, status, last_at, resolved, inputs)
SELECT r.created_at, r.run_id, r.template_id, r.fingerprint,
    json_array_length(e.payload, '$.gates'), m.status, m.at, m.resolved, {_shown("m.inputs")}
FROM runs r
JOIN events e ON e.run_id = r.run_id AND e.seq = 0 AND e.kind = 'run_created'
JOIN (SELECT run_id, status, at, resolved, inputs, max(seq) FROM idx_run_marks GROUP BY run_id) m
    ON m.run_id = r.run_id"""


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


_LIST_SQL = """SELECT run_id, template_id, fingerprint, created_at, status, last_at, resolved,
    n_gates, {inputs}
FROM {table} {where}
ORDER BY created_at DESC, run_id DESC"""


@dataclass(frozen=True)
class SummaryTable:
    """The runs list's pages and counts, read from a table of one row per run: `idx_run_summary`
    here, `run_summary` in a PostgreSQL store (store/postgres_index.py). Both hold the same
    columns but for the inputs as the list shows them (`inputs`); `where` writes the backend's
    condition on a set of values (`column IN (?, ...)` here, `column = ANY(?)` there)."""

    table: str
    inputs: str
    condition: Callable[[str, list[str]], tuple[str, list[Any]]]  # SQL and its parameters

    def list_runs(
        self,
        log: Reader,
        *,
        pipelines: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        run_ids: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunRow]:
        """The runs (newest first), optionally only some pipelines, statuses or runs, and only a
        page of them (`limit` from `offset`)."""
        where, params = self.where(template_id=pipelines, status=statuses, run_id=run_ids)
        sql = _LIST_SQL.format(inputs=self.inputs, table=self.table, where=where)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return list(map(RunRow._make, log.query(sql, params)))

    def count_runs(
        self,
        log: Reader,
        *,
        pipelines: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> int:
        """How many runs `list_runs` lists with these conditions and no limit."""
        where, params = self.where(template_id=pipelines, status=statuses)
        return log.query(f"SELECT count(*) FROM {self.table} {where}", params)[0][0]

    def where(self, **conditions: Iterable[str] | None) -> tuple[str, list[Any]]:
        """`WHERE column ... AND ...` for the conditions given (None: no condition)."""
        clauses, params = [], []
        for column, values in conditions.items():
            if values is not None:
                clause, more = self.condition(column, list(values))
                clauses.append(clause)
                params += more
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _in(column: str, values: list[str]) -> tuple[str, list[Any]]:
    """`column IN (?, ...)`, a placeholder per value (`IN (NULL)` for none: no row)."""
    return f"{column} IN ({','.join('?' * len(values)) or 'NULL'})", values


_SUMMARY = "idx_run_summary"
_RUNS = SummaryTable(_SUMMARY, "inputs", _in)
list_runs, count_runs = _RUNS.list_runs, _RUNS.count_runs


def list_columns(
    log: Reader,
    *,
    pipelines: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
) -> pa.Table:
    """The runs list (newest first) as Arrow columns (store/run_columns.py): what `px.runs()`
    shows, without a Python object per value."""
    where, params = _RUNS.where(template_id=pipelines, status=statuses)
    sql = (  # the table read backwards (it is clustered by start): no sort; bytes, not text
        "SELECT count(*), CAST(group_concat(line, char(10)) AS BLOB) FROM "
        f"(SELECT line FROM {_SUMMARY} {where} ORDER BY created_at DESC, run_id DESC)"
    )
    count, data = log.query(sql, params)[0]
    fields = ", ".join([*run_columns.FIELDS[:6], "resolved || ' / ' || n_gates", "inputs"])
    return run_columns.assemble(
        count, data, lambda: log.query(f"SELECT {fields} FROM {_SUMMARY} {where}", params)
    )


_PROGRESS_KINDS = (
    "('run_created', 'node_started', 'node_retried', 'node_produced', 'node_failed', "
    "'gate_posed', 'gate_decided')"
)
_PROGRESS_SQL = f"""SELECT run_id, kind,
    CASE kind WHEN 'run_created' THEN json_extract(payload, '$.nodes', '$.gates')
        WHEN 'node_started' THEN coalesce(json_extract(payload, '$.node_ids'),
                                          json_array(json_extract(payload, '$.node_id')))
        WHEN 'node_retried' THEN json_extract(payload, '$.node_ids')
        WHEN 'gate_posed' THEN json_extract(payload, '$.gate_id')
        WHEN 'gate_decided' THEN json_extract(payload, '$.gate_id')
        ELSE json_extract(payload, '$.node_id') END,
    CASE kind WHEN 'gate_decided' THEN json_extract(payload, '$.decision') END
FROM events WHERE run_id IN ({{ids}}) AND kind IN {_PROGRESS_KINDS}
ORDER BY run_id, seq"""


def progress_rows(log: Reader, run_ids: Iterable[str]) -> list[tuple]:
    """What tells whether these runs could go on (runtime/interruption.py `progress_of`): per
    event that moves a node or a gate, in order, (run_id, kind, a, b), the light rows
    RunFold.apply_progress folds; a: the created run's [nodes, gates] (JSON), the nodes started
    or retried (JSON list), the node produced or failed, or the gate posed or decided; b: the
    decision. A few fields out of each payload, in SQL."""
    ids, rows = list(run_ids), []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows += log.query(_PROGRESS_SQL.format(ids=",".join("?" * len(chunk))), chunk)
    return rows


def lines_apart(log: Reader, run_id: str | None = None) -> set[str]:
    """Runs whose list line is not the one their summary row makes: none here, the line being a
    column SQLite generates from the row itself (the PostgreSQL store keeps it apart)."""
    return set()


def pipelines(log: EventLog) -> list[str]:
    return [r[0] for r in log.query("SELECT DISTINCT template_id FROM runs ORDER BY template_id")]


def artifacts_of(con: sqlite3.Connection, run_id: str) -> list[str]:
    """Artifacts the run references: its produced tables, its DataFrame input snapshots and the
    functions its run_created event captured (runtime/functions.py; another run storing the
    same capture holds a claim on it, so it is never removed from under that run)."""
    rows = con.execute(
        f"SELECT {_PRODUCED} FROM events WHERE run_id = ? AND {_PRODUCED_ROWS} "
        f"AND {_PRODUCED} IS NOT NULL UNION "
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
