"""The confidence rules of docs/gate-instructions.md, one test each, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodex_jupyter.checks import CheckResult, DataRef, Evidence, gather_evidence
from prodex_jupyter.checks.confidence import grade
from prodex_jupyter.template.nodes import Gate

CLEAN = "- required columns: station, cycle_time\n- cycle_time between 0 and 100\n"


def throughput(tmp_path: Path, n: int = 40, name: str = "w.csv", low: float = 20.0) -> Path:
    """n rows, cycle times spread evenly from `low` to 80."""
    step = (80.0 - low) / max(n - 1, 1)
    rows = [f"S{i % 4},{low + i * step:.1f},{'ABC'[i % 3]}" for i in range(n)]
    path = tmp_path / name
    path.write_text("station,cycle_time,shift\n" + "\n".join(rows) + ("\n" if rows else ""))
    return path


def run(path: Path, instructions: str, **kw) -> Evidence:
    g = Gate("g", "Input", instructions=instructions, custom_checks=kw.pop("custom", ()))
    return gather_evidence(g, DataRef(str(path)), label=f"Source: {path.name}", **kw)


def test_high_when_every_check_passes_cleanly(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path), CLEAN)
    assert ev.warnings == ()
    assert ev.confidence == "high"
    assert ev.summary.endswith("Confidence: high.")


def test_low_when_any_check_fails(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path), CLEAN + "- shift in {A, B}\n- the operator signed off")
    assert ev.confidence == "low"  # a failure outranks the manual check


def test_low_when_the_output_is_empty(tmp_path: Path) -> None:
    empty = throughput(tmp_path, n=0)
    assert run(empty, "").confidence == "low"
    assert run(empty, "- required columns: station").confidence == "low"


def test_medium_when_a_bullet_is_a_manual_check(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path), CLEAN + "- compare with the plant dashboard")
    assert [c.status for c in ev.checks] == ["pass", "pass", "manual"]
    assert ev.confidence == "medium"
    assert "could not verify" in ev.summary and "plant dashboard" in ev.summary


def test_medium_when_drift_is_beyond_its_threshold(tmp_path: Path) -> None:
    baseline = run(throughput(tmp_path, n=40, name="last.csv"), CLEAN)
    assert baseline.confidence == "high"
    near = run(throughput(tmp_path, n=44), CLEAN, baseline=baseline)  # +10%: evidence only
    assert near.drift is not None and near.drift.findings[0].kind == "row_count"
    assert near.confidence == "high"
    far = run(throughput(tmp_path, n=60), CLEAN, baseline=baseline)  # +50%: a warning
    assert far.confidence == "medium"
    assert any("+50.0%" in w for w in far.warnings)


def test_medium_when_values_sit_within_two_percent_of_a_bound(tmp_path: Path) -> None:
    path = throughput(tmp_path, low=1.5)  # 1.5 is within 2% of [0, 100] from 0
    ev = run(path, CLEAN)
    assert ev.checks[1].status == "warn"
    assert ev.confidence == "medium"


def _rows(tmp_path: Path, n: int) -> Path:
    path = tmp_path / f"r{n}.csv"
    path.write_text("a\n" + "".join(f"{i}\n" for i in range(n)))
    return path


def test_a_near_bound_warning_is_true_as_worded(tmp_path: Path) -> None:
    wide = "- between 100 and 100000 rows"
    # 202 rows is twice the lower bound, not within 2% of it: no warning, confidence high
    ev = run(_rows(tmp_path, 202), wide)
    assert ev.checks[0].status == "pass" and ev.checks[0].message == "202 rows, as expected."
    assert ev.confidence == "high"
    # 101 rows is within 2% of 100: the warning says so, and it is true
    ev = run(_rows(tmp_path, 101), wide)
    assert ev.checks[0].status == "warn"
    assert ev.checks[0].message == "101 rows, within 2% of the lower bound 100."
    assert ev.confidence == "medium"


def test_near_a_zero_bound_the_warning_names_the_range_width(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path, low=1.5), CLEAN)  # 1.5 is 1.5% of the width 0..100 from 0
    assert ev.checks[1].message == (
        "cycle_time ranges 1.5–80, within 2% of the range's width from the lower bound 0."
    )
    ev = run(throughput(tmp_path, low=2.5), CLEAN)
    assert ev.checks[1].status == "pass"


def test_a_narrow_range_does_not_warn_on_every_value(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("a\n" + "".join(f"{99.5 + i / 100}\n" for i in range(40)))  # 99.5-99.89
    ev = run(path, "- a between 99 and 101")  # 2% of 99 would cover the whole range
    assert ev.checks[0].status == "pass", ev.checks[0].message


def test_medium_when_fewer_than_thirty_rows(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path, n=29), CLEAN)
    assert {c.status for c in ev.checks} == {"pass"}
    assert ev.confidence == "medium"
    assert run(throughput(tmp_path, n=30), CLEAN).confidence == "high"


def test_medium_when_the_gate_has_no_instructions(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path), "")
    assert ev.checks == ()
    assert ev.confidence == "medium"
    assert "profile only" in ev.summary


def test_a_custom_check_alone_is_not_profile_only(tmp_path: Path) -> None:
    def enough(rel):
        """at least 10 rows"""
        return rel.count("*").fetchall()[0][0] >= 10, "enough rows"

    assert run(throughput(tmp_path), "", custom=(enough,)).confidence == "high"


def test_a_skipped_drift_check_on_a_first_run_does_not_lower_confidence(tmp_path: Path) -> None:
    ev = run(throughput(tmp_path), CLEAN + "- row count within 20% of last confirmed run")
    assert ev.checks[-1].status == "skipped"
    assert ev.confidence == "high"


@pytest.mark.parametrize(
    ("statuses", "rows", "warnings", "profile_only", "expected"),
    [
        (["pass"], 100, [], False, "high"),
        (["pass", "fail"], 100, [], False, "low"),
        (["manual", "fail"], 100, [], False, "low"),
        (["pass"], 0, [], False, "low"),
        (["pass", "manual"], 100, [], False, "medium"),
        (["pass", "warn"], 100, [], False, "medium"),
        (["pass"], 100, ["drift"], False, "medium"),
        ([], 100, [], True, "medium"),
        (["pass", "skipped"], 100, [], False, "high"),
    ],
)
def test_grade_rules(
    statuses: list[str], rows: int, warnings: list[str], profile_only: bool, expected: str
) -> None:
    results = [CheckResult(f"c{i}", s, "") for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    assert grade(results, row_count=rows, warnings=warnings, profile_only=profile_only) == expected


def test_each_manual_check_names_its_bullet(tmp_path: Path) -> None:
    ev = run(
        throughput(tmp_path), CLEAN + "- compare with the plant dashboard\n- ask the shift lead"
    )
    manual = [c for c in ev.checks if c.status == "manual"]
    assert [c.message for c in manual] == [
        "“compare with the plant dashboard”: not checked automatically; a person checks it.",
        "“ask the shift lead”: not checked automatically; a person checks it.",
    ]
