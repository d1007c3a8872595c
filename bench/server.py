"""The REST API under load: `GET runs` over a store of 10,000 runs and `GET runs/{id}` of a
500-node run, through a live `jupyter server` with the extension, against reading the same
store directly in this process.

    python bench/server.py [--runs 10000] [--nodes 500] [--repeat 9] [--keep DIR]

The 10,000-run store is bench/history.py's (real demo runs replayed through the store API: 80%
completed, 15% completed_partial, 5% waiting at a gate, two pipelines). The 500-node run is the
generated pipeline of tests/test_widgets_support.py (10 gated CSV lanes of SQL steps, every tenth
step gated, outputs at the lane ends) executed for real to completion (gates confirmed).

Measured, medians over --repeat, each request over HTTP with the token (what the front end pays):
- `GET runs`: the first request (the server reads the runs index), then repeated requests while
  the store does not change (first page of 100, `limit=1000`, `pipeline=plant_kpis&
  status=completed&offset=5000`); baseline: `px.runs(store=...)`, the whole list as a DataFrame,
  read directly (a fresh RunStore each time: no cached pages);
- `GET runs/{id}` of the 500-node run (record + the `view`: canvas, cards, drawer of every node),
  as a browser asks (gzip accepted): the first request (the server folds the run and computes
  the answer), then repeated requests (the answer is kept while the run does not change), a poll
  with the ETag (304), and the first request with `drawer=none`; baselines: folding the run from
  the store (`RunStore.state`), and computing the same record in this process without HTTP
  (`records.run_record`, every drawer and none).
Results are printed and saved in bench/results/server-<time>.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from history import build_store  # noqa: E402

import prodex_jupyter as px  # noqa: E402
from prodex_jupyter.server.records import run_record  # noqa: E402
from prodex_jupyter.store import RunStore  # noqa: E402
from tests.server_support import live_server  # noqa: E402
from tests.test_widgets_support import generated  # noqa: E402

ETAG: dict[str, str] = {}


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def big_run(root: Path, store: RunStore, n: int) -> str:
    """A completed run of the generated n-node pipeline (reused with --keep)."""
    name = f"generated_{n}"
    done = [r for r in store.run_ids(name) if store.state(r).status == "completed"]
    if done:
        return done[0]
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    run = generated(folder, n).run(store=store, policy=px.confirm_high).wait(timeout=600)
    while run.prompts:
        for prompt in run.prompts:
            for gate in prompt.gates:
                run.confirm(gate.gate_id, note="bench")
        run.wait(timeout=600)
    assert run.status == "completed", run.status
    print(f"  {n}-node run {run.id}: {len(run.state.results)} results", flush=True)
    return run.id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--keep", type=Path, default=None, help="build the store here, reuse it")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="prodex-server-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"store in {root} (load average {os.getloadavg()[0]:.1f})", flush=True)
    store = build_store(root, args.runs)
    run_id = big_run(root, store, args.nodes)
    store_dir = store.root
    serve = root / "serve"
    serve.mkdir(exist_ok=True)
    results: dict[str, float] = {}
    with live_server(serve, root, store=store_dir) as (url, token):

        def get(path: str, **headers: str) -> bytes:
            request = urllib.request.Request(f"{url}/{path}")
            request.add_header("Authorization", f"token {token}")
            request.add_header("Accept-Encoding", "gzip")
            for name, value in headers.items():
                request.add_header(name, value)
            try:
                with urllib.request.urlopen(request, timeout=300) as response:
                    body = response.read()
                    ETAG[path] = response.headers.get("ETag", "")
                    return (
                        gzip.decompress(body)
                        if response.headers.get("Content-Encoding") == "gzip"
                        else body
                    )
            except urllib.error.HTTPError as exc:
                if exc.code != 304:
                    raise
                return b""

        def once_ms(path: str) -> float:
            started = time.perf_counter()
            get(path)
            return 1000 * (time.perf_counter() - started)

        results["GET runs first (list read from the index)"] = once_ms("runs")
        body = json.loads(get("runs"))
        assert body["total"] >= args.runs, body["total"]
        record_path = f"runs/{run_id}"
        results[f"GET runs/{{id}} first ({args.nodes} nodes, every drawer)"] = once_ms(record_path)
        results[f"GET runs/{{id}}?drawer=none first ({args.nodes} nodes)"] = once_ms(
            f"{record_path}?drawer=none"
        )
        record = json.loads(get(record_path))
        assert len(record["view"]["drawer"]) == args.nodes
        size_kb = len(json.dumps(record)) / 1024
        for label, path in [
            ("GET runs (page of 100)", "runs"),
            ("GET runs?limit=1000", "runs?limit=1000"),
            (
                "GET runs?pipeline&status&offset=5000",
                "runs?pipeline=plant_kpis&status=completed&offset=5000",
            ),
            (f"GET runs/{{id}} again, unchanged ({args.nodes} nodes)", record_path),
        ]:
            get(path)  # warm: then the list is kept while the store does not change
            results[label] = median_ms(lambda p=path: get(p), args.repeat)
        tag = ETAG[record_path]
        results[f"GET runs/{{id}} poll with ETag -> 304 ({args.nodes} nodes)"] = median_ms(
            lambda: get(record_path, **{"If-None-Match": tag}), args.repeat
        )
    results["px.runs(store) direct, all runs"] = median_ms(
        lambda: px.runs(store=RunStore(store_dir)), args.repeat
    )
    results[f"RunStore.state direct ({args.nodes} nodes)"] = median_ms(
        lambda: RunStore(store_dir).state(run_id), args.repeat
    )

    def in_process() -> None:
        fresh = RunStore(store_dir)
        run_record(fresh.state(run_id), None, fresh.load_table)

    results[f"records.run_record in process ({args.nodes} nodes)"] = median_ms(
        in_process, args.repeat
    )

    def in_process_no_drawer() -> None:
        fresh = RunStore(store_dir)
        run_record(fresh.state(run_id), None, fresh.load_table, set())

    results[f"records.run_record in process, no drawer ({args.nodes} nodes)"] = median_ms(
        in_process_no_drawer, args.repeat
    )
    print(f"\n{args.runs:,} runs; {args.nodes}-node record {size_kb:,.0f} KiB as JSON")
    for label, ms in results.items():
        print(f"  {label:<48} {ms:9.1f} ms")
    page = results["GET runs (page of 100)"]
    direct_list = results["px.runs(store) direct, all runs"]
    first = results[f"GET runs/{{id}} first ({args.nodes} nodes, every drawer)"]
    again = results[f"GET runs/{{id}} again, unchanged ({args.nodes} nodes)"]
    fold = results[f"RunStore.state direct ({args.nodes} nodes)"]
    print(f"  GET runs page / px.runs direct: {page / direct_list:.2f}")
    print(f"  GET runs/{{id}} first / fold direct: {first / fold:.2f}")
    print(f"  GET runs/{{id}} unchanged / fold direct: {again / fold:.2f}")
    out = REPO / "bench" / "results" / f"server-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": args.runs, "nodes": args.nodes, "ms": results}, indent=1))
    print(f"saved {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
