"""Custom checks: a Python function over a DuckDB relation, for what the grammar cannot say.

A custom check receives the gated data as a `duckdb.DuckDBPyRelation` (lazy: nothing is read
until the function asks) and returns a `CustomResult` (or a `(passed, sentence)` pair, or a bare
bool). Templates built in Python pass the function itself in `Gate.custom_checks`; YAML names it
as "module:function". The first line of the function's docstring is the check's text in the
evidence, so write it as the instruction it stands for.

    def recipes_per_station(rel):
        '''each station runs at most 5 recipes'''
        worst = rel.aggregate("station, count(DISTINCT recipe_code) AS n").max("n").fetchall()[0][0]
        return CustomResult(worst <= 5, f"at most {worst} recipes on one station", {"max": worst})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from prodex_jupyter.checks.evidence import CheckResult
from prodex_jupyter.checks.json_values import json_safe


@dataclass(frozen=True)
class CustomResult:
    """What a custom check returns: pass or fail, and the sentence a person reads as evidence."""

    passed: bool
    evidence: str
    observed: Mapping[str, Any] = field(default_factory=dict)
    unexpected_count: int | None = None
    unexpected_rows: tuple[Mapping[str, Any], ...] = ()


CustomCheck = Callable[[duckdb.DuckDBPyRelation], "CustomResult | tuple[bool, str] | bool"]


class CustomCheckError(ValueError):
    """A "module:function" reference that does not lead to a callable."""


def resolve_check(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    """The function a reference names; callables pass through."""
    if callable(ref):
        return ref
    module_name, sep, attr = str(ref).partition(":")
    if not sep or not module_name or not attr:
        raise CustomCheckError(f"custom check '{ref}' should read 'module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CustomCheckError(f"custom check '{ref}': cannot import {module_name}: {exc}") from exc
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise CustomCheckError(f"custom check '{ref}': {module_name} has no {attr}")
    if not callable(obj):
        raise CustomCheckError(f"custom check '{ref}' is not a function")
    return obj


def check_text(ref: str | Callable[..., Any], func: Callable[..., Any] | None) -> str:
    """How the check is shown: its docstring's first line, else its reference."""
    doc = (getattr(func, "__doc__", None) or "").strip()
    if doc:
        return doc.split("\n")[0].strip()
    if isinstance(ref, str):
        return f"custom check {ref}"
    return f"custom check {getattr(ref, '__module__', '?')}:{getattr(ref, '__qualname__', ref)}"


def run_custom(ref: str | Callable[..., Any], rel: duckdb.DuckDBPyRelation) -> CheckResult:
    """One custom check's result. A check that cannot run fails: a check that never ran must not
    read as a pass."""
    func = None
    try:
        func = resolve_check(ref)
        text = check_text(ref, func)
        out = func(rel)
    except Exception as exc:
        text = check_text(ref, func)
        return CheckResult(
            text, "fail", f"The custom check could not run: {type(exc).__name__}: {exc}", {}
        )
    if isinstance(out, CustomResult):
        result = out
    elif isinstance(out, tuple) and len(out) == 2:
        result = CustomResult(bool(out[0]), str(out[1]))
    elif isinstance(out, bool):
        result = CustomResult(out, "passed" if out else "failed")
    else:
        return CheckResult(
            text,
            "fail",
            f"The custom check returned {type(out).__name__}, not a CustomResult or"
            " (passed, sentence).",
            {},
        )
    return CheckResult(
        text,
        "pass" if result.passed else "fail",
        result.evidence,
        observed=json_safe(dict(result.observed)),
        unexpected_count=result.unexpected_count,
        unexpected_rows=tuple(json_safe(dict(r)) for r in result.unexpected_rows[:5]),
    )
