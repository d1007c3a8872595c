"""Drift against the last confirmed run, the one-line summary, and custom checks."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from prodex_jupyter.checks import CustomResult, DataRef, Evidence, gather_evidence
from prodex_jupyter.checks.custom import CustomCheckError, resolve_check
from prodex_jupyter.template.nodes import Gate


def csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def run(path: Path, instructions: str = "", **kw) -> Evidence:
    g = Gate("g", "Input", instructions=instructions, custom_checks=kw.pop("custom", ()))
    return gather_evidence(g, DataRef(str(path)), label=f"Source: {path.name}", **kw)


# --- drift ------------------------------------------------------------------------------------


def shifts(tmp_path: Path, name: str, counts: dict[str, int], cycle: tuple[float, float]) -> Path:
    rows = []
    for shift, n in counts.items():
        for i in range(n):
            t = cycle[0] + (cycle[1] - cycle[0]) * i / max(n - 1, 1)
            rows.append(f"{shift},{t:.1f}")
    return csv(tmp_path / name, "shift,cycle_time", rows)


def test_no_drift_without_a_baseline(tmp_path: Path) -> None:
    assert run(shifts(tmp_path, "a.csv", {"A": 40}, (10, 50))).drift is None


def test_drift_reports_rows_categories_and_ranges(tmp_path: Path) -> None:
    last = run(shifts(tmp_path, "last.csv", {"A": 50, "B": 50, "C": 2}, (10, 50)))
    now = run(
        shifts(tmp_path, "now.csv", {"A": 50, "B": 45, "D": 30}, (30, 80)),
        baseline=last,
    )
    assert now.drift is not None and now.drift.compared_to == "Source: last.csv"
    kinds = {f.kind: f for f in now.drift.findings}
    assert kinds["row_count"].before == 102 and kinds["row_count"].after == 125
    assert kinds["row_count"].warning  # +22.5% > 20%
    assert kinds["new_categories"].after == [["D", 30]]
    assert kinds["new_categories"].warning  # 24% of rows
    assert kinds["vanished_categories"].before == [["C", 2]]
    assert kinds["vanished_categories"].warning  # C held 2% of the last run's rows
    shift = kinds["range_shift"]
    assert shift.column == "cycle_time" and shift.before == [10.0, 50.0]
    assert shift.after == [30.0, 80.0] and shift.warning
    assert now.confidence == "medium"
    assert "Drift:" in now.summary and "New values of shift: D (30 rows)" in now.summary


def test_small_drift_is_evidence_but_not_a_warning(tmp_path: Path) -> None:
    last = run(shifts(tmp_path, "last.csv", {"A": 500, "B": 500}, (10.0, 50.0)))
    now = run(
        shifts(tmp_path, "now.csv", {"A": 520, "B": 500, "Z": 1}, (10.0, 51.0)), baseline=last
    )
    assert now.drift is not None
    assert {f.kind for f in now.drift.findings} == {"row_count", "new_categories", "range_shift"}
    assert now.drift.warnings == ()  # +2.2% rows, Z is 0.1% of rows, max moved 2.5% of span
    assert now.warnings == ()


def test_dates_moving_on_is_not_a_warning(tmp_path: Path) -> None:
    rows = [f"2024-01-{d:02d},1" for d in range(1, 31)]
    last = run(csv(tmp_path / "jan.csv", "day,x", rows))
    feb = run(
        csv(tmp_path / "feb.csv", "day,x", [r.replace("-01-", "-02-") for r in rows[:28]]),
        baseline=last,
    )
    assert feb.drift is not None
    assert [f.kind for f in feb.drift.findings if f.column == "day"] == ["range_shift"]
    assert feb.drift.warnings == ()


def test_schema_changes_are_warnings(tmp_path: Path) -> None:
    last = run(csv(tmp_path / "a.csv", "a,b", [f"{i},x" for i in range(40)]))
    now = run(csv(tmp_path / "b.csv", "a,c", [f"{i},x" for i in range(40)]), baseline=last)
    assert now.drift is not None
    (schema,) = [f for f in now.drift.findings if f.kind == "schema"]
    assert schema.warning and "new columns ['c']" in schema.message
    assert "columns gone ['b']" in schema.message


def test_row_count_drift_check_against_the_baseline(tmp_path: Path) -> None:
    bullet = "- row count within 20% of last confirmed run"
    last = run(shifts(tmp_path, "last.csv", {"A": 100}, (10, 50)), bullet)
    ok = run(shifts(tmp_path, "ok.csv", {"A": 115}, (10, 50)), bullet, baseline=last)
    assert ok.checks[0].status == "pass"
    assert ok.checks[0].observed == {
        "row_count": 115,
        "baseline_row_count": 100,
        "change_pct": pytest.approx(15.0),
    }
    bad = run(shifts(tmp_path, "bad.csv", {"A": 70}, (10, 50)), bullet, baseline=last)
    assert bad.checks[0].status == "fail"
    assert "70 rows against 100 on the last confirmed run (-30.0%)" in bad.checks[0].message


def test_baseline_read_back_from_json_works_the_same(tmp_path: Path) -> None:
    last = run(shifts(tmp_path, "last.csv", {"A": 50, "B": 50}, (10, 50)))
    stored = Evidence.from_dict(__import__("json").loads(__import__("json").dumps(last.to_dict())))
    path = shifts(tmp_path, "now.csv", {"A": 50, "C": 50}, (10, 50))
    assert run(path, baseline=stored).drift == run(path, baseline=last).drift


# --- summary ----------------------------------------------------------------------------------


def weekly(tmp_path: Path, n: int = 487) -> Path:
    """The spec's example: 487 rows, cycle times 12 s to 94 s, no nulls."""
    rows = [f"ST{i % 12:02d},{12 + (82 * i) // (n - 1)},{'ABC'[i % 3]}" for i in range(n)]
    return csv(tmp_path / "weekly_throughput.csv", "station,cycle_time,shift", rows)


def test_summary_in_the_specs_voice(tmp_path: Path) -> None:
    ev = run(
        weekly(tmp_path),
        "- required columns: station, cycle_time, shift\n- no nulls in cycle_time\n"
        "- cycle_time between 10s and 100s",
    )
    assert ev.summary == (
        "Source: weekly_throughput.csv. Required columns ['station', 'cycle_time', 'shift'] all"
        " present. 487 rows, 0 nulls in cycle_time. Cycle times range 12s–94s — within expected"
        " bounds. Confidence: high."
    )


def test_summary_without_units_and_with_a_failure(tmp_path: Path) -> None:
    path = weekly(tmp_path)
    ev = run(path, "- cycle_time between 20 and 100\n- shift in {A, B}")
    assert ev.summary.startswith("Source: weekly_throughput.csv. 487 rows, no nulls. 48 cycle")
    assert "48 cycle times outside [20, 100]: 12, 12, 12, 12, 12, … 162" in ev.summary
    assert "162 values of shift outside {A, B}: C ×162." in ev.summary
    assert ev.summary.endswith("Confidence: low.")


def test_summary_of_a_transform_sanity_check(tmp_path: Path) -> None:
    path = csv(
        tmp_path / "m.csv", "station,mean_cycle_s", [f"S{i},{40 + i % 7}" for i in range(40)]
    )
    ev = gather_evidence(
        Gate("g", "Means", instructions="- mean of mean_cycle_s between 30 and 60"),
        DataRef(str(path)),
        label="Node: station_means",
    )
    assert "Mean cycle 42.88s — within expected bounds." in ev.summary


# --- custom checks ----------------------------------------------------------------------------


def test_custom_check_from_python_gets_a_relation_and_reports(tmp_path: Path) -> None:
    seen = []

    def stations_per_shift(rel: duckdb.DuckDBPyRelation) -> CustomResult:
        """every shift covers at least 4 stations"""
        seen.append(type(rel))
        fewest = rel.aggregate("shift, count(DISTINCT station) AS n").min("n").fetchall()[0][0]
        return CustomResult(fewest >= 4, f"fewest stations on a shift: {fewest}", {"min": fewest})

    ev = run(weekly(tmp_path), "- at least 1 rows", custom=(stations_per_shift,))
    assert seen == [duckdb.DuckDBPyRelation]
    res = ev.checks[-1]
    assert res.bullet == "every shift covers at least 4 stations"
    assert (res.status, res.message, res.observed) == (
        "pass",
        "fewest stations on a shift: 4",
        {"min": 4},
    )


def test_custom_check_by_module_function_name(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "plant_checks.py").write_text(
        textwrap.dedent(
            '''
            def no_weekend_rows(rel):
                """no rows dated on a weekend"""
                n = rel.filter("dayofweek(day) IN (0, 6)").count("*").fetchall()[0][0]
                return n == 0, f"{n} weekend rows"
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = csv(tmp_path / "d.csv", "day", ["2024-01-05", "2024-01-06"])  # Fri, Sat
    ev = run(path, custom=("plant_checks:no_weekend_rows",))
    res = ev.checks[0]
    assert (res.bullet, res.status, res.message) == (
        "no rows dated on a weekend",
        "fail",
        "1 weekend rows",
    )
    assert ev.confidence == "low"
    sys.modules.pop("plant_checks", None)


def test_custom_check_that_raises_or_cannot_be_found_fails(tmp_path: Path) -> None:
    def broken(rel):
        raise RuntimeError("boom")

    ev = run(weekly(tmp_path), custom=(broken, "no_such_module_xyz:check"))
    assert [c.status for c in ev.checks] == ["fail", "fail"]
    assert "RuntimeError: boom" in ev.checks[0].message
    assert "cannot import no_such_module_xyz" in ev.checks[1].message


def test_resolve_check_rejects_bad_references() -> None:
    with pytest.raises(CustomCheckError):
        resolve_check("not-a-reference")
    with pytest.raises(CustomCheckError):
        resolve_check("json:no_such_function")
    assert resolve_check("json:dumps").__name__ == "dumps"


# --- templates in YAML ------------------------------------------------------------------------


def test_yaml_template_refuses_a_malformed_bullet_at_load_time(tmp_path: Path) -> None:
    from prodex_jupyter.template.errors import TemplateError
    from prodex_jupyter.template.yaml_io import load_template

    path = tmp_path / "t.prodex.yaml"
    path.write_text(
        textwrap.dedent(
            """
            id: t
            nodes:
              - id: throughput
                kind: source
                path: w.csv
                gate:
                  gate_id: shape
                  name: Shape
                  instructions: |
                    - required columns: station
                    - cycle_time between 10 and
              - id: out
                kind: output
                of: throughput
            """
        )
    )
    with pytest.raises(TemplateError) as err:
        load_template(path)
    message = str(err.value)
    assert "t.prodex.yaml" in message and "gate 'shape'" in message
    assert "cycle_time between 10 and" in message


def test_yaml_template_names_a_custom_check_by_module_function(tmp_path: Path, monkeypatch) -> None:
    from prodex_jupyter.template.yaml_io import load_template

    (tmp_path / "shape_checks.py").write_text(
        "def two_shifts(rel):\n"
        '    """exactly two shifts"""\n'
        '    n = rel.aggregate("count(DISTINCT shift)").fetchall()[0][0]\n'
        '    return n == 2, f"{n} shifts"\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = csv(tmp_path / "w.csv", "shift", ["A", "B", "A"])
    (tmp_path / "t.prodex.yaml").write_text(
        textwrap.dedent(
            """
            id: t
            nodes:
              - id: w
                kind: source
                path: w.csv
                gate:
                  gate_id: shape
                  name: Shape
                  custom_checks: ["shape_checks:two_shifts"]
              - id: out
                kind: output
                of: w
            """
        )
    )
    tpl = load_template(tmp_path / "t.prodex.yaml")
    gate_ = tpl["w"].gate
    assert gate_ is not None and gate_.custom_checks == ("shape_checks:two_shifts",)
    ev = gather_evidence(gate_, DataRef(str(path)), label="Source: w.csv")
    assert [(c.bullet, c.status, c.message) for c in ev.checks] == [
        ("exactly two shifts", "pass", "2 shifts")
    ]
    sys.modules.pop("shape_checks", None)


def test_drift_and_row_warnings_say_one_row_in_the_singular(tmp_path: Path) -> None:
    last = run(shifts(tmp_path, "last.csv", {"A": 40, "C": 1}, (10, 50)))
    now = run(shifts(tmp_path, "now.csv", {"A": 40, "D": 1}, (10, 50)), baseline=last)
    messages = [f.message for f in now.drift.findings]
    assert "New values of shift: D (1 row)." in messages
    assert "Values of shift no longer present: C (had 1 row)." in messages
    few = run(shifts(tmp_path, "one.csv", {"A": 1}, (10, 10)))
    assert "Only 1 row (fewer than 30)." in few.warnings
    assert "Only 1 row: too few to judge the data by." in few.summary
