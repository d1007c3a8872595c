"""The confidence grade, by documented rules (docs/gate-instructions.md), each tested.

low    - any check failed, or the data is empty;
medium - every automatic check passed, but there are manual checks, warnings (drift beyond its
         threshold, values within 2% of a bound, fewer than 30 rows), or the gate has no
         instructions or custom checks at all (profile only);
high   - otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from prodex_jupyter.checks.evidence import CheckResult, Confidence

FEW_ROWS = 30


def grade(
    checks: Sequence[CheckResult], *, row_count: int, warnings: Sequence[str], profile_only: bool
) -> Confidence:
    """The grade from the results; `warnings` already holds every warning of the evidence."""
    if row_count == 0 or any(c.status == "fail" for c in checks):
        return "low"
    if profile_only or warnings or any(c.status in ("manual", "warn") for c in checks):
        return "medium"
    return "high"
