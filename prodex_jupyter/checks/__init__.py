"""Layer 2: the gate checker. Instruction bullets to checks, one-pass DuckDB evidence, the
confidence grade and the one-line summary a person reads. Imports only the template layer."""

from prodex_jupyter.checks.custom import CustomCheckError, CustomResult, resolve_check
from prodex_jupyter.checks.evidence import (
    CheckResult,
    ColumnProfile,
    Confidence,
    Drift,
    DriftFinding,
    Evidence,
    Status,
)
from prodex_jupyter.checks.gather import gather_evidence
from prodex_jupyter.checks.source import DataRef, DataStream, SourceError

__all__ = [
    "CheckResult",
    "ColumnProfile",
    "Confidence",
    "CustomCheckError",
    "CustomResult",
    "DataRef",
    "DataStream",
    "Drift",
    "DriftFinding",
    "Evidence",
    "SourceError",
    "Status",
    "gather_evidence",
    "resolve_check",
]
