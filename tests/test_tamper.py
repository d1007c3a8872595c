"""Tamper evidence: what someone with write access to the store does, and what names it.

On both backends (tests/conftest.py). On SQLite every attack edits the file directly, the way a
person with the file would: with sqlite3, dropping whichever trigger stands in the way. On
PostgreSQL the same attacks are SQL run as the database's owner, who can switch the guarding
triggers off (`ALTER TABLE ... DISABLE TRIGGER`; a superuser could also set
`session_replication_role = replica`, tests/test_postgres_store.py). `verify` must name the run,
the event and what is missing or different, in the same words on both; what only an anchor kept
outside the store can catch is shown to pass the in-store checks and then fail against the anchor.

What differs on PostgreSQL, by design: removing a `runs` row does not take the runs list's rows
(`run_summary`, `gate_states`, the marks) with it, where SQLite's trigger removes
`idx_run_summary` and the marks. The
attacks below do on each backend what it takes there to reach the same end.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import prodex_jupyter as px
from prodex_jupyter.cli.main import main as cli_main
from prodex_jupyter.store import (
    AnchorError,
    AnchorRefused,
    RunNotFound,
    take_anchor,
    verify_against,
    verify_run,
    verify_store,
)
from prodex_jupyter.store.event_log import chain_hash

RULES = "- required columns: k, a\n- at least 1 rows"


def completed(tmp_path: Path, store: px.RunStore, rows: int = 5) -> px.Run:
    """A real run: a gated CSV source, a SQL table, a python scalar, an output."""
    (tmp_path / "t.csv").write_text("k,a\n" + "".join(f"k{i},{i}\n" for i in range(rows)))
    tpl = px.Template("tamper", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": RULES})
    tpl.sql("rows", "SELECT k, a FROM t")

    @tpl.python("n_rows")
    def n_rows(rows):
        return len(rows)

    tpl.output("total", sql="SELECT sum(a) AS total FROM rows")
    run = tpl.run(store=store).wait(timeout=30)
    run.confirm("g", note="fine").wait(timeout=30)
    assert run.status == "completed"
    return run


# The SQLite store's guarding triggers, and the PostgreSQL trigger doing the same job.
PG_TRIGGERS = {
    "events_append_only_delete": ("events", "events_append_only"),
    "events_append_only_update": ("events", "events_append_only"),
    "runs_no_delete": ("runs", "runs_fixed"),
    "runs_no_update": ("runs", "runs_fixed"),
    "run_heads_forward": ("run_heads", "run_heads_forward"),
    "run_heads_no_delete": ("run_heads", "run_heads_forward"),
    "run_ledger_no_update": ("run_ledger", "run_ledger_append_only"),
    "run_ledger_no_delete": ("run_ledger", "run_ledger_append_only"),
}
# The runs list's own rows: SQLite's deleting a `runs` row takes idx_run_summary and the marks with
# it (a trigger); on PostgreSQL they are rows of their own, which an attacker deletes as well.
PG_LIST_TABLES = ("run_summary", "run_lines", "gate_states", "idx_run_marks", "artifact_refs")


def on_postgres(store: px.RunStore) -> bool:
    return store.log.dialect == "postgresql"


class Sql:
    """A connection to the store's database behind the store's back, taking `?` placeholders:
    the SQLite file through sqlite3, or the PostgreSQL database as its owner."""

    def __init__(self, store: px.RunStore) -> None:
        self.pg = on_postgres(store)
        self.con = psycopg.connect(store.log.url) if self.pg else sqlite3.connect(store.log.path)

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.pg:
            cur = self.con.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
        return self.con.execute(sql, params).fetchall()

    def without(self, *triggers: str) -> None:
        """Switch the named (SQLite) triggers off: dropped, or disabled on PostgreSQL."""
        for name in triggers:
            if self.pg:
                table, trigger = PG_TRIGGERS[name]
                self.con.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            else:
                self.con.execute(f"DROP TRIGGER {name}")

    def commit(self) -> None:
        self.con.commit()
        self.con.close()


def attack(store: px.RunStore, *statements: tuple[str, tuple], drop: tuple[str, ...] = ()) -> None:
    """Edit the store behind its back, switching the named triggers off first."""
    sql = Sql(store)
    sql.without(*drop)
    for statement, params in statements:
        sql.execute(statement, params)
    sql.commit()


def refused(store: px.RunStore, statement: str, params: tuple, match: str) -> None:
    """The database itself refuses the statement (its triggers), with a message matching."""
    sql = Sql(store)
    error = psycopg.errors.IntegrityConstraintViolation if sql.pg else sqlite3.IntegrityError
    try:
        with pytest.raises(error, match=match):
            sql.execute(statement, params)
    finally:
        sql.con.close()


def remove_run(store: px.RunStore, run_id: str, *also: str) -> None:
    """A run's rows deleted outside delete_run (and from the tables `also` named)."""
    tables = ["events", "runs", "run_heads", *also]
    if on_postgres(store):
        tables = [t for t in tables if t != "idx_run_summary"] + [
            t for t in PG_LIST_TABLES if t not in tables
        ]
    attack(
        store,
        *((f"DELETE FROM {table} WHERE run_id = ?", (run_id,)) for table in tables),
        drop=("events_append_only_delete", "runs_no_delete", "run_heads_no_delete")
        + (("run_ledger_no_delete",) if "run_ledger" in also else ()),
    )


def rehash(store: px.RunStore, run_id: str, seq: int, payload: str) -> None:
    """The forger's move: change one payload and re-compute the chain after it, and the head."""
    con = Sql(store)
    con.without("events_append_only_update", "run_heads_forward")
    con.execute(
        "UPDATE events SET payload = ? WHERE run_id = ? AND seq = ?", (payload, run_id, seq)
    )
    rows = con.execute(
        "SELECT seq, at, kind, payload, prev_hash FROM events WHERE run_id = ? AND seq >= ? "
        "ORDER BY seq",
        (run_id, seq),
    )
    prev = rows[0][4]
    for s, at, kind, text, _ in rows:
        digest = chain_hash(prev, run_id, s, at, kind, text)
        con.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE run_id = ? AND seq = ?",
            (prev, digest, run_id, s),
        )
        prev = digest
    con.execute("UPDATE run_heads SET hash = ? WHERE run_id = ?", (prev, run_id))
    con.commit()


def texts(problems) -> list[str]:
    return [str(p) for p in problems]


def test_an_intact_store_verifies_and_its_records_agree(tmp_path, store):
    run = completed(tmp_path, store)
    assert verify_store(store) == [] and verify_run(store, run.id) == []
    last = store.events(run.id)[-1]
    assert store.log.query("SELECT seq, hash FROM run_heads WHERE run_id = ?", (run.id,)) == [
        (last.seq, last.hash)
    ]


def test_a_cut_tail_is_named_with_the_events_missing(tmp_path, store, capsys):
    """The issue's case: the last events deleted; the runs list said completed, show executing."""
    run = completed(tmp_path, store)
    last = store.events(run.id)[-1].seq
    attack(
        store,
        ("DELETE FROM events WHERE run_id = ? AND seq >= ?", (run.id, last - 1)),
        drop=("events_append_only_delete",),
    )
    found = texts(verify_run(store, run.id))
    assert (
        f"{run.id} event {last - 1}: truncated: events {last - 1}..{last} are missing; the log "
        f"ends at event {last - 2} but the run had reached event {last} (its recorded head)"
    ) in found
    # the runs list still holds the final status: the disagreement is named too
    assert any(
        f"{run.id} event {last}: missing from the log, yet the runs list" in t for t in found
    )
    assert f"{run.id}: the runs list says status 'completed', its events say 'executing'" in found
    assert cli_main(["--store", store.location, "verify"]) == 1
    out = capsys.readouterr().out
    assert "problem(s) in 1 runs" in out and f"{run.id} event {last - 1}: truncated" in out


def test_a_cut_tail_with_every_index_fixed_is_caught_by_the_anchor(tmp_path, store):
    """A careful forger also moves the head back, drops the runs list's marks and sets its summary
    row back: the store is consistent again, and only the anchor taken before says what went."""
    run = completed(tmp_path, store)
    anchor = take_anchor(store)
    events = store.events(run.id)
    keep = events[-3]
    head = (
        "UPDATE run_heads SET seq = ?, hash = ? WHERE run_id = ?",
        (keep.seq, keep.hash, run.id),
    )
    if on_postgres(store):
        # the runs list is a table of its own: have the database derive it again from the
        # events kept (deleted with the run's events, which are then inserted again)
        kept = store.log.query(
            "SELECT * FROM events WHERE run_id = ? AND seq <= ? ORDER BY seq", (run.id, keep.seq)
        )
        attack(
            store,
            ("DELETE FROM events WHERE run_id = ?", (run.id,)),
            *((f"DELETE FROM {t} WHERE run_id = ?", (run.id,)) for t in PG_LIST_TABLES),
            *(("INSERT INTO events VALUES (?,?,?,?,?,?,?)", row) for row in kept),
            head,
            drop=("events_append_only_delete", "run_heads_forward"),
        )
    else:
        attack(
            store,
            ("DELETE FROM events WHERE run_id = ? AND seq > ?", (run.id, keep.seq)),
            ("DELETE FROM idx_run_marks WHERE run_id = ? AND seq > ?", (run.id, keep.seq)),
            (  # the summary row back to the kept marks' last
                "UPDATE idx_run_summary SET (status, last_at, resolved) = (SELECT status, at, "
                "resolved FROM idx_run_marks WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1) "
                "WHERE run_id = ?1",
                (run.id,),
            ),
            head,
            drop=("events_append_only_delete", "run_heads_forward"),
        )
    assert verify_store(store) == []  # nothing inside the store can tell any more
    found = texts(verify_against(store, anchor))
    assert found == [
        f"{run.id} event {events[-1].seq}: missing: anchor {anchor.digest[:12]} ({anchor.at}) "
        f"saw the run reach it; the log now ends at event {keep.seq} (truncated)"
    ]


def test_a_whole_run_removed_outside_delete_run_is_named(tmp_path, store, capsys):
    kept, gone = completed(tmp_path, store), completed(tmp_path, store, rows=7)
    remove_run(store, gone.id)
    assert store.run_ids() == [kept.id]  # the runs list no longer shows it
    (problem,) = verify_store(store)
    assert problem.run_id == gone.id
    assert "removed outside delete_run: the run ledger records its creation" in problem.what
    assert "and no deletion, but the log holds none of its events" in problem.what
    assert "artifact claims" in problem.what  # a trace the attacker left
    assert cli_main(["--store", store.location, "verify"]) == 1
    assert f"{gone.id}: removed outside delete_run" in capsys.readouterr().out


def test_removing_the_ledger_entry_too_breaks_the_ledger_chain(tmp_path, store):
    gone, kept = completed(tmp_path, store), completed(tmp_path, store, rows=7)
    remove_run(store, gone.id, "artifact_claims", "run_ledger")
    found = texts(verify_store(store))
    assert "ledger entry 0: entries 0 are missing (next entry found is 1)" in found
    assert "ledger entry 1: does not follow the entry before it (chain broken)" in found
    assert verify_run(store, kept.id) == []


def test_the_newest_run_removed_with_every_trace_is_caught_by_the_anchor(tmp_path, store):
    """Its ledger entry was the last: no chain breaks. The anchor saw the ledger and the run."""
    kept = completed(tmp_path, store)
    gone = completed(tmp_path, store, rows=7)
    anchor = take_anchor(store)
    last = store.events(gone.id)[-1].seq
    remove_run(store, gone.id, "artifact_claims", "run_ledger", "idx_run_summary", "idx_run_marks")
    assert verify_store(store) == []
    found = f"anchor {anchor.digest[:12]} ({anchor.at})"
    assert texts(verify_against(store, anchor)) == [
        f"ledger entry 1: missing: {found} recorded the ledger up to it (run creations and "
        "tombstones were cut)",
        f"{gone.id}: removed: {found} saw it at event {last}, and no tombstone records its "
        "deletion",
    ]
    assert verify_against(store, anchor, kept.id) == []


def test_an_edited_runs_index_is_named(tmp_path, store):
    run, other = completed(tmp_path, store), completed(tmp_path, store, rows=3)
    # on PostgreSQL the runs list's row stays when the runs row goes: the attacker removes it too
    list_row = ("DELETE FROM run_summary WHERE run_id = ?", (other.id,))
    attack(
        store,
        ("UPDATE runs SET template_id = 'payroll' WHERE run_id = ?", (run.id,)),
        ("DELETE FROM runs WHERE run_id = ?", (other.id,)),
        (
            "UPDATE idx_run_marks SET status = 'failed' WHERE run_id = ? AND kind = 'run_status'",
            (other.id,),
        ),
        *([list_row] if on_postgres(store) else []),
        drop=("runs_no_update", "runs_no_delete"),
    )
    found = texts(verify_run(store, run.id))
    assert (
        f"{run.id}: the runs index (table runs) says template_id 'payroll', its run_created "
        "event says 'tamper'"
    ) in found
    found = texts(verify_run(store, other.id))
    assert f"{other.id}: missing from the runs index (table runs)" in found
    table = "run_summary" if on_postgres(store) else "idx_run_summary"
    assert f"{other.id}: missing from the runs list ({table})" in found  # went with it


def test_a_runs_list_that_disagrees_with_the_events_is_named(tmp_path, store):
    run = completed(tmp_path, store)
    # the runs list's summary row (SQLite idx_run_summary, PostgreSQL run_summary)
    table, inputs = (
        ("run_summary", "inputs_shown") if on_postgres(store) else ("idx_run_summary", "inputs")
    )
    attack(
        store,
        (
            f"UPDATE {table} SET status = 'failed', resolved = 0, {inputs} = 'x=y.csv', "
            "last_at = created_at WHERE run_id = ?",
            (run.id,),
        ),
    )
    assert list(px.runs(store=store)["status"]) == ["failed"]
    last, sha = store.events(run.id)[-1].at, run.inputs["t"].sha256[:8]
    assert texts(verify_run(store, run.id)) == [
        f"{run.id}: the runs list says status 'failed', its events say 'completed'",
        f"{run.id}: the runs list says gates resolved (0, 1), its events say (1, 1)",
        f"{run.id}: the runs list says last change {run.state.created_at!r}, its events say "
        f"{last!r}",
        f"{run.id}: the runs list says inputs 'x=y.csv', its events say 't=t.csv ({sha})'",
    ]


def test_a_list_line_that_disagrees_with_its_summary_row_is_named(tmp_path, store):
    """PostgreSQL keeps the line `px.runs()` reads apart from the summary row it is made of
    (run_lines, by a trigger on run_summary): a line changed behind that trigger shows in the
    list, and verify names the run. SQLite generates the line from the row: nothing apart."""
    if not on_postgres(store):
        pytest.skip("SQLite's list line is a column generated from the summary row itself")
    run = completed(tmp_path, store)
    attack(
        store,
        (
            "UPDATE run_lines SET line = convert_to(replace(convert_from(line, 'UTF8'), "
            "'completed', 'failed'), 'UTF8') WHERE run_id = ?",
            (run.id,),
        ),
    )
    assert list(px.runs(store=store)["status"]) == ["failed"]
    expected = [f"{run.id}: its line in the runs list (run_lines) is not its summary row's"]
    assert texts(verify_run(store, run.id)) == expected
    assert texts(verify_store(store)) == expected
    attack(store, ("DELETE FROM run_lines WHERE run_id = ?", (run.id,)))
    assert px.runs(store=store).empty
    assert texts(verify_store(store)) == expected


def test_a_rehashed_chain_passes_in_the_store_and_fails_against_the_anchor(tmp_path, store, capsys):
    run = completed(tmp_path, store)
    assert cli_main(["--store", store.location, "verify", "--anchor"]) == 0
    out = capsys.readouterr().out
    digest = out.split("anchor ", 1)[1].split()[0]
    assert len(digest) == 64 and "Keep this digest outside the store" in out
    decided = next(e for e in store.events(run.id) if e.kind == "gate_decided")
    payload = json.loads(
        store.log.query(
            "SELECT payload FROM events WHERE run_id = ? AND seq = ?", (run.id, decided.seq)
        )[0][0]
    )
    payload["note"], payload["by"] = "looked at every row", "auditor"
    rehash(store, run.id, decided.seq, json.dumps(payload, sort_keys=True, separators=(",", ":")))
    assert px.load_run(run.id, store=store).state.gates["g"].last_decision.by == "auditor"
    assert verify_store(store) == []  # the forgery is consistent inside the store
    last = store.events(run.id)[-1].seq
    assert cli_main(["--store", store.location, "verify", "--against", digest]) == 1
    out = capsys.readouterr().out
    assert f"{run.id} event {last}: differs from anchor {digest[:12]}" in out
    assert "the run's events up to it were rewritten and the chain re-hashed" in out


def test_rewriting_a_run_from_its_first_event_is_caught_by_the_ledger(tmp_path, store):
    run = completed(tmp_path, store)
    first = store.log.query("SELECT payload FROM events WHERE run_id = ? AND seq = 0", (run.id,))
    payload = json.loads(first[0][0])
    payload["base_dir"] = "/elsewhere"
    rehash(store, run.id, 0, json.dumps(payload, sort_keys=True, separators=(",", ":")))
    (problem,) = verify_run(store, run.id)
    assert problem.seq == 0 and "differs from the run ledger's record of the run's creation" in (
        problem.what
    )


def test_delete_leaves_a_chained_tombstone_that_verify_checks(tmp_path, store, capsys):
    kept, doomed = completed(tmp_path, store), completed(tmp_path, store, rows=9)
    last = store.events(doomed.id)[-1]
    deletion = px.delete_run(doomed.id, store=store, by="ana", reason="test data")
    tombstone = deletion.tombstone
    assert (tombstone.by, tombstone.reason) == ("ana", "test data")
    assert (tombstone.last_seq, tombstone.last_hash) == (last.seq, last.hash)
    assert store.tombstones() == [tombstone] and verify_store(store) == []
    assert texts(verify_run(store, doomed.id)) == [
        f"{doomed.id}: deleted: {tombstone}; nothing of its record is left to verify"
    ]
    assert "by ana (test data)" in str(tombstone)
    # tombstones are append-only ...
    refused(store, "UPDATE run_ledger SET detail = '{}'", (), "append-only")
    refused(store, "DELETE FROM run_ledger WHERE run_id = ?", (doomed.id,), "append-only")
    # ... and chained: one edited behind the triggers is named
    detail = json.loads(
        store.log.query(
            "SELECT detail FROM run_ledger WHERE run_id = ? AND kind = 'run_deleted'", (doomed.id,)
        )[0][0]
    )
    detail["by"] = "nobody"
    attack(
        store,
        (
            "UPDATE run_ledger SET detail = ? WHERE run_id = ? AND kind = 'run_deleted'",
            (json.dumps(detail), doomed.id),
        ),
        drop=("run_ledger_no_update",),
    )
    assert texts(verify_store(store)) == [
        f"ledger entry {tombstone.ledger_seq}: run_deleted of {doomed.id} was changed after it "
        "was written"
    ]
    assert verify_run(store, kept.id) == []
    # the command line records who and why too
    assert cli_main(["--store", store.location, "delete", kept.id, "--yes", "--reason", "old"]) == 0
    assert "tombstone: ledger entry" in capsys.readouterr().out
    assert store.tombstones(kept.id)[0].reason == "old"


def test_a_deleted_run_put_back_is_named(tmp_path, store):
    run = completed(tmp_path, store)
    rows = store.log.query("SELECT * FROM events WHERE run_id = ?", (run.id,))
    px.delete_run(run.id, store=store)
    attack(store, *(("INSERT INTO events VALUES (?,?,?,?,?,?,?)", row) for row in rows))
    found = texts(verify_store(store))
    assert any(
        t.startswith(f"{run.id}: deleted (run {run.id} deleted ")
        and f"yet {len(rows)} of its events are in the log" in t
        for t in found
    )


def test_the_anchor_allows_what_happens_after_it(tmp_path, store, capsys):
    first, second = completed(tmp_path, store), completed(tmp_path, store, rows=3)
    anchor_file = tmp_path / "anchor.json"
    assert cli_main(["--store", store.location, "verify", "--anchor", str(anchor_file)]) == 0
    digest = json.loads(anchor_file.read_text())["digest"]
    assert digest in capsys.readouterr().out
    third = completed(tmp_path, store, rows=4)  # a run added since
    first.reopen("g", note="look again")  # an event appended since
    px.delete_run(second.id, store=store, reason="superseded")  # a run deleted with a tombstone
    assert verify_against(store, digest) == [] and verify_against(store, str(anchor_file)) == []
    assert cli_main(["--store", store.location, "verify", "--against", digest]) == 0
    out = capsys.readouterr().out
    assert "verify: 2 runs intact, 1 tombstones of deleted runs" in out
    assert f"nothing recorded before anchor {digest}" in out
    assert "since the anchor: 1 runs added, 1 runs appended to, 1 runs deleted" in out
    assert verify_against(store, digest, third.id) == []


def test_an_event_appended_after_the_anchor_and_backdated_is_named(tmp_path, store):
    """Appending is allowed after an anchor; pretending the appended event is older is not."""
    run = completed(tmp_path, store)
    anchor = take_anchor(store)
    last = store.events(run.id)[-1]
    at, payload = "2026-01-05T09:00:00.000000+00:00", '{"node_ids":["rows"]}'
    digest = chain_hash(last.hash, run.id, last.seq + 1, at, "node_started", payload)
    attack(
        store,
        (
            "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
            (run.id, last.seq + 1, at, "node_started", payload, last.hash, digest),
        ),
        ("UPDATE run_heads SET seq = ?, hash = ? WHERE run_id = ?", (last.seq + 1, digest, run.id)),
    )
    assert verify_store(store) == []  # a consistent append, as far as the store can tell
    assert texts(verify_against(store, anchor)) == [
        f"{run.id} event {last.seq + 1}: dated {at}, before anchor {anchor.digest[:12]} "
        f"({anchor.at}), yet the anchor does not cover it: written after the anchor and backdated"
    ]


def test_anchors_that_cannot_vouch_are_refused(tmp_path, store, capsys):
    run = completed(tmp_path, store)
    anchor_file = tmp_path / "anchor.json"
    assert cli_main(["--store", store.location, "verify", "--anchor", str(anchor_file)]) == 0
    # an anchor file edited to match a forgery no longer gives its own digest
    body = json.loads(anchor_file.read_text())
    body["heads"][0][2] = "0" * 64
    anchor_file.write_text(json.dumps(body))
    assert cli_main(["--store", store.location, "verify", "--against", str(anchor_file)]) == 2
    assert "the anchor was edited" in capsys.readouterr().err
    with pytest.raises(AnchorError, match="the anchor was edited"):
        verify_against(store, str(anchor_file))
    # a digest the store has no record of: named, never passed
    assert cli_main(["--store", store.location, "verify", "--against", "ab" * 32]) == 1
    assert f"anchor: {'ab' * 6} is not recorded in the store" in capsys.readouterr().out
    assert cli_main(["--store", store.location, "verify", "--against", "nonsense"]) == 2
    # a damaged store is not anchored: the anchor would vouch for the damage
    attack(store, ("DELETE FROM idx_run_marks WHERE run_id = ?", (run.id,)))
    with pytest.raises(AnchorRefused) as refused:
        take_anchor(store)
    assert any("missing from the runs list's marks" in str(p) for p in refused.value.problems)
    assert cli_main(["--store", store.location, "verify", "--anchor"]) == 1
    assert "anchor " not in capsys.readouterr().out.split("problem(s)")[0]


def test_a_changed_or_removed_parquet_artifact_is_named(tmp_path, store):
    run = completed(tmp_path, store)
    sha = run.results["rows"].artifact
    seq = next(
        e.seq
        for e in store.events(run.id)
        if getattr(e.event, "node_id", "") == "rows" and e.kind == "node_produced"
    )
    path = store.artifacts.path(sha)
    pq.write_table(pa.table({"k": ["k0"], "a": [999]}), path)  # still a valid table
    assert (
        f"{run.id} event {seq}: artifact {sha[:12]} was changed (table of node rows): {path}"
        in ("\n".join(texts(verify_run(store, run.id))))
    )
    path.unlink()
    assert (
        f"{run.id} event {seq}: artifact {sha[:12]} was removed (table of node rows): {path}"
        in (texts(verify_run(store, run.id)))
    )


def test_a_dataframe_input_snapshot_changed_is_named(tmp_path, store):
    tpl = px.Template("frame", base_dir=tmp_path)
    tpl.source("t", "t.csv")
    tpl.output("total", sql="SELECT sum(a) AS total FROM t")
    run = tpl.run(store=store, inputs={"t": pd.DataFrame({"a": [1, 2]})}, policy=px.confirm_high)
    run.wait(timeout=30)
    if run.prompts:
        run.confirm("t_input").wait(timeout=30)
    sha = run.state.inputs["t"].sha256
    store.artifacts.path(sha).write_bytes(b"other")
    assert any(
        f"artifact {sha[:12]} was changed (input snapshot of node t)" in t
        for t in texts(verify_run(store, run.id))
    )


def test_unknown_runs_are_an_error_not_a_verdict(store, capsys):
    with pytest.raises(RunNotFound, match="not in its events, its runs index or its run ledger"):
        verify_run(store, "run-nope")
    assert cli_main(["--store", store.location, "verify", "run-nope"]) == 2
    assert "no run 'run-nope'" in capsys.readouterr().err


def test_the_store_refuses_removing_a_run_entry_or_moving_a_head_back(tmp_path, store):
    run = completed(tmp_path, store)
    take_anchor(store)
    refused(store, "DELETE FROM runs WHERE run_id = ?", (run.id,), "goes only with its whole run")
    refused(store, "UPDATE run_heads SET seq = 0 WHERE run_id = ?", (run.id,), "only moves forward")
    refused(store, "DELETE FROM run_heads WHERE run_id = ?", (run.id,), "only with its whole run")
    refused(store, "DELETE FROM anchors", (), "anchors.* cannot be deleted")


def test_a_store_from_before_the_ledger_is_adopted(tmp_path, store):
    """Stores written before run heads and the ledger: opened, they get both, built from their
    events and their former run_deletions table, and verify clean."""
    kept, doomed = completed(tmp_path, store), completed(tmp_path, store, rows=3)
    px.delete_run(doomed.id, store=store)
    store.log.close()
    con = sqlite3.connect(store.root / "events.sqlite")
    for trigger in (
        "events_append_only_delete",
        "runs_no_delete",
        "run_heads_forward",
        "run_heads_no_delete",
        "run_ledger_no_update",
        "run_ledger_no_delete",
    ):
        con.execute(f"DROP TRIGGER {trigger}")
    con.executescript(
        "DROP TABLE run_heads; DROP TABLE run_ledger;"
        "CREATE TABLE run_deletions (run_id TEXT PRIMARY KEY, at TEXT NOT NULL);"
        "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events "
        "WHEN OLD.run_id NOT IN (SELECT run_id FROM run_deletions) "
        "BEGIN SELECT RAISE(ABORT, 'old'); END;"
    )
    con.execute("INSERT INTO run_deletions VALUES (?, '2026-01-01T00:00:00+00:00')", (doomed.id,))
    con.commit()
    con.close()
    reopened = px.RunStore(store.root)
    assert verify_store(reopened) == []
    (tombstone,) = reopened.tombstones()
    assert tombstone.run_id == doomed.id and tombstone.by.startswith("unknown")
    tables = {r[0] for r in reopened.log.query("SELECT name FROM sqlite_master")}
    assert "run_deletions" not in tables and {"run_heads", "run_ledger"} <= tables
    px.delete_run(kept.id, store=reopened)  # the delete trigger now reads the ledger
    assert reopened.run_ids() == [] and verify_store(reopened) == []


def test_verify_reads_one_moment_while_runs_are_written(tmp_path, store):
    """verify compares several tables; appends landing between its reads must not look like
    tampering (events beyond a head, marks missing). It reads one snapshot of the log."""
    import threading

    from prodex_jupyter.store import GateDecided, RunCreated, RunStatusChanged

    gates = [{"gate_id": "g", "node_id": "n", "name": "G"}]
    run_id = store.create_run(RunCreated("busy", "f" * 64, {}, {}, [], gates)).run_id
    stop, errors = threading.Event(), []

    def write() -> None:
        writer = px.RunStore(store.location)  # another connection, as another process would
        try:
            for i in range(10**9):
                if stop.is_set():
                    return
                writer.append(run_id, RunStatusChanged("executing"))
                writer.append(run_id, GateDecided("g", "confirmed", "w", "", "high"))
                if i % 20 == 0:
                    writer.create_run(RunCreated("busy", "f" * 64, {}, {}, [], []))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        found = [texts(verify_store(store)) for _ in range(25)]
    finally:
        stop.set()
        thread.join()
    assert not errors and len(store.events(run_id)) > 40
    assert [f for f in found if f] == []
