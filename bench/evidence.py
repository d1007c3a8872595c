"""Benchmark: gate evidence on a throughput file, the checker against three hand-made baselines.

    python bench/evidence.py                 # 1M and 10M rows, 3 runs each, CSV and Parquet
    python bench/evidence.py --sizes 1000000 --runs 5
    python bench/evidence.py --before /path/to/older/checkout   # the checker before, as z
    python bench/evidence.py --warm          # the checker's database opened before the clock

Each size and format ends with a GOAL line: met or not met, speed (wall and CPU, against the
fastest peer) and memory (a third of pandas'). Cold (the default) is a process's first check,
which opens the checker's DuckDB database; warm is any later one in the same process (a kernel
that has checked a source before), the database already open.

Data (seeded, generated once under bench/data/, which is not committed): station (40 values),
cycle_time (float, ~0.1% nulls), shift (A/B/C), recipe_code (25 codes plus rare unknown ones),
ts (timestamp); a CSV and a Parquet copy; recipes.csv holds the 25 known codes.

The gate: required columns, no nulls in station/shift/recipe_code, cycle_time between 10 and 100,
recipe_code in the known set from recipes.csv, a row-count range, and the 5-row sample.

    a  the checker: prodex_jupyter.checks.gather_evidence
    b  hand-written DuckDB: DESCRIBE + one aggregate pass (the same figures: null counts, min/max,
       histograms of the three text columns, range and known-set violation counts, the known set
       as a join) + a 5-row sample
    c  pandas read (its default C engine: on this machine its fastest, where engine="pyarrow"
       took 3 to 4 times as long on 10M rows) + the same statistics
    d  pandas read + pandera, the equivalent checks validated lazily, + head(5); no profile, so
       d does less work than a and c
    e  polars, lazily (scan_csv / scan_parquet): the same statistics in one collect, the known
       set as a semi-join, the examples and the 5-row sample
    z  (with --before DIR) the checker with the code of DIR, e.g. a checkout before a change

Every measurement runs in a fresh process (libraries imported before the clock starts); methods
are interleaved, run by run, so background load hits all of them alike. Printed: the median time
(wall clock, and CPU seconds, which shared-machine load disturbs less) of each, the ratios
a/b, a/c, a/d, and each method's peak resident memory (VmHWM), whole
process and the part added by the work itself (the peak minus the peak once the libraries are
imported, before the clock starts: the imports weigh 100 to 140 MiB in every method, more than
1M rows of data, so the ratio of whole-process peaks says more about the libraries than about
the work); both ratios to pandas (c) are printed, a_peak/c_peak and a_work/c_work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
SEED = 20240601

INSTRUCTIONS = """
- required columns: station, cycle_time, shift, recipe_code, ts
- no nulls in station, shift, recipe_code
- cycle_time between 10 and 100
- recipe_code in known set from recipes.csv (code)
- between 100 and 100000000 rows
"""
KNOWN = [f"R{i:02d}" for i in range(1, 26)]


# ---------------------------------------------------------------------------------------------
# Data


def generate(n: int) -> tuple[Path, Path]:
    """The CSV and Parquet files for n rows, made once; hash-based so the same on every machine."""
    import duckdb

    DATA.mkdir(parents=True, exist_ok=True)
    stem = DATA / f"throughput_{n}"
    csv, parquet = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    recipes = DATA / "recipes.csv"
    if not recipes.exists():
        recipes.write_text("code,description\n" + "".join(f"{c},recipe {c}\n" for c in KNOWN))
    if csv.exists() and parquet.exists():
        return csv, parquet
    s = SEED
    query = f"""
    SELECT
      'ST' || lpad(((hash(i, {s}) % 40) + 1)::VARCHAR, 2, '0') AS station,
      CASE WHEN hash(i, {s + 1}) % 1000 = 0 THEN NULL
           ELSE round(12 + (hash(i, {s + 2}) % 820000) / 10000.0, 1) END AS cycle_time,
      ['A', 'B', 'C'][((hash(i, {s + 3}) % 3) + 1)::BIGINT] AS shift,
      CASE WHEN hash(i, {s + 4}) % 20000 = 0
           THEN 'X' || lpad((hash(i, {s + 5}) % 90 + 10)::VARCHAR, 2, '0')
           ELSE 'R' || lpad(((hash(i, {s + 4}) % 25) + 1)::VARCHAR, 2, '0') END AS recipe_code,
      TIMESTAMP '2024-01-01' + to_seconds((hash(i, {s + 6}) % 31536000)::BIGINT) AS ts
    FROM range({n}) t(i)
    """
    con = duckdb.connect()
    con.execute(f"COPY ({query}) TO '{csv}' (HEADER)")
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)")
    return csv, parquet


# ---------------------------------------------------------------------------------------------
# The four methods. Each returns a small dict of its figures (to check they agree).


def method_a(path: Path) -> dict:
    from prodex_jupyter.checks import DataRef, gather_evidence
    from prodex_jupyter.template.nodes import Gate

    gate = Gate("throughput", "Throughput input", instructions=INSTRUCTIONS)
    ev = gather_evidence(gate, DataRef(str(path)), label=f"Source: {path.name}", base_dir=DATA)
    bad = {c.bullet.split()[0]: c.unexpected_count for c in ev.checks}
    return {"rows": ev.row_count, "unexpected": bad, "summary": ev.summary}


def method_b(path: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    reader = "read_csv" if path.suffix == ".csv" else "read_parquet"
    con.execute(f"CREATE VIEW t AS SELECT * FROM {reader}('{path}')")
    schema = con.execute("DESCRIBE t").fetchall()
    row = con.execute(
        f"""
        SELECT count(*), count(station), count(cycle_time), count(shift), count(recipe_code),
               count(ts), min(cycle_time), max(cycle_time), min(ts), max(ts),
               histogram(station), histogram(shift), histogram(recipe_code),
               count(*) FILTER (WHERE cycle_time < 10 OR cycle_time > 100),
               count(*) FILTER (WHERE t.recipe_code IS NOT NULL AND k.code IS NULL)
        FROM t LEFT JOIN (SELECT DISTINCT code FROM read_csv('{DATA / "recipes.csv"}')) k
             ON t.recipe_code = k.code
        """
    ).fetchall()[0]
    sample = con.execute("SELECT * FROM t LIMIT 5").fetchall()
    return {"rows": row[0], "columns": len(schema), "unknown": row[-1], "sample": len(sample)}


def _read_pandas(path: Path):
    import pandas as pd

    if path.suffix == ".csv":
        return pd.read_csv(path)
    return pd.read_parquet(path)


def method_c(path: Path) -> dict:
    import pandas as pd

    df = _read_pandas(path)
    known = set(pd.read_csv(DATA / "recipes.csv")["code"])
    missing = [c for c in ("station", "cycle_time", "shift", "recipe_code", "ts") if c not in df]
    nulls = df.isna().sum().to_dict()
    ranges = {c: (df[c].min(), df[c].max()) for c in ("cycle_time", "ts")}
    tops = {c: df[c].value_counts().to_dict() for c in ("station", "shift", "recipe_code")}
    ct = df["cycle_time"]
    out_of_range = int(((ct < 10) | (ct > 100)).sum())
    unknown_mask = df["recipe_code"].notna() & ~df["recipe_code"].isin(known)
    unknown = int(unknown_mask.sum())
    examples = df[unknown_mask].head(5)
    sample = df.head(5)
    del missing, nulls, ranges, tops, examples, sample
    return {"rows": len(df), "out_of_range": out_of_range, "unknown": unknown}


def method_d(path: Path) -> dict:
    import pandas as pd
    import pandera.pandas as pa

    df = _read_pandas(path)
    known = list(pd.read_csv(DATA / "recipes.csv")["code"])
    schema = pa.DataFrameSchema(
        {
            "station": pa.Column(nullable=False),
            "cycle_time": pa.Column(float, pa.Check.in_range(10, 100), nullable=True),
            "shift": pa.Column(nullable=False),
            "recipe_code": pa.Column(nullable=False, checks=pa.Check.isin(known)),
            "ts": pa.Column(nullable=True),
        },
        checks=pa.Check(lambda d: 100 <= len(d) <= 100_000_000, element_wise=False),
        strict=False,
    )
    failures = 0
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = len(exc.failure_cases)
    sample = df.head(5)
    del sample
    return {"rows": len(df), "failure_cases": failures}


def method_e(path: Path) -> dict:
    import polars as pl

    scan = pl.scan_csv(path) if path.suffix == ".csv" else pl.scan_parquet(path)
    known = pl.scan_csv(DATA / "recipes.csv").select("code")
    cols = ("station", "cycle_time", "shift", "recipe_code", "ts")
    ct = pl.col("cycle_time")
    unknown = pl.col("recipe_code").is_not_null() & ~pl.col("recipe_code").is_in(
        known.collect()["code"].implode()
    )
    stats = scan.select(
        pl.len().alias("rows"),
        *[pl.col(c).null_count().alias(f"nulls_{c}") for c in cols],
        *[pl.col(c).min().alias(f"min_{c}") for c in ("cycle_time", "ts")],
        *[pl.col(c).max().alias(f"max_{c}") for c in ("cycle_time", "ts")],
        ((ct < 10) | (ct > 100)).sum().alias("out_of_range"),
        unknown.sum().alias("unknown"),
    )
    tops = [scan.group_by(c).len() for c in ("station", "shift", "recipe_code")]
    examples = scan.filter(unknown).head(5)
    sample = scan.head(5)
    row, *_ = pl.collect_all([stats, *tops, examples, sample])
    return {
        "rows": row["rows"][0],
        "out_of_range": row["out_of_range"][0],
        "unknown": row["unknown"][0],
    }


METHODS = {"a": method_a, "b": method_b, "c": method_c, "d": method_d, "e": method_e}
BEFORE = "z"  # with --before DIR: the checker (method a) running the code of DIR


def _peak_rss_kib() -> int:
    """This process's peak resident memory. /proc's VmHWM, not ru_maxrss: on Linux ru_maxrss
    carries over the parent's peak through fork and exec, which would charge the generator's
    memory to every child."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(method: str, path: Path, warm: bool = False) -> None:
    """One measurement, in this (fresh) process: imports first, then the clock.

    `warm`: the checker's database exists before the clock, as in a kernel that has checked a
    source before (the checker keeps one in-memory DuckDB per process: `checks/gather.py`); its
    opening costs some 0.04 s of CPU and 29 MiB, paid once per process."""
    if method in ("a", "b"):
        import duckdb  # noqa: F401
    if method == "a":
        import prodex_jupyter.checks  # noqa: F401
    if method == "a" and warm:
        from prodex_jupyter.checks import gather

        gather._database(one_thread=True).execute("SELECT 1").fetchall()
    if method in ("c", "d"):
        import pandas  # noqa: F401
        import pyarrow.csv  # noqa: F401
    if method == "d":
        import pandera.pandas  # noqa: F401
    if method == "e":
        import polars  # noqa: F401
    before_kib = _peak_rss_kib()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    figures = METHODS[method](path)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    peak_kib = _peak_rss_kib()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "peak_mib": peak_kib / 1024,
                "work_mib": (peak_kib - before_kib) / 1024,
                "figures": figures,
            }
        )
    )


def _measure(method: str, path: Path, before: str | None = None, warm: bool = False) -> dict:
    code = before if method == BEFORE else str(ROOT)
    child = ["--child", "a" if method == BEFORE else method, str(path)]
    out = subprocess.run(
        [sys.executable, __file__, *child, *(["--warm"] if warm else [])],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{code}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _verdict(n: int, fmt: str, row: dict, med: dict[str, float], warm: bool) -> str:
    """The goal's line for one size and format: the checker no slower than the fastest peer
    (pandas, pandera, polars; paired per round, medians, wall and CPU apart) and its memory at
    most a third of pandas' (the work's part, and the whole process)."""
    peer = min("cde", key=lambda m: med[m])
    name = {"c": "pandas", "d": "pandera", "e": "polars"}[peer]

    def met(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    wall, cpu = row["a/fastest_peer_paired"], row["a/fastest_peer_cpu_paired"]
    work, peak = row["a_work/c_work"], row["a_peak/c_peak"]
    return (
        f"GOAL {n:,} rows {fmt} ({'warm' if warm else 'cold'}): "
        f"speed {met(wall <= 1)} in wall (x{wall:.2f} of the fastest peer, {name} by median), "
        f"{met(cpu <= 1)} in CPU (x{cpu:.2f}); "
        f"memory <= 1/3 of pandas {met(work <= 1 / 3)} in the work's part (x{work:.2f}), "
        f"{met(peak <= 1 / 3)} whole process (x{peak:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--before", help="a checkout whose checker also runs, as method z")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="the checker's DuckDB database opened before the clock (a kernel's second check)",
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]), warm=args.warm)
        return
    report = []
    verdicts = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print("checker database:", "warm (opened before the clock)" if args.warm else "cold")
    for n in args.sizes:
        csv, parquet = generate(n)
        for fmt, path in (("csv", csv), ("parquet", parquet)):
            if fmt not in args.formats:
                continue
            methods = [*METHODS, *([BEFORE] if args.before else [])]
            runs: dict[str, list[dict]] = {m: [] for m in methods}
            for i in range(args.runs):
                k = i % len(methods)
                order = methods[k:] + methods[:k]  # rotate who goes first
                for m in order:
                    runs[m].append(_measure(m, path, args.before, args.warm))
            med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
            cpu = {m: statistics.median(r["cpu_seconds"] for r in rs) for m, rs in runs.items()}
            peak = {m: max(r["peak_mib"] for r in rs) for m, rs in runs.items()}
            work = {m: max(r["work_mib"] for r in rs) for m, rs in runs.items()}
            row = {
                "rows": n,
                "format": fmt,
                "median_s": med,
                "median_cpu_s": cpu,
                "all_s": {m: [round(r["seconds"], 3) for r in rs] for m, rs in runs.items()},
                "peak_mib": peak,
                "work_mib": work,
                "a/b": med["a"] / med["b"],
                "a/c": med["a"] / med["c"],
                "a/d": med["a"] / med["d"],
                "a/e": med["a"] / med["e"],
                # paired per round: the checker against the fastest peer of that round
                "a/fastest_peer_paired": statistics.median(
                    runs["a"][i]["seconds"] / min(runs[m][i]["seconds"] for m in "cde")
                    for i in range(args.runs)
                ),
                # the same in CPU seconds (all threads), which shared-machine load disturbs less
                "a/fastest_peer_cpu_paired": statistics.median(
                    runs["a"][i]["cpu_seconds"] / min(runs[m][i]["cpu_seconds"] for m in "cde")
                    for i in range(args.runs)
                ),
                "a_peak/c_peak": peak["a"] / peak["c"],
                # the memory the work itself added (peak minus the peak after the imports):
                # the libraries loaded weigh ~100-140 MiB in every method whatever the data
                "a_work/c_work": work["a"] / work["c"],
                # rounds (made one after the other) in which the checker beat every peer
                "a_wins": sum(
                    runs["a"][i]["seconds"] < min(runs[m][i]["seconds"] for m in "cde")
                    for i in range(args.runs)
                ),
                "figures": {m: rs[0]["figures"] for m, rs in runs.items()},
            }
            if args.before:  # the code before, against the same peers in the same rounds
                row["z/fastest_peer_paired"] = statistics.median(
                    runs[BEFORE][i]["seconds"] / min(runs[m][i]["seconds"] for m in "cde")
                    for i in range(args.runs)
                )
            row["verdict"] = _verdict(n, fmt, row, med, args.warm)
            verdicts.append(row["verdict"])
            report.append(row)
            print(
                f"{n:>11,} {fmt:8} "
                + " ".join(f"{m}={med[m]:.3f}s" for m in methods)
                + f" | a/b={row['a/b']:.2f} a/c={row['a/c']:.2f} a/d={row['a/d']:.2f}"
                + f" a/e={row['a/e']:.2f} a/fastest-peer(paired)={row['a/fastest_peer_paired']:.2f}"
                + f" (a faster than c, d and e in {row['a_wins']}/{args.runs} rounds)"
                + f" CPU a/fastest-peer(paired)={row['a/fastest_peer_cpu_paired']:.2f}"
                + (
                    f" z/fastest-peer(paired)={row['z/fastest_peer_paired']:.2f}"
                    if args.before
                    else ""
                )
                + f" a_peak/c_peak={row['a_peak/c_peak']:.2f}"
                + f" a_work/c_work={row['a_work/c_work']:.2f}"
                + " | cpu "
                + " ".join(f"{m}={cpu[m]:.2f}" for m in methods)
                + " | peak MiB "
                + " ".join(f"{m}={peak[m]:.0f}" for m in methods)
                + " | of which work "
                + " ".join(f"{m}={work[m]:.0f}" for m in methods),
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()}")
    print("\n" + "\n".join(verdicts))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"evidence-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nfull figures: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
