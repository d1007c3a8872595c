"""Benchmark: a CSV source to its gate prompt, against DuckDB's own CSV -> Parquet copy of the
same file, and a SQL-only pipeline over it inside a memory limit.

    python bench/source_pass.py                         # 1M and 3M rows, 5 rounds
    python bench/source_pass.py --sizes 10000000 --rounds 3 --before /work/main

Data: bench/evidence.py's throughput files (seeded; 1M rows are about 38 MiB of CSV).

    prodex   a template with the CSV as a gated source (bench/evidence.py's gate: a known set from
             recipes.csv, a range, required columns, no nulls, a row count); the time from
             `tpl.run()` to the gate posed with its evidence: the file read, hashed, stored as
             Parquet and profiled
    duckdb   `COPY (FROM read_csv(file)) TO 'x.parquet'`, DuckDB on all its threads
    before   (with --before DIR) the same as prodex with the code of DIR (PYTHONPATH), e.g. the
             main checkout before this change
    limited  the SQL-only pipeline (the gated source, confirmed, then a GROUP BY over it and an
             output), run under `prlimit --as` (--limit-gib, default 2; MALLOC_ARENA_MAX=2 so
             glibc's per-thread address-space reservations do not count as memory): completes
             or not (and before-limited, the same with the code of --before)

Every measurement runs in a fresh process, libraries imported before the clock starts; the
methods are interleaved round by round (A B A B ...) so background load hits them alike. Printed:
medians of wall time and of CPU time (all threads; what a loaded machine disturbs least), the
ratios prodex/duckdb paired per round, and each method's peak resident memory (VmHWM) of the
whole process; the load average at start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evidence import DATA, INSTRUCTIONS, generate  # the same files and gate

PIPELINE_SQL = (
    "SELECT station, shift, count(*) AS n, avg(cycle_time) AS mean_cycle "
    "FROM throughput GROUP BY ALL ORDER BY ALL"
)


def _cpu_seconds() -> float:
    """CPU time of this process, all its threads: what a loaded machine disturbs least."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _vmhwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _template(path: Path, pipeline: bool):
    import prodex_jupyter as px

    tpl = px.Template("source_pass", base_dir=DATA)
    gate = {"gate_id": "g", "name": "Throughput input", "instructions": INSTRUCTIONS}
    tpl.source("throughput", str(path), gate=gate)
    if pipeline:
        tpl.output("per_station", sql=PIPELINE_SQL)
    return tpl


def child(method: str, path: Path) -> dict:
    """One measurement, in this (fresh) process."""
    if method == "prodexlimited":
        method = "limited"
    if method == "duckdb":
        import duckdb

        con = duckdb.connect()
        with tempfile.TemporaryDirectory(dir=DATA, ignore_cleanup_errors=True) as tmp:
            started, cpu = time.perf_counter(), _cpu_seconds()
            con.execute(f"COPY (FROM read_csv('{path}')) TO '{tmp}/x.parquet' (FORMAT parquet)")
            seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        return {"seconds": seconds, "cpu_seconds": cpu, "peak_mib": _vmhwm_mib()}
    import prodex_jupyter as px

    tpl = _template(path, pipeline=method == "limited")
    with tempfile.TemporaryDirectory(dir=DATA, ignore_cleanup_errors=True) as tmp:
        started, cpu = time.perf_counter(), _cpu_seconds()
        run = tpl.run(store=px.RunStore(Path(tmp) / "store"))
        run.wait(timeout=3600)
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        gate = run.gates["g"]
        assert gate.status == "pending", gate.status
        out = {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "rows": gate.evidence["row_count"],
            "code": px.__file__,
        }
        if method == "limited":
            run.confirm("g", note="benchmark")
            run.wait(timeout=3600)
            out["status"] = run.status
            out["groups"] = len(run.value("per_station"))
    out["peak_mib"] = _vmhwm_mib()
    return out


def measure(method: str, path: Path, before: str | None, limit_gib: float) -> dict:
    cmd = [sys.executable, __file__, "--child", method, str(path)]
    env = dict(os.environ)
    if method.startswith("before"):
        env["PYTHONPATH"] = before or ""
        cmd[3] = method.replace("before", "prodex").replace("-", "")
    if method.endswith("limited"):
        # glibc reserves 64 MiB of address space per thread arena; two arenas keep the limit
        # about memory used rather than address space reserved
        env["MALLOC_ARENA_MAX"] = "2"
        cmd = ["prlimit", f"--as={int(limit_gib * (1 << 30))}", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"failed": f"exit {done.returncode}: {last[:200]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="a checkout whose code runs as 'before'")
    parser.add_argument("--limit-gib", type=float, default=2.0)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    methods = ["prodex", "duckdb", *(["before"] if args.before else [])]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for n in args.sizes:
        csv, _ = generate(n)
        size_mib = csv.stat().st_size / (1 << 20)
        print(f"\n{n:,} rows, {size_mib:.0f} MiB CSV; {args.rounds} rounds", flush=True)
        results: dict[str, list[dict]] = {m: [] for m in methods}
        for r in range(args.rounds):
            for m in methods:
                results[m].append(measure(m, csv, args.before, args.limit_gib))
            print(f"  round {r + 1}: " + json.dumps({m: results[m][-1] for m in methods}))
        ok = {m: [x for x in results[m] if "seconds" in x] for m in methods}
        for m in methods:
            if ok[m]:
                secs = statistics.median(x["seconds"] for x in ok[m])
                cpu = statistics.median(x["cpu_seconds"] for x in ok[m])
                peak = statistics.median(x["peak_mib"] for x in ok[m])
                print(f"  {m:8s} median {secs:7.2f} s, CPU {cpu:6.2f} s, peak RSS {peak:6.0f} MiB")
        for m in ["prodex", *(["before"] if args.before else [])]:
            for key, what in (("seconds", "wall"), ("cpu_seconds", "CPU")):
                paired = [
                    a[key] / b[key]
                    for a, b in zip(results[m], results["duckdb"], strict=True)
                    if key in a and key in b
                ]
                if paired:
                    print(
                        f"  {m} / duckdb {what}, paired per round: median"
                        f" x{statistics.median(paired):.2f}"
                        f" (min x{min(paired):.2f}, max x{max(paired):.2f})"
                    )
        for m in ["limited", *(["before-limited"] if args.before else [])]:
            got = measure(m, csv, args.before, args.limit_gib)
            print(f"  {m}: SQL-only pipeline under prlimit --as={args.limit_gib:g} GiB: {got}")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
