"""`prodex store copy`: a history moves SQLite -> PostgreSQL -> SQLite with the same chains,
every run verified on both sides; an interrupted copy re-runs without duplicates; a damaged
source or a clashing destination is refused before anything is written."""

from __future__ import annotations

import time

import pytest

import prodex_jupyter as px
from prodex_jupyter.cli.main import main as cli_main
from prodex_jupyter.store import RunStore, verify_store
from prodex_jupyter.store.copy import CopyRefused, copy_store
from prodex_jupyter.store.ledger import LedgerEntry, entries


def ledger_entries(store: RunStore) -> list[LedgerEntry]:
    return entries(store.log.query)


def _raw(store: RunStore) -> dict[str, list[tuple]]:
    with store.log.snapshot() as snap:
        return {run_id: [tuple(r) for r in snap.raw_events(run_id)] for run_id in store.run_ids()}


def _listed(store: RunStore) -> list[tuple]:
    return [tuple(r) for r in store.index.list_runs(store.log)]


def _tombstones(store: RunStore) -> list[tuple]:
    """Who deleted which run, when, why, and where its chain ended (not the ledger position,
    which is each store's own)."""
    return sorted(
        (t.run_id, t.at, t.by, t.reason, t.template_id, t.last_seq, t.last_hash, t.events)
        for t in store.tombstones()
    )


def _cli(*args: str, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    code = cli_main(list(args))
    return code, capsys.readouterr().out


@pytest.fixture
def history(tmp_path, demo_template) -> RunStore:
    """An SQLite store with a completed run, a run waiting on a gate and a deleted run."""
    store = RunStore(tmp_path / "sqlite")
    done = _completed(demo_template.run(store=store, policy=px.confirm_high))
    waiting = demo_template.run(store=store)
    waiting.wait()
    doomed = _completed(demo_template.run(store=store, policy=px.confirm_high))
    deadline = time.time() + 30
    while store.leases.holder(doomed.id) is not None:  # its executor lets go just after
        assert time.time() < deadline
        time.sleep(0.01)
    px.delete_run(doomed.id, store=store, reason="a test")
    assert store.run_ids() == [done.id, waiting.id]
    return store


def _completed(run: px.Run) -> px.Run:
    run.wait()
    while run.prompts:
        for gate_id in run.prompts[0].gate_ids:
            run.confirm(gate_id, note="ok", by="alice")
        run.wait()
    state = run.refresh().state
    assert run.status == "completed", {n: (r.state, r.error) for n, r in state.nodes.items()}
    return run


def test_a_history_goes_to_postgresql_and_back_unchanged(history, pg_server, tmp_path, capsys):
    url = pg_server.create_database()
    shared = tmp_path / "shared"
    code = cli_main(["store", "copy", str(history.root), url, "--dst-artifacts", str(shared)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 runs verified; 2 copied" in out and "every copied run verified" in out
    pg = RunStore(url, artifacts=shared)
    assert _raw(pg) == _raw(history)  # the same events: times, payloads, hashes
    assert verify_store(pg) == []
    assert _listed(pg) == _listed(history)  # the runs list says the same on both backends
    done = history.run_ids()[0]
    table = px.load_run(done, store=pg).value("overruns_by_shift")  # read from the copied artifact
    assert table.equals(px.load_run(done, store=history).value("overruns_by_shift"))

    back = RunStore(tmp_path / "back")
    assert copy_store(pg, back).runs_written == 2
    assert _raw(back) == _raw(history) and verify_store(back) == []
    assert _listed(back) == _listed(history)

    again = cli_main(["store", "copy", str(history.root), url, "--dst-artifacts", str(shared)])
    out = capsys.readouterr().out
    assert again == 0 and "0 copied" in out and "1 tombstones of deleted runs, 0 copied" in out
    assert _raw(pg) == _raw(history)  # nothing duplicated
    assert _tombstones(pg) == _tombstones(history) == _tombstones(back)
    assert len(pg.tombstones()) == 1


def test_tombstones_of_deleted_runs_are_copied_both_ways(
    history, pg_server, tmp_path, capsys, monkeypatch
):
    url = pg_server.create_database()
    shared = tmp_path / "shared"
    monkeypatch.setenv("PRODEX_ARTIFACTS", str(shared))
    code, out = _cli("store", "copy", str(history.root), url, capsys=capsys)
    assert code == 0, out
    assert "1 tombstones of deleted runs, 1 copied" in out
    [gone] = history.tombstones()
    assert gone.by and gone.reason == "a test"
    pg = RunStore(url, artifacts=shared)
    assert _tombstones(pg) == _tombstones(history)
    # `prodex verify` on the destination tells the same history: runs intact, the same tombstone
    for where in (str(history.root), url):
        code, out = _cli("--store", where, "verify", capsys=capsys)
        assert code == 0 and "2 runs intact, 1 tombstones of deleted runs" in out, out
        code, out = _cli("--store", where, "verify", gone.run_id, capsys=capsys)
        said = f"run {gone.run_id} deleted {gone.at} by {gone.by} (a test): {gone.events} events"
        assert said in out and gone.last_hash[:12] in out, out

    # PostgreSQL -> SQLite: a run deleted in PostgreSQL after the first copy
    done = history.run_ids()[0]
    own = {r.artifact for r in pg.state(done).results.values() if r.artifact}
    px.delete_run(done, store=pg, by="carol@team", reason="superseded")
    back = RunStore(tmp_path / "back")
    copied = copy_store(pg, back)
    assert (copied.runs_written, copied.tombstones, copied.tombstones_written) == (1, 2, 2)
    assert _tombstones(back) == _tombstones(pg) and verify_store(back) == []
    # ... and into the SQLite store that still holds it: deleted there too, with the same
    # tombstone, its artifacts used by no other run removed
    assert any(history.artifacts.exists(sha) for sha in own)
    copied = copy_store(pg, history)
    assert (copied.runs_written, copied.tombstones_written) == (0, 1)
    assert history.run_ids() == pg.run_ids() == back.run_ids()
    assert _tombstones(history) == _tombstones(pg)
    assert verify_store(history) == [] and verify_store(pg) == []
    kept = {r.artifact for r in history.state(history.run_ids()[0]).results.values()}
    assert not any(history.artifacts.exists(sha) for sha in own - kept)
    # re-run in both directions: nothing more, nothing twice
    for src, dst in ((pg, history), (history, pg), (pg, back)):
        again = copy_store(src, dst)
        assert (again.runs_written, again.tombstones_written) == (0, 0)
    assert len(history.tombstones()) == len(pg.tombstones()) == len(back.tombstones()) == 2
    assert all(e.seq == i for i, e in enumerate(ledger_entries(history)))


def test_an_interrupted_copy_is_re_run_without_duplicates(history, pg_server, tmp_path):
    url = pg_server.create_database()
    pg = RunStore(url, artifacts=tmp_path / "shared")

    def stop_after_first(message: str) -> None:
        raise KeyboardInterrupt(message)

    with pytest.raises(KeyboardInterrupt):
        copy_store(history, pg, progress=stop_after_first)
    assert len(pg.run_ids()) == 1
    # the source moved on meanwhile: its waiting run got a decision
    waiting = history.run_ids()[1]
    px.load_run(waiting, store=history).reject("throughput_shape", note="bad", by="bob")
    done = copy_store(history, pg)
    assert done.runs_written == 1  # the first run was there already
    assert _raw(pg) == _raw(history) and verify_store(pg) == []
    again = copy_store(history, pg)
    assert again.runs_written == 0 and again.events == 0
    # a run that grew in the source since: only its new events are added
    px.load_run(waiting, store=history).reopen("throughput_shape", note="look again", by="bob")
    grown = copy_store(history, pg)
    assert (grown.runs_written, grown.events) == (1, 1)
    assert _raw(pg) == _raw(history) and verify_store(pg) == []


def test_a_damaged_source_is_refused_before_anything_is_written(history, tmp_path, capsys):
    run_id = history.run_ids()[0]
    sha = next(r.artifact for r in history.state(run_id).results.values() if r.artifact)
    history.artifacts.path(sha).write_bytes(b"not the table")
    target = tmp_path / "target"
    assert cli_main(["store", "copy", str(history.root), str(target)]) == 1
    out = capsys.readouterr().out
    assert "problem(s); nothing was copied" in out and f"artifact {sha[:12]} was changed" in out
    assert RunStore(target).run_ids() == []


def test_a_run_with_another_history_in_the_destination_is_refused(history, tmp_path):
    target = RunStore(tmp_path / "target")
    copy_store(history, target)
    run_id = history.run_ids()[1]
    px.load_run(run_id, store=target).reject("throughput_shape", note="elsewhere", by="eve")
    px.load_run(run_id, store=history).reject("throughput_shape", note="here", by="bob")
    with pytest.raises(CopyRefused, match=f"run {run_id} differs in the destination"):
        copy_store(history, target)
