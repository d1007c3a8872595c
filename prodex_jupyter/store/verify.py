"""Verify the record: name every event, run, index entry or artifact changed or removed.

For each run: its hash chain is recomputed from the first event; each artifact it names is
re-hashed; and every other record the store keeps of the run must agree with its events: its
head (`run_heads`: where its chain ended, so a cut tail shows), its entry in the runs index
(`runs`), the runs list (its summary row and marks), and the run ledger (store/ledger.py:
its creation and, once deleted, its tombstone). For the store: the ledger's own chain, and every
run the ledger, the index or the artifact claims know of. What this cannot catch (a forger who
rewrites a chain and every record of it consistently) an anchor kept outside the store does:
store/anchors.py.

Plain reads over the store's tables and Python; no backend-specific SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import ledger
from .event_log import GENESIS, Snapshot, chain_hash, decode_row
from .ledger import LedgerEntry, Tombstone
from .run_index import RunRow
from .state import RunFold

if TYPE_CHECKING:
    from .run_store import RunStore

# Events the runs list keeps a mark of (store/run_index.py).
_LISTED = frozenset(
    ("run_created", "run_status", "input_consumed", "gate_posed", "gate_decided", "node_failed")
)


@dataclass(frozen=True)
class Problem:
    """One thing found wrong: where (a run and one of its events, or the ledger and one of its
    entries) and what."""

    run_id: str
    seq: int | None
    what: str
    unit: str = "event"

    def __str__(self) -> str:
        at = f" {self.unit} {self.seq}" if self.seq is not None else ""
        return f"{self.run_id}{at}: {self.what}"


@dataclass
class _Records:
    """What the store holds about runs besides their events, read once per verify."""

    runs: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    listed: dict[str, RunRow] = field(default_factory=dict)
    lines_apart: set[str] = field(default_factory=set)  # list lines not their summary row's
    marks: dict[str, dict[int, tuple[str, str, str]]] = field(default_factory=dict)
    claims: set[str] = field(default_factory=set)
    ledger: list[LedgerEntry] = field(default_factory=list)
    created: dict[str, LedgerEntry] = field(default_factory=dict)
    deleted: dict[str, LedgerEntry] = field(default_factory=dict)

    def traces(self, run_id: str) -> list[str]:
        """Where the store still mentions a run, other than its events."""
        found = [
            ("the runs index", run_id in self.runs),
            (f"run_heads (event {self.heads.get(run_id, (0,))[0]})", run_id in self.heads),
            ("the runs list", run_id in self.listed or run_id in self.marks),
            # a deletion forgets the run's claims just after it commits: not a trace of it
            ("artifact claims", run_id in self.claims and run_id not in self.deleted),
        ]
        return [name for name, present in found if present]


def verify_run(store: RunStore, run_id: str) -> list[Problem]:
    """Every problem found in one run; an empty list means its record is intact. Raises
    RunNotFound for an id the store has no trace of at all (not in its events, index or ledger)."""
    with store.log.snapshot() as snap:
        return check_run(store, snap, run_id)


def verify_store(store: RunStore) -> list[Problem]:
    """Every problem in the store: each run (as verify_run), every run some record still names,
    and the run ledger's own chain."""
    with store.log.snapshot() as snap:
        return check_store(store, snap)


def check_run(store: RunStore, snap: Snapshot, run_id: str) -> list[Problem]:
    """verify_run over one snapshot of the log (store/anchors.py checks the same one)."""
    records = _read(snap, store.index, run_id)
    if not _known(snap, records, run_id):
        from .run_store import RunNotFound

        raise RunNotFound(
            f"no run {run_id!r} in the store at {store.root}: not in its events, its runs index "
            "or its run ledger"
        )
    return _check_run(store, snap, run_id, records)


def check_store(store: RunStore, snap: Snapshot) -> list[Problem]:
    """verify_store over one snapshot of the log."""
    records = _read(snap, store.index)
    problems = [
        Problem("ledger", s, what, "entry") for s, what in ledger.broken_links(records.ledger)
    ]
    for entry in records.ledger:
        adopted = entry.data.get("adopted")  # deleted before the ledger existed
        if entry.kind == ledger.DELETED and entry.run_id not in records.created and not adopted:
            problems.append(
                Problem(
                    "ledger",
                    entry.seq,
                    f"tombstone of {entry.run_id}, a run the ledger never recorded the creation of",
                    "entry",
                )
            )
    with_events = {r[0] for r in snap.query("SELECT DISTINCT run_id FROM events")}
    named = with_events | set(records.runs) | set(records.heads) | set(records.listed)
    named |= set(records.marks) | records.lines_apart | (records.claims - set(records.deleted))
    named |= set(records.created) - set(records.deleted)
    for run_id in sorted(named):
        problems.extend(_check_run(store, snap, run_id, records))
    return problems


def _known(snap: Snapshot, records: _Records, run_id: str) -> bool:
    return bool(
        records.traces(run_id)
        or run_id in records.created
        or run_id in records.deleted
        or snap.query("SELECT 1 FROM events WHERE run_id = ? LIMIT 1", (run_id,))
    )


def _read(snap: Snapshot, index: Any, run_id: str | None = None) -> _Records:
    """`index`: the backend's runs list (store.index)."""
    query = snap.query
    where, params = ("WHERE run_id = ?", (run_id,)) if run_id else ("", ())
    records = _Records()
    for rid, template_id, fingerprint, created_at in query(
        f"SELECT run_id, template_id, fingerprint, created_at FROM runs {where}", params
    ):
        records.runs[rid] = (template_id, fingerprint, created_at)
    for rid, seq, digest in query(f"SELECT run_id, seq, hash FROM run_heads {where}", params):
        records.heads[rid] = (seq, digest)
    rows = index.list_runs(snap, run_ids=[run_id] if run_id else None)
    records.listed = {row.run_id: row for row in rows}
    records.lines_apart = index.lines_apart(snap, run_id)
    for rid, seq, kind, at, status in query(
        f"SELECT run_id, seq, kind, at, status FROM idx_run_marks {where}", params
    ):
        records.marks.setdefault(rid, {})[seq] = (kind, at, status)
    records.claims = {
        r[0] for r in query(f"SELECT DISTINCT run_id FROM artifact_claims {where}", params)
    }
    records.ledger = ledger.entries(query, run_id)
    for entry in records.ledger:
        kind = records.created if entry.kind == ledger.CREATED else records.deleted
        kind.setdefault(entry.run_id, entry)
    return records


def _check_run(store: RunStore, snap: Snapshot, run_id: str, records: _Records) -> list[Problem]:
    rows = snap.raw_events(run_id)
    if not rows:
        return [_without_events(run_id, records)]
    chain = _chain(store, run_id, rows)
    return [
        *chain,
        *_head(run_id, rows, records.heads.get(run_id)),
        *_index_entry(run_id, rows[0], records.runs.get(run_id)),
        *_ledger_entries(run_id, rows, records),
        *_runs_list(store, run_id, rows, records, readable=not chain),
    ]


def _without_events(run_id: str, records: _Records) -> Problem:
    traces = records.traces(run_id)
    still = f"; still named by {', '.join(traces)}" if traces else ""
    if run_id in records.deleted:
        tombstone = Tombstone.of(records.deleted[run_id])
        if traces:
            return Problem(
                run_id, None, f"deleted ({tombstone}), yet still named by {', '.join(traces)}"
            )
        return Problem(
            run_id, None, f"deleted: {tombstone}; nothing of its record is left to verify"
        )
    if run_id in records.created:
        entry = records.created[run_id]
        return Problem(
            run_id,
            None,
            f"removed outside delete_run: the run ledger records its creation {entry.at} "
            f"(entry {entry.seq}) and no deletion, but the log holds none of its events{still}",
        )
    return Problem(run_id, None, f"has no events and no ledger entry{still}")


def _chain(store: RunStore, run_id: str, rows: list[tuple]) -> list[Problem]:
    problems: list[Problem] = []
    prev, expected_seq = GENESIS, 0
    for run, seq, at, kind, payload, prev_hash, digest in rows:
        if seq != expected_seq:
            gap = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
            problems.append(
                Problem(run_id, expected_seq, f"missing: events {gap} (next found is {seq})")
            )
        if prev_hash != prev:
            problems.append(
                Problem(run_id, seq, "does not follow the event before it (chain broken)")
            )
        if chain_hash(prev_hash, run, seq, at, kind, payload) != digest:
            problems.append(Problem(run_id, seq, f"{kind} was changed after it was written"))
        problems += _artifacts(store, run_id, seq, payload)
        prev, expected_seq = digest, seq + 1
    if rows[0][1] == 0 and rows[0][3] != "run_created":
        problems.append(
            Problem(run_id, 0, f"is {rows[0][3]}, not the run_created a run starts with")
        )
    return problems


def _artifacts(store: RunStore, run_id: str, seq: int, payload: str) -> list[Problem]:
    try:
        data = json.loads(payload)
    except ValueError:
        return [Problem(run_id, seq, "its payload is not JSON")]
    if not isinstance(data, dict):
        return []
    problems = []
    found = named_artifacts(data)
    for sha, what in found:
        on_disk = store.artifacts.hash_of(sha)
        path = store.artifacts.location(sha)
        if on_disk is None:
            problems.append(
                Problem(run_id, seq, f"artifact {sha[:12]} was removed ({what}): {path}")
            )
        elif on_disk != sha:
            problems.append(
                Problem(
                    run_id,
                    seq,
                    f"artifact {sha[:12]} was changed ({what}): {path} now hashes to "
                    f"{on_disk[:12]}",
                )
            )
    return problems


def named_artifacts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(sha256, what it is) of each artifact an event's payload names."""
    found = []
    owner = f"node {data.get('node_id')}" if data.get("node_id") else "the run"
    if data.get("artifact"):
        found.append((data["artifact"], f"table of {owner}"))
    if data.get("snapshot") and data.get("sha256"):
        found.append((data["sha256"], f"input snapshot of {owner}"))
    for node_id, record in (data.get("functions") or {}).items():  # run_created's captures
        if isinstance(record, dict) and record.get("artifact"):
            found.append((record["artifact"], f"captured function of node {node_id}"))
    return found


def _head(run_id: str, rows: list[tuple], head: tuple[int, str] | None) -> list[Problem]:
    last_seq, last_hash = rows[-1][1], rows[-1][6]
    if head is None:
        return [
            Problem(
                run_id, None, "has no recorded head (run_heads): where its chain ends is unknown"
            )
        ]
    seq, digest = head
    if seq > last_seq:
        gap = f"event {seq} is" if seq == last_seq + 1 else f"events {last_seq + 1}..{seq} are"
        return [
            Problem(
                run_id,
                last_seq + 1,
                f"truncated: {gap} missing; the log ends at event {last_seq} but the run had "
                f"reached event {seq} (its recorded head)",
            )
        ]
    if seq < last_seq:
        return [
            Problem(
                run_id,
                seq + 1,
                f"events {seq + 1}..{last_seq} lie beyond the run's recorded head (event {seq}): "
                "written outside the store",
            )
        ]
    if digest != last_hash:
        return [Problem(run_id, seq, f"differs from the run's recorded head (hash {digest[:12]})")]
    return []


def _index_entry(run_id: str, first: tuple, entry: tuple[str, str, str] | None) -> list[Problem]:
    if entry is None:
        return [Problem(run_id, None, "missing from the runs index (table runs)")]
    facts = _first_facts(first)
    if facts is None:
        return []
    names = ("template_id", "fingerprint", "created_at")
    return [
        Problem(
            run_id,
            None,
            f"the runs index (table runs) says {name} {indexed!r}, its run_created event says "
            f"{actual!r}",
        )
        for name, indexed, actual in zip(names, entry, facts, strict=True)
        if indexed != actual
    ]


def _first_facts(first: tuple) -> tuple[str, str, str] | None:
    """(template_id, fingerprint, created_at) as the run's first event has them."""
    _, seq, at, kind, payload, _, _ = first
    if seq != 0 or kind != "run_created":
        return None
    try:
        data: Any = json.loads(payload)
        return data["template_id"], data["fingerprint"], at
    except (ValueError, KeyError, TypeError):
        return None


def _ledger_entries(run_id: str, rows: list[tuple], records: _Records) -> list[Problem]:
    problems = []
    created = records.created.get(run_id)
    if created is None:
        problems.append(
            Problem(
                run_id,
                None,
                "the run ledger has no entry for its creation: put in the store outside it",
            )
        )
    else:
        data = created.data
        if data.get("first_hash") and rows[0][1] == 0 and data["first_hash"] != rows[0][6]:
            problems.append(
                Problem(
                    run_id,
                    0,
                    f"differs from the run ledger's record of the run's creation (entry "
                    f"{created.seq}): the chain was rewritten from its start",
                )
            )
        facts = _first_facts(rows[0])
        fields = ("template_id", "fingerprint", "created_at")
        for name, actual in zip(fields, facts or (), strict=False):
            if data.get(name) != actual:
                problems.append(
                    Problem(
                        run_id,
                        None,
                        f"the run ledger (entry {created.seq}) says {name} {data.get(name)!r}, its "
                        f"run_created event says {actual!r}",
                    )
                )
    if run_id in records.deleted:
        tombstone = Tombstone.of(records.deleted[run_id])
        problems.append(
            Problem(
                run_id, None, f"deleted ({tombstone}), yet {len(rows)} of its events are in the log"
            )
        )
    return problems


def _runs_list(
    store: RunStore, run_id: str, rows: list[tuple], records: _Records, *, readable: bool
) -> list[Problem]:
    """The runs list (what `px.runs()`, `prodex runs` and the runs-list widget show) must say
    what the events say."""
    problems = []
    events = {row[1]: row for row in rows}
    marks = records.marks.get(run_id, {})
    for seq, (kind, at, status) in sorted(marks.items()):
        row = events.get(seq)
        said = f"{kind} -> {status}" if kind == "run_status" else kind
        if row is None:
            problems.append(
                Problem(
                    run_id,
                    seq,
                    f"missing from the log, yet the runs list recorded it ({said} at {at})",
                )
            )
        elif (row[3], row[2]) != (kind, at):
            problems.append(
                Problem(run_id, seq, f"differs from the runs list's record of it ({said} at {at})")
            )
    for seq, row in events.items():
        if row[3] in _LISTED and seq not in marks:
            problems.append(Problem(run_id, seq, f"{row[3]} is missing from the runs list's marks"))
    if run_id in records.lines_apart:
        problems.append(
            Problem(run_id, None, "its line in the runs list (run_lines) is not its summary row's")
        )
    listed = records.listed.get(run_id)
    if listed is None:
        table = "run_summary" if store.log.dialect == "postgresql" else "idx_run_summary"
        problems.append(Problem(run_id, None, f"missing from the runs list ({table})"))
        return problems
    if not readable:
        return problems  # the events themselves are damaged: already named
    fold = RunFold(loader=store.load_table)
    try:
        for row in rows:
            fold.apply(decode_row(row))
        state = fold.snapshot()
    except (KeyError, ValueError, TypeError):  # events written through the API that no run
        return problems  # view can fold (tests make such): not the runs list's disagreement
    said = {
        "status": (listed.status, state.status),
        "pipeline": (listed.template_id, state.template_id),
        "fingerprint": (listed.fingerprint, state.fingerprint),
        "start": (listed.created_at, state.created_at),
        "gates resolved": ((listed.gates_resolved, listed.gates_total), state.gates_resolved),
        "last change": (listed.last_at, next(r[2] for r in reversed(rows) if r[3] in _LISTED)),
        "inputs": (listed.inputs, _shown_inputs(fold)),
    }
    problems += [
        Problem(run_id, None, f"the runs list says {name} {shown!r}, its events say {actual!r}")
        for name, (shown, actual) in said.items()
        if shown != actual
    ]
    return problems


def _shown_inputs(fold: RunFold) -> str:
    """The inputs as the runs list shows them, from the events: per source node, in the order
    handed in then read, the file's name, with its content hash's first 8 digits once read."""
    given = fold.created.inputs if fold.created is not None else {}
    shown = {node: _basename(str(path)) for node, path in given.items()}
    for node, read in fold.inputs.items():
        shown[node] = f"{_basename(read.path)} ({read.sha256[:8]})"
    return "; ".join(f"{node}={text}" for node, text in shown.items())


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]
