"""The gate-instruction grammar: every documented form, bullets never dropped, malformed forms
rejected with the bullet and the reason."""

from __future__ import annotations

import datetime as dt

import pytest

from prodex_jupyter.template.instructions import (
    AggregateRange,
    InKnownSet,
    InSet,
    InstructionError,
    ManualCheck,
    Matches,
    NoNulls,
    RequiredColumns,
    RowCount,
    RowCountDrift,
    Unique,
    ValueRange,
    parse_bullet,
    parse_instructions,
    split_bullets,
)


def one(text: str):
    (spec,) = parse_instructions(f"- {text}")
    assert spec.bullet == text
    return spec


def test_empty_text_gives_no_checks() -> None:
    assert parse_instructions("") == ()
    assert parse_instructions("   \n\n") == ()


def test_every_bullet_marker_and_continuation_lines() -> None:
    text = """
# Checks
- required columns: station, shift
* no nulls in station
+ at least 10 rows
1. unique station
2) cycle_time between 1 and 2
- the plant manager
  signed this extract off
"""
    assert split_bullets(text) == (
        "required columns: station, shift",
        "no nulls in station",
        "at least 10 rows",
        "unique station",
        "cycle_time between 1 and 2",
        "the plant manager signed this extract off",
    )
    kinds = [type(s) for s in parse_instructions(text)]
    assert kinds == [RequiredColumns, NoNulls, RowCount, Unique, ValueRange, ManualCheck]


def test_prose_outside_a_list_is_kept_as_manual_checks() -> None:
    specs = parse_instructions("Look at the shift pattern.\n\n- at least 5 rows")
    assert specs[0] == ManualCheck("Look at the shift pattern.")
    assert isinstance(specs[1], RowCount)


def test_required_columns() -> None:
    spec = one("required columns: station, cycle_time, shift")
    assert spec == RequiredColumns(spec.bullet, ("station", "cycle_time", "shift"))
    assert one('Required column: "odd name"').columns == ("odd name",)
    assert one('required columns: "a, and b", brand').columns == ("a, and b", "brand")


def test_no_nulls_one_or_several_columns() -> None:
    assert one("no nulls in cycle_time").columns == ("cycle_time",)
    assert one("no nulls in cycle_time, shift and station").columns == (
        "cycle_time",
        "shift",
        "station",
    )


def test_value_range_numbers_dates_timestamps_and_units() -> None:
    spec = one("cycle_time between 10 and 100")
    assert (spec.column, spec.low, spec.high, spec.unit) == ("cycle_time", 10, 100, "")
    assert one("cycle_time between 10s and 100s").unit == "s"
    assert one("cycle_time between 10 and 100 seconds").unit == "s"
    assert one("x between -1.5 and 2.5e3").high == 2500.0
    dates = one("day between 2024-01-01 and 2024-12-31")
    assert (dates.low, dates.high) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    stamps = one("ts between '2024-01-01 06:00' and 2024-01-01T22:30:15")
    assert stamps.low == dt.datetime(2024, 1, 1, 6, 0)
    assert stamps.high == dt.datetime(2024, 1, 1, 22, 30, 15)
    assert (one("x at least 0").low, one("x at least 0").high) == (0, None)
    assert (one("x at most 5").low, one("x at most 5").high) == (None, 5)


def test_inline_set_and_known_set() -> None:
    spec = one("shift in {A, B, C}")
    assert spec == InSet(spec.bullet, "shift", ("A", "B", "C"))
    assert one("line in {1, 2, '3'}").values == (1, 2, "3")
    assert one("name in {'a, b', c}").values == ("a, b", "c")
    known = one("recipe_code in known set from recipes.csv (code)")
    assert known == InKnownSet(known.bullet, "recipe_code", "recipes.csv", "code")
    node = one("recipe_code in known set from recipes (code)")
    assert node.source == "recipes"


def test_row_counts() -> None:
    assert (one("at least 100 rows").low, one("at least 100 rows").high) == (100, None)
    spec = one("between 100 and 100,000 rows")
    assert spec == RowCount(spec.bullet, low=100, high=100_000)
    assert one("at most 5 rows").high == 5
    assert (one("exactly 7 rows").low, one("exactly 7 rows").high) == (7, 7)


def test_unique_one_column_and_composite() -> None:
    assert one("unique station") == Unique("unique station", ("station",))
    assert one("unique (station, shift)").columns == ("station", "shift")


def test_matches() -> None:
    spec = one("recipe_code matches ^R[0-9]{2}$")
    assert spec == Matches(spec.bullet, "recipe_code", "^R[0-9]{2}$")


@pytest.mark.parametrize("func", ["mean", "min", "max", "median", "sum"])
def test_aggregates(func: str) -> None:
    spec = one(f"{func} of cycle_time between 30 and 60")
    assert spec == AggregateRange(spec.bullet, func, "cycle_time", 30, 60)


def test_average_is_mean() -> None:
    assert one("average of cycle_time at most 60").func == "mean"


def test_drift() -> None:
    spec = one("row count within 20% of last confirmed run")
    assert spec == RowCountDrift(spec.bullet, 20.0)


def test_unknown_prose_becomes_manual_never_dropped() -> None:
    text = "- Check that cycle times look plausible\n- compare with the plant dashboard"
    assert parse_instructions(text) == (
        ManualCheck("Check that cycle times look plausible"),
        ManualCheck("compare with the plant dashboard"),
    )


@pytest.mark.parametrize(
    ("bullet", "reason"),
    [
        ("cycle_time between 10 and", "between <low> and <high>"),
        ("cycle_time between 100 and 10", "above the upper bound"),
        ("cycle_time between ten and 100", "not a number"),
        ("cycle_time between 10 and 2024-01-01", "not of the same kind"),
        ("cycle_time between 10s and 100ms", "different units"),
        ("day between 2024-02-30 and 2024-03-01", "not a valid date"),
        ("required columns:", "no column"),
        ("no nulls", "which columns"),
        ("at least many rows", "not a number"),
        ("between 10 and 5 rows", "above the upper bound"),
        ("unique (station, shift", "not closed"),
        ("shift in {A, B", "not closed"),
        ("shift in {A, , B}", "empty value"),
        ("recipe_code in known set from recipes.csv", "known set reads"),
        ("recipe_code matches ^R[0-9", "not a regular expression"),
        ("recipe_code matches (?=R)", "RE2"),
        ("mean of cycle_time between 60 and 30", "above the upper bound"),
        ("row count within lots of last confirmed run", "N% of last confirmed run"),
    ],
)
def test_malformed_known_forms_raise_with_bullet_and_reason(bullet: str, reason: str) -> None:
    with pytest.raises(InstructionError) as err:
        parse_instructions(f"- fine prose\n- {bullet}")
    assert err.value.bullet == bullet
    assert reason in err.value.reason
    assert bullet in str(err.value)


def test_parse_bullet_is_case_insensitive_on_keywords() -> None:
    assert isinstance(parse_bullet("Required Columns: a"), RequiredColumns)
    assert isinstance(parse_bullet("AT LEAST 3 ROWS"), RowCount)
    assert isinstance(parse_bullet("No Nulls In a"), NoNulls)
