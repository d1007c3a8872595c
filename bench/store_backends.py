"""The two store backends side by side: SQLite (a folder) and PostgreSQL (a throwaway server this
script starts, as the tests do, unless --url names one).

    python bench/store_backends.py [--processes 4] [--runs 50] [--listed 100000] [--decisions 10]
                                   [--rounds 7] [--cache DIR | --no-cache]
                                   [--parts concurrency list latency]

1. Concurrency: --processes processes each start --runs runs of a small gated template at once
   (the gate confirmed by the confirm_high policy), on each backend. No event may be lost: every
   run must be completed, its chain verified, and the store must hold exactly the events the
   processes saw written. Reports wall time per run (all processes' runs over the elapsed time)
   and each process's median per run.
2. The runs list: px.runs() over --listed runs, median of --rounds rounds; goal < 0.3 s. The
   runs are written through the store's own write functions into SQLite, many per transaction,
   once: the file is kept under --cache (by count and index layout) for the next time. The
   PostgreSQL store gets that store's rows by COPY, each append wave spread over transactions
   as a store in use receives them (its trigger derives the list; `copy_rows`). Baseline in each
   round: the bare fetch of the summary rows' shown columns (one SELECT, same driver) into a
   DataFrame. Reports the wall time, the CPU time of this process and of the PostgreSQL server's
   backend.
3. Decision latency: a process executes a run waiting on its gate; this process records the
   decision; the time from the decision's commit to the executor's next event (both stamped by
   the same clock, in the events) is the reaction time. Median of --decisions; goal <= 0.2 s on
   PostgreSQL (notified), against SQLite (re-read every 0.25 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
RESULTS = Path(__file__).resolve().parent / "results"

import pandas as pd  # noqa: E402

import prodex_jupyter as px  # noqa: E402
from prodex_jupyter.store import RunCreated, RunStatusChanged, RunStore, verify_store  # noqa: E402
from prodex_jupyter.store.event_log import write_events, write_run  # noqa: E402

WORKER = textwrap.dedent(
    """
    import sys, time, json, statistics
    import prodex_jupyter as px
    store, folder, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tpl = px.Template("bench_" + tag, base_dir=folder)
    gate = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    tpl.source("t", "t.csv", gate=gate)
    tpl.sql("s", "SELECT b, sum(a) AS total FROM t GROUP BY b")
    tpl.output("o", of="s")
    sys.stdin.readline()  # start together
    times, events = [], 0
    for i in range(n):
        start = time.perf_counter()
        run = tpl.run(store=store, policy=px.confirm_high)
        run.wait(timeout=120)
        assert run.status == "completed", run.status
        times.append(time.perf_counter() - start)
        events += run.state.last_seq + 1
    print(json.dumps({"median": statistics.median(times), "events": events}), flush=True)
    """
)

WAITER = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    store, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tpl = px.Template("latency", base_dir=folder)
    gate = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    tpl.source("t", "t.csv", gate=gate)
    tpl.output("o", sql="SELECT count(*) AS n FROM t")
    for i in range(n):
        run = tpl.run(store=store)
        run.wait(timeout=60)
        print(run.id, flush=True)
        deadline = time.time() + 60
        while run.status != "completed" and time.time() < deadline:
            time.sleep(0.005)
    """
)


@contextlib.contextmanager
def backends(url: str | None, folder: Path) -> Iterator[dict[str, str]]:
    """Each backend's store location: a folder, and a PostgreSQL database."""
    if url is not None:
        yield {"sqlite": str(folder / "sqlite"), "postgresql": url}
        return
    from postgres_server import running_server

    with running_server() as server:
        yield {"sqlite": str(folder / "sqlite"), "postgresql": server.create_database()}


def fresh(location: str, server_url: str | None, name: str, folder: Path) -> str:
    """A new empty store of the same backend (another folder, or another database)."""
    if not location.startswith("postgresql://"):
        return str(folder / name)
    import psycopg

    base = location.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"


def concurrency(location: str, folder: Path, processes: int, runs: int, env: dict) -> dict:
    data = folder / "data"
    data.mkdir(exist_ok=True)
    (data / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, location, str(data), str(runs), f"p{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(processes)
    ]
    time.sleep(3)  # let every interpreter import before the start signal
    start = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed:\n{err}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.perf_counter() - start
    store = RunStore(location)
    run_ids = store.run_ids()
    stored = sum(len(store.events(r)) for r in run_ids)
    seen = sum(r["events"] for r in reports)
    problems = verify_store(store)
    listed = store.index.list_runs(store.log)
    lost = {
        "runs_expected": processes * runs,
        "runs_stored": len(run_ids),
        "events_seen_by_workers": seen,
        "events_stored": stored,
        "completed_in_runs_list": sum(r.status == "completed" for r in listed),
        "verify_problems": len(problems),
    }
    ok = (
        len(run_ids) == processes * runs
        and stored == seen
        and lost["completed_in_runs_list"] == processes * runs
        and not problems
    )
    return {
        "elapsed_s": elapsed,
        "wall_ms_per_run": 1000 * elapsed / (processes * runs),
        "median_ms_per_run_in_a_process": 1000 * statistics.median(r["median"] for r in reports),
        "no_event_lost": ok,
        **lost,
    }


def fill(location: str, n: int, batch: int = 5000) -> None:
    """n runs, each created, started, gate posed and decided, completed: written with the store's
    own write functions and its runs list's derivation (as the store's log calls them), many
    runs per transaction (the per-run API would take far longer)."""
    from prodex_jupyter.store import GateDecided, run_index

    store = RunStore(location)
    gates = [{"gate_id": "g", "node_id": "t", "name": "G", "description": ""}]
    nodes = [{"id": "t", "kind": "source", "upstream": [], "gate_id": "g"}]
    created = RunCreated("listed", "f" * 64, {"id": "listed"}, {}, nodes, gates, {"t": "a.csv"})
    tail = [
        RunStatusChanged("executing"),
        GateDecided("g", "confirmed", "bench", "", "high"),
        RunStatusChanged("completed"),
    ]
    done = 0
    while done < n:
        count = min(batch, n - done)

        def work(con, start=done, count=count) -> None:
            for i in range(start, start + count):
                run_id = f"run-bench-{i:07d}"
                write_run(con, run_id, "listed", "f" * 64, created, run_index.derive)
                write_events(con, run_id, tail, None, location, run_index.derive)

        store.log.transact(work)
        done += count
    store.log.checkpoint()
    store.close()


def filled(location: str, n: int, cache: Path | None) -> str:
    """Fill the store at `location` (an SQLite folder, or a PostgreSQL database) with n runs;
    how: "written", "cached" (an SQLite file this function wrote before, with the same index
    layout, copied) or "copied" (PostgreSQL: the rows of an SQLite store so filled, moved by COPY).

    PostgreSQL gets the SQLite store's rows verbatim (runs, events in order, heads, the run
    ledger): the chains are the same bytes whichever database holds them, and the database's own
    trigger derives the runs list from the events as they arrive, as it does for `prodex store
    copy`. Through the write functions and a connection per round trip, the fill took 29 minutes
    at load 10; this way it takes seconds once the SQLite file is cached."""
    from prodex_jupyter.store import run_index

    if not location.startswith("postgresql://"):
        if cache is None:
            fill(location, n)
            return "written"
        cached = cache / f"listed-{n}-{run_index.VERSION}" / "events.sqlite"
        how = "cached"
        if not cached.exists():
            fill(str(cached.parent), n)
            how = "written"
        Path(location).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, Path(location) / "events.sqlite")
        return how
    with tempfile.TemporaryDirectory() as tmp:
        source = str(Path(tmp) / "sqlite")
        filled(source, n, cache)
        copy_rows(Path(source) / "events.sqlite", location)
    return "copied"


_COPIED = {  # table: its columns, and the order they are copied in
    "runs": ("run_id, template_id, fingerprint, created_at", "run_id"),
    "run_heads": ("run_id, seq, hash", "run_id"),
    "run_ledger": ("seq, at, kind, run_id, detail, prev_hash, hash", "seq"),
}
_EVENTS = "run_id, seq, at, kind, payload, prev_hash, hash"


def copy_rows(sqlite_file: Path, url: str, spread: int = 16) -> None:
    """An SQLite store's rows into a new PostgreSQL store, by COPY. The events go in much as a
    store in use receives them: each run's in order, and a transaction never updates two summary
    rows of one page (runs 0, 16, 32, ... of one append wave, then 1, 17, 33, ...: fewer than 16
    rows fit a page), so the trigger's updates find their page's older versions reclaimable, as
    when each append is its own transaction; then VACUUM ANALYZE, as autovacuum would. (Written
    all in one transaction, every old version stays until a VACUUM: a heap four times the size
    of the live rows, all of which the runs list scans.)"""
    import sqlite3

    import psycopg

    RunStore(url).close()  # the schema, triggers included
    source = sqlite3.connect(sqlite_file)
    with psycopg.connect(url, autocommit=True) as con:
        for table, (columns, order) in _COPIED.items():
            rows = source.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
            _copy(con, f"COPY {table} ({columns}) FROM STDIN", rows)
        last = source.execute("SELECT max(seq) FROM events").fetchone()[0] or 0
        for seq in range(last + 1):
            wave = source.execute(
                f"SELECT {_EVENTS} FROM events WHERE seq = ? ORDER BY run_id", (seq,)
            ).fetchall()
            for start in range(spread):
                _copy(con, f"COPY events ({_EVENTS}) FROM STDIN", wave[start::spread])
        con.execute("VACUUM ANALYZE")
    source.close()


def _copy(con, sql: str, rows) -> None:
    with con.transaction(), con.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def runs_list(location: str, n: int, cache: Path | None, rounds: int) -> dict:
    """px.runs() against a baseline read in the same round: the summary rows' columns the list
    shows fetched bare (one SELECT through the same driver) into a DataFrame, nothing computed.
    Paired per round."""
    start = time.perf_counter()
    how = filled(location, n, cache)
    fill_s = time.perf_counter() - start
    store = RunStore(location)
    summary, inputs = "idx_run_summary", "inputs"
    if store.log.dialect == "postgresql":
        summary, inputs = "run_summary", "inputs_shown"
    columns = "run_id, template_id, fingerprint, created_at, status, last_at, resolved, n_gates, "
    columns += inputs
    server = _server_cpu(store)
    times, cpu, served, bare, ratios = [], [], [], [], []
    for _ in range(rounds):
        s0, c0, t0 = server(), time.process_time(), time.perf_counter()
        table = px.runs(store=store)
        c1, t1, s1 = time.process_time(), time.perf_counter(), server()
        baseline = pd.DataFrame(store.log.query(f"SELECT {columns} FROM {summary}"))
        t2 = time.perf_counter()
        assert len(table) == n == len(baseline), (len(table), len(baseline))
        times.append(t1 - t0)
        cpu.append(c1 - c0)
        served.append(s1 - s0)
        bare.append(t2 - t1)
        ratios.append((t1 - t0) / (t2 - t1))
    return {
        "runs": n,
        "fill_s": fill_s,
        "fill": how,
        "median_s": statistics.median(times),
        "cpu_median_s": statistics.median(cpu),  # this process (all its threads)
        "server_cpu_mean_s": statistics.mean(served),  # the PostgreSQL backend (0 for SQLite)
        "bare_fetch_median_s": statistics.median(bare),
        "ratio_to_bare_fetch_median": statistics.median(ratios),
        "times_s": times,
        "bare_fetch_s": bare,
        "load_average": os.getloadavg(),
    }


def _server_cpu(store: RunStore):
    """A clock of the CPU time the store's PostgreSQL backend process has used (from /proc, in
    ticks of 10 ms: read as a mean over the rounds); always 0 for SQLite or a remote server."""
    if store.log.dialect != "postgresql":
        return lambda: 0.0
    stat = Path(f"/proc/{store.log.query('SELECT pg_backend_pid()')[0][0]}/stat")
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        if not stat.exists():
            return 0.0
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return used


def latency(location: str, folder: Path, n: int, env: dict) -> dict:
    data = folder / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", WAITER, location, str(data), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    store = RunStore(location)
    reactions = []
    for _ in range(n):
        run_id = proc.stdout.readline().strip()
        if not run_id.startswith("run-"):
            raise SystemExit(f"the executor failed:\n{proc.communicate()[1]}")
        time.sleep(0.3)  # a decision some time after the gate was posed
        run = px.load_run(run_id, store=store)
        run.confirm("g", by="bench")
        events = []
        deadline = time.time() + 30
        while time.time() < deadline:
            events = store.events(run_id)
            if events[-1].kind == "run_status" and events[-1].event.status == "completed":
                break
            time.sleep(0.01)
        decided = next(e for e in events if e.kind == "gate_decided")
        reacted = next(e for e in events if e.seq > decided.seq)
        reactions.append(_ts(reacted.at) - _ts(decided.at))
    proc.communicate(timeout=60)
    return {
        "median_ms": 1000 * statistics.median(reactions),
        "max_ms": 1000 * max(reactions),
        "decisions": n,
    }


def _ts(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL server's database (default: start one)")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--listed", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of the runs list")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "prodex-bench-listed",
        help="where the filled SQLite store of the runs list is kept between runs",
    )
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=None)
    parts = ("concurrency", "list", "latency")
    parser.add_argument("--parts", nargs="+", choices=parts, default=list(parts))
    args = parser.parse_args()
    report: dict = {"args": vars(args)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["PRODEX_ARTIFACTS"] = str(folder / "artifacts")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        with backends(args.url, folder) as where:
            for name, location in where.items():
                print(f"== {name}")
                result = report[name] = {}
                if "concurrency" in args.parts:
                    result["concurrency"] = concurrency(
                        location, folder, args.processes, args.runs, env
                    )
                    c = result["concurrency"]
                    print(
                        f"  {args.processes} processes x {args.runs} runs: "
                        f"{c['wall_ms_per_run']:.1f} ms per run (wall, all processes), "
                        f"{c['median_ms_per_run_in_a_process']:.1f} ms median in a process; "
                        f"no event lost: {c['no_event_lost']} ({c['events_stored']} events)"
                    )
                if "list" in args.parts:
                    other = fresh(location, args.url, "bench_listed", folder)
                    result["runs_list"] = runs_list(other, args.listed, args.cache, args.rounds)
                    r = result["runs_list"]
                    print(
                        f"  px.runs() over {r['runs']} runs: {r['median_s']:.3f} s median "
                        f"(goal < 0.3 s; CPU of this process {r['cpu_median_s']:.3f} s, "
                        f"of the database server {r['server_cpu_mean_s']:.3f} s); "
                        "bare fetch of the summary rows into a DataFrame "
                        f"{r['bare_fetch_median_s']:.3f} s; px.runs() / bare fetch "
                        f"x{r['ratio_to_bare_fetch_median']:.2f} (median of per-round ratios; "
                        f"{r['fill']} in {r['fill_s']:.0f} s; load {r['load_average'][0]:.1f})"
                    )
                    print(
                        "    every round (s): px.runs() "
                        + " ".join(f"{t:.3f}" for t in r["times_s"])
                        + "; bare fetch "
                        + " ".join(f"{t:.3f}" for t in r["bare_fetch_s"])
                    )
                if "latency" in args.parts:
                    if "concurrency" not in args.parts:
                        concurrency(location, folder, 1, 1, env)  # the data the waiter reads
                    result["latency"] = latency(location, folder, args.decisions, env)
                    lat = result["latency"]
                    print(
                        f"  decision -> executor reacting in another process: "
                        f"{lat['median_ms']:.0f} ms median, {lat['max_ms']:.0f} ms max"
                    )
    print("== side by side (PostgreSQL / SQLite)")
    for key, label in (
        ()
        if "concurrency" not in args.parts
        else (
            ("wall_ms_per_run", "time per run, 4 processes at once"),
            ("median_ms_per_run_in_a_process", "median per run in one process"),
        )
    ):
        a, b = report["postgresql"]["concurrency"][key], report["sqlite"]["concurrency"][key]
        print(f"  {label}: {a:.1f} ms / {b:.1f} ms = {a / b:.2f}x")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"store_backends-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"full figures: {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
