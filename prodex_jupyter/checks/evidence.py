"""What the checker hands the person: evidence records, frozen and JSON-safe.

Evidence is stored in the run record and read back (as the baseline of a later run), so every
record round-trips through `to_dict` / `from_dict` with plain JSON types only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "manual", "warn", "skipped"]
Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, reported the way Great Expectations does: a count and a few examples."""

    bullet: str
    status: Status
    message: str
    observed: dict[str, Any] = field(default_factory=dict)
    unexpected_count: int | None = None
    unexpected_rows: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "bullet": self.bullet,
            "status": self.status,
            "message": self.message,
            "observed": dict(self.observed),
            "unexpected_count": self.unexpected_count,
            "unexpected_rows": [dict(r) for r in self.unexpected_rows],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(
            bullet=d["bullet"],
            status=d["status"],
            message=d.get("message", ""),
            observed=dict(d.get("observed") or {}),
            unexpected_count=d.get("unexpected_count"),
            unexpected_rows=tuple(dict(r) for r in d.get("unexpected_rows") or ()),
        )


@dataclass(frozen=True)
class ColumnProfile:
    """One column's figures. `categories` is the full value histogram of a low-cardinality text
    column (None when the column has too many distinct values to list), which drift compares."""

    name: str
    type: str
    null_count: int
    min: Any = None
    max: Any = None
    distinct_count: int | None = None
    top_values: tuple[tuple[Any, int], ...] = ()
    categories: tuple[tuple[Any, int], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "null_count": self.null_count,
            "min": self.min,
            "max": self.max,
            "distinct_count": self.distinct_count,
            "top_values": [[v, n] for v, n in self.top_values],
            "categories": None if self.categories is None else [[v, n] for v, n in self.categories],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnProfile:
        cats = d.get("categories")
        return cls(
            name=d["name"],
            type=d["type"],
            null_count=int(d.get("null_count") or 0),
            min=d.get("min"),
            max=d.get("max"),
            distinct_count=d.get("distinct_count"),
            top_values=tuple((v, int(n)) for v, n in d.get("top_values") or ()),
            categories=None if cats is None else tuple((v, int(n)) for v, n in cats),
        )


@dataclass(frozen=True)
class DriftFinding:
    """One difference from the last confirmed run; `warning` when it is beyond its threshold."""

    kind: Literal["row_count", "new_categories", "vanished_categories", "range_shift", "schema"]
    message: str
    column: str | None = None
    before: Any = None
    after: Any = None
    warning: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "column": self.column,
            "before": self.before,
            "after": self.after,
            "warning": self.warning,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DriftFinding:
        return cls(
            kind=d["kind"],
            message=d.get("message", ""),
            column=d.get("column"),
            before=d.get("before"),
            after=d.get("after"),
            warning=bool(d.get("warning")),
        )


@dataclass(frozen=True)
class Drift:
    """The comparison with the last confirmed run of the same gate (`compared_to` is its label)."""

    compared_to: str
    findings: tuple[DriftFinding, ...] = ()

    @property
    def warnings(self) -> tuple[DriftFinding, ...]:
        return tuple(f for f in self.findings if f.warning)

    def to_dict(self) -> dict[str, Any]:
        return {"compared_to": self.compared_to, "findings": [f.to_dict() for f in self.findings]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Drift:
        return cls(
            compared_to=d.get("compared_to", ""),
            findings=tuple(DriftFinding.from_dict(f) for f in d.get("findings") or ()),
        )


@dataclass(frozen=True)
class Evidence:
    """Everything gathered for one gate on one run, and the grade and sentence derived from it.

    `files` lists every file the checks read besides the data (known sets): the bullet, the path
    as written, where it resolved, its size and sha256, so the record says what the gate
    compared against.

    `data_passes` counts the reads of the data it took (the aggregate pass, plus one per failing
    check for its offending rows; custom checks, which query as they like, are not counted), so
    the cost stays visible.
    """

    label: str
    row_count: int
    columns: tuple[ColumnProfile, ...]
    sample: tuple[dict[str, Any], ...]
    checks: tuple[CheckResult, ...]
    drift: Drift | None
    warnings: tuple[str, ...]
    confidence: Confidence
    summary: str
    data_passes: int = 1
    files: tuple[dict[str, Any], ...] = ()  # files read besides the data (known sets), hashed

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of a column, matched without regard to case as DuckDB does."""
        for col in self.columns:
            if col.name == name:
                return col
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "row_count": self.row_count,
            "columns": [c.to_dict() for c in self.columns],
            "sample": [dict(r) for r in self.sample],
            "checks": [c.to_dict() for c in self.checks],
            "drift": None if self.drift is None else self.drift.to_dict(),
            "warnings": list(self.warnings),
            "confidence": self.confidence,
            "summary": self.summary,
            "data_passes": self.data_passes,
            "files": [dict(f) for f in self.files],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        drift = d.get("drift")
        return cls(
            label=d.get("label", ""),
            row_count=int(d.get("row_count") or 0),
            columns=tuple(ColumnProfile.from_dict(c) for c in d.get("columns") or ()),
            sample=tuple(dict(r) for r in d.get("sample") or ()),
            checks=tuple(CheckResult.from_dict(c) for c in d.get("checks") or ()),
            drift=None if drift is None else Drift.from_dict(drift),
            warnings=tuple(d.get("warnings") or ()),
            confidence=d.get("confidence", "low"),
            summary=d.get("summary", ""),
            data_passes=int(d.get("data_passes") or 0),
            files=tuple(dict(f) for f in d.get("files") or ()),
        )
