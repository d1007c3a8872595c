"""The gate-instruction grammar: Markdown bullets to check specifications.

Pure parsing, no data access, so template validation can reject a malformed bullet when the
template is built rather than when a run reaches the gate. The checker (`prodex_jupyter.checks`)
turns these specs into SQL. The grammar is documented in docs/gate-instructions.md.

Two outcomes for a bullet besides a parsed check: prose the grammar does not know becomes a
`ManualCheck` (never dropped: a person must verify it), and a bullet that opens like a known form
but does not finish it (`cycle_time between 10 and`) raises `InstructionError`, because silently
turning a typo into a manual check would hide a check the author meant to automate.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

Scalar = int | float | str | dt.date | dt.datetime
Aggregate = Literal["mean", "min", "max", "median", "sum"]


class InstructionError(ValueError):
    """A bullet that is clearly one of the grammar's forms but malformed."""

    def __init__(self, bullet: str, reason: str) -> None:
        self.bullet = bullet
        self.reason = reason
        super().__init__(f"cannot read instruction '{bullet}': {reason}")


@dataclass(frozen=True)
class CheckSpec:
    """One bullet, understood: subclasses carry the parsed parts, `bullet` the text as written."""

    bullet: str


@dataclass(frozen=True)
class ManualCheck(CheckSpec):
    """A bullet the grammar does not understand: shown to the person as unverified."""


@dataclass(frozen=True)
class RequiredColumns(CheckSpec):
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoNulls(CheckSpec):
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValueRange(CheckSpec):
    """Every non-null value of `column` within [low, high]; either bound may be None (open)."""

    column: str = ""
    low: Scalar | None = None
    high: Scalar | None = None
    unit: str = ""  # as written on the bounds ("10s"); a label for messages, never a conversion


@dataclass(frozen=True)
class InSet(CheckSpec):
    """Every non-null value of `column` is one of `values` (written inline)."""

    column: str = ""
    values: tuple[Scalar, ...] = ()


@dataclass(frozen=True)
class InKnownSet(CheckSpec):
    """Every non-null value of `column` appears in `source_column` of `source`.

    `source` is an upstream node's id or a file path (relative to the template's directory).
    """

    column: str = ""
    source: str = ""
    source_column: str = ""


@dataclass(frozen=True)
class RowCount(CheckSpec):
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Unique(CheckSpec):
    """No two rows share the same values of `columns` (one column, or a composite key)."""

    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Matches(CheckSpec):
    """Every non-null value of `column` matches `pattern` (a regular expression, searched)."""

    column: str = ""
    pattern: str = ""


@dataclass(frozen=True)
class AggregateRange(CheckSpec):
    """A computed figure (`func` of `column`) in [low, high]: a transform gate's sanity check."""

    func: Aggregate = "mean"
    column: str = ""
    low: Scalar | None = None
    high: Scalar | None = None
    unit: str = ""


@dataclass(frozen=True)
class RowCountDrift(CheckSpec):
    """Row count within `percent` % of the last confirmed run of the same gate."""

    percent: float = 0.0


# ---------------------------------------------------------------------------------------------
# Splitting Markdown into bullets

_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s")


def split_bullets(text: str) -> tuple[str, ...]:
    """The bullets of a Markdown list, continuation lines joined, in order.

    A non-empty line outside any bullet becomes an item of its own, so nothing the author wrote is
    silently ignored; Markdown headings are the only lines skipped.
    """
    items: list[str] = []
    current: list[str] | None = None
    for raw in (text or "").replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            current = None
            continue
        if _HEADING.match(line):
            current = None
            continue
        m = _BULLET.match(line)
        if m:
            current = [m.group(2).strip()]
            items.append("")
        elif current is not None:
            current.append(line.strip())
        else:
            current = [line.strip()]
            items.append("")
        items[-1] = " ".join(part for part in current if part)
    return tuple(item for item in items if item)


# ---------------------------------------------------------------------------------------------
# Tokens

_IDENT = r'(?:"[^"]+"|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)'
_AGGS = {
    "mean": "mean",
    "avg": "mean",
    "average": "mean",
    "min": "min",
    "minimum": "min",
    "max": "max",
    "maximum": "max",
    "median": "median",
    "sum": "sum",
    "total": "sum",
}
_NUMBER = re.compile(
    r"^[+-]?(?:\d{1,3}(?:[,_]\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$")


def _ident(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1]
    return token


def _unquote(token: str) -> tuple[str, bool]:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"`":
        return token[1:-1], True
    return token, False


def _column_list(bullet: str, text: str, what: str) -> tuple[str, ...]:
    text = text.strip().rstrip(".").strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    # names separated by commas or 'and'; a quoted name may contain either
    parts = [p.strip() for p in re.findall(r'"[^"]*"|`[^`]*`|[^,"`]+', text)]
    parts = [
        q.strip() for p in parts for q in (re.split(r"\band\b", p) if p[:1] not in '"`' else [p])
    ]
    parts = [p for p in parts if p]
    if not parts:
        raise InstructionError(bullet, f"no {what} named")
    bad = [p for p in parts if not re.fullmatch(_IDENT, p)]
    if bad:
        raise InstructionError(bullet, f"'{bad[0]}' is not a column name")
    return tuple(_ident(p) for p in parts)


def parse_literal(bullet: str, token: str) -> Scalar:
    """A bound as written: a number, an ISO date, an ISO timestamp (quotes optional)."""
    text, _ = _unquote(token.strip().rstrip("."))
    text = text.strip()
    if not text:
        raise InstructionError(bullet, "a bound is missing")
    if _NUMBER.match(text):
        clean = text.replace(",", "").replace("_", "")
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        return float(clean)
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise InstructionError(bullet, f"'{text}' is not a valid date") from exc
    if _TIMESTAMP.match(text):
        try:
            return dt.datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError as exc:
            raise InstructionError(bullet, f"'{text}' is not a valid timestamp") from exc
    raise InstructionError(bullet, f"'{text}' is not a number, a date or a timestamp")


def _bounds(bullet: str, low_text: str, high_text: str) -> tuple[Scalar, Scalar]:
    low, high = parse_literal(bullet, low_text), parse_literal(bullet, high_text)
    numeric = [isinstance(v, (int, float)) for v in (low, high)]
    if numeric[0] != numeric[1]:
        raise InstructionError(bullet, "the two bounds are not of the same kind")
    if isinstance(low, dt.datetime) != isinstance(high, dt.datetime) and not numeric[0]:
        # A date next to a timestamp: read the date as its midnight.
        low = low if isinstance(low, dt.datetime) else dt.datetime.combine(low, dt.time())
        high = high if isinstance(high, dt.datetime) else dt.datetime.combine(high, dt.time())
    if low > high:  # type: ignore[operator]
        raise InstructionError(bullet, f"the lower bound {low} is above the upper bound {high}")
    return low, high


def _count(bullet: str, token: str) -> int:
    value = parse_literal(bullet, token)
    if not isinstance(value, int) or value < 0:
        raise InstructionError(bullet, f"'{token.strip()}' is not a row count")
    return value


def _set_values(bullet: str, inner: str) -> tuple[Scalar, ...]:
    parts = [p.strip() for p in _split_top_commas(inner)]
    if not parts or any(not p for p in parts):
        raise InstructionError(bullet, "the set has an empty value")
    values: list[Scalar] = []
    for part in parts:
        text, quoted = _unquote(part)
        if not quoted and _NUMBER.match(text):
            values.append(parse_literal(bullet, text))
        else:
            values.append(text)
    return tuple(values)


def _split_top_commas(text: str) -> list[str]:
    """Commas outside quotes, so a quoted value may contain one."""
    out, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    if len(out) == 1 and not out[0].strip():
        return []
    return out


# ---------------------------------------------------------------------------------------------
# Forms. Each is (trigger, parser): when the trigger matches, the bullet is committed to the form
# and anything short of a full parse is an InstructionError.

_I = re.IGNORECASE


def _parse_required(bullet: str, body: str) -> CheckSpec:
    m = re.match(r"^required\s+columns?\s*:?(.*)$", body, _I)
    assert m
    return RequiredColumns(bullet, _column_list(bullet, m.group(1), "column"))


def _parse_no_nulls(bullet: str, body: str) -> CheckSpec:
    m = re.match(r"^no\s+(?:nulls?|null\s+values|missing\s+values)(?:\s+in\b(.*))?$", body, _I)
    assert m
    if m.group(1) is None:
        raise InstructionError(bullet, "say which columns: 'no nulls in <column>, <column>'")
    return NoNulls(bullet, _column_list(bullet, m.group(1), "column"))


def _parse_row_count(bullet: str, body: str) -> CheckSpec:
    text = body.rstrip(".").strip()
    m = re.match(r"^at\s+least\s+(\S+)\s+rows?$", text, _I)
    if m:
        return RowCount(bullet, low=_count(bullet, m.group(1)))
    m = re.match(r"^at\s+most\s+(\S+)\s+rows?$", text, _I)
    if m:
        return RowCount(bullet, high=_count(bullet, m.group(1)))
    m = re.match(r"^exactly\s+(\S+)\s+rows?$", text, _I)
    if m:
        n = _count(bullet, m.group(1))
        return RowCount(bullet, low=n, high=n)
    m = re.match(r"^between\s+(\S+)\s+and\s+(\S+)\s+rows?$", text, _I)
    if m:
        low, high = _count(bullet, m.group(1)), _count(bullet, m.group(2))
        if low > high:
            raise InstructionError(bullet, f"the lower bound {low} is above the upper bound {high}")
        return RowCount(bullet, low=low, high=high)
    raise InstructionError(
        bullet, "row counts read 'at least N rows', 'at most N rows' or 'between N and M rows'"
    )


def _parse_unique(bullet: str, body: str) -> CheckSpec:
    m = re.match(r"^unique\s*(.*)$", body, _I)
    assert m
    rest = m.group(1).strip().rstrip(".").strip()
    if rest.startswith("(") and not rest.endswith(")"):
        raise InstructionError(bullet, "the column list is not closed with ')'")
    return Unique(bullet, _column_list(bullet, rest, "column"))


def _parse_drift(bullet: str, body: str) -> CheckSpec:
    text = body.rstrip(".").strip()
    m = re.match(
        r"^row\s+count\s+within\s+(\S+?)\s*%\s+of\s+(?:the\s+)?last\s+confirmed\s+run$", text, _I
    )
    if not m:
        raise InstructionError(bullet, "drift reads 'row count within N% of last confirmed run'")
    pct = parse_literal(bullet, m.group(1))
    if not isinstance(pct, (int, float)) or pct < 0:
        raise InstructionError(bullet, f"'{m.group(1)}' is not a percentage")
    return RowCountDrift(bullet, percent=float(pct))


_UNITS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "ms": "ms",
    "min": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hour": "h",
    "hours": "h",
    "%": "%",
    "percent": "%",
}
_WITH_UNIT = re.compile(
    r"^([+-]?[\d.,_]+(?:[eE][+-]?\d+)?)\s*(" + "|".join(_UNITS) + r")\.?$", re.IGNORECASE
)


def _split_unit(token: str) -> tuple[str, str]:
    """'94s' -> ('94', 's'), '100 seconds' -> ('100', 's'); other tokens pass unchanged."""
    m = _WITH_UNIT.match(token.strip())
    if m and _NUMBER.match(m.group(1)):
        return m.group(1), _UNITS[m.group(2).lower()]
    return token, ""


def _parse_bounds_tail(bullet: str, tail: str) -> tuple[Scalar | None, Scalar | None, str]:
    """'between A and B' | 'at least A' | 'at most B' after the subject, and the unit if any."""
    tail = tail.strip()
    m = re.match(r"^between\b(.*)$", tail, _I)
    if m:
        parts = re.split(r"\s+and\s+", m.group(1).strip() + " ", maxsplit=1, flags=_I)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise InstructionError(bullet, "a range reads 'between <low> and <high>'")
        (low, low_unit), (high, high_unit) = _split_unit(parts[0]), _split_unit(parts[1])
        if low_unit and high_unit and low_unit != high_unit:
            raise InstructionError(bullet, "the two bounds have different units")
        return (*_bounds(bullet, low, high), high_unit or low_unit)
    m = re.match(r"^(?:at\s+least|>=)\s*(.*)$", tail, _I)
    if m:
        value, unit = _split_unit(m.group(1))
        return parse_literal(bullet, value), None, unit
    m = re.match(r"^(?:at\s+most|<=)\s*(.*)$", tail, _I)
    if m:
        value, unit = _split_unit(m.group(1))
        return None, parse_literal(bullet, value), unit
    raise InstructionError(bullet, "a bound reads 'between A and B', 'at least A' or 'at most B'")


def _parse_aggregate(bullet: str, body: str) -> CheckSpec:
    m = re.match(rf"^(\w+)\s+of\s+({_IDENT})\s+(.*)$", body.strip(), _I)
    if not m:
        raise InstructionError(
            bullet, "reads '<mean|min|max|median|sum> of <column> between A and B'"
        )
    func = _AGGS[m.group(1).lower()]
    low, high, unit = _parse_bounds_tail(bullet, m.group(3))
    return AggregateRange(
        bullet, func=func, column=_ident(m.group(2)), low=low, high=high, unit=unit
    )  # type: ignore[arg-type]


def _parse_column_form(bullet: str, body: str) -> CheckSpec:
    m = re.match(rf"^({_IDENT})\s+(.*)$", body.strip(), _I)
    assert m
    column, rest = _ident(m.group(1)), m.group(2).strip()
    if re.match(r"^(?:between|at\s+least|at\s+most|>=|<=)(?:\s|$)", rest, _I):
        low, high, unit = _parse_bounds_tail(bullet, rest)
        return ValueRange(bullet, column=column, low=low, high=high, unit=unit)
    if re.match(r"^matches\b", rest, _I):
        pattern, _ = _unquote(rest[len("matches") :].strip())
        if not pattern:
            raise InstructionError(bullet, "no pattern after 'matches'")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InstructionError(
                bullet, f"'{pattern}' is not a regular expression: {exc}"
            ) from exc
        if _RE2_UNSUPPORTED.search(pattern):
            raise InstructionError(
                bullet, "lookarounds and backreferences are not supported (DuckDB uses RE2)"
            )
        return Matches(bullet, column=column, pattern=pattern)
    m = re.match(r"^in\s+known\s+set\b(.*)$", rest, _I)
    if m:
        src = re.match(r"^\s+from\s+(.+?)\s*\(\s*(" + _IDENT + r")\s*\)\s*\.?$", m.group(1), _I)
        if not src:
            raise InstructionError(
                bullet, "a known set reads 'in known set from <file or node> (<column>)'"
            )
        source, _ = _unquote(src.group(1))
        problem = known_set_path_problem(source)
        if problem:
            raise InstructionError(bullet, problem)
        return InKnownSet(bullet, column=column, source=source, source_column=_ident(src.group(2)))
    m = re.match(r"^in\s*\{(.*)$", rest, _I)
    if m:
        inner = m.group(1).rstrip().rstrip(".").rstrip()
        if not inner.endswith("}"):
            raise InstructionError(bullet, "the set is not closed with '}'")
        return InSet(bullet, column=column, values=_set_values(bullet, inner[:-1]))
    return ManualCheck(bullet)


def known_set_path_problem(source: str) -> str | None:
    """Why a known set's file may not be read, or None. A known set is a declared input of the
    template: a file inside the template's folder, named relative to it (or an upstream node)."""
    path = PurePosixPath(source.replace("\\", "/"))
    if source.startswith("~") or path.is_absolute() or PureWindowsPath(source).drive:
        return (
            f"the known set '{source}' is an absolute path; name a file inside the template's "
            "folder, relative to it"
        )
    if ".." in path.parts:
        return (
            f"the known set '{source}' leaves the template's folder ('..'); name a file inside "
            "it, relative to it"
        )
    return None


_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")

_FORMS: tuple[tuple[re.Pattern[str], object], ...] = (
    (re.compile(r"^required\s+columns?\b", _I), _parse_required),
    (re.compile(r"^no\s+(?:nulls?|null\s+values|missing\s+values)\b", _I), _parse_no_nulls),
    (re.compile(r"^(?:at\s+least|at\s+most|exactly)\s+\S+\s+rows?\b", _I), _parse_row_count),
    (
        re.compile(r"^between\s+\S+\s+and\s+\S*\s*rows?\b|^between\b.*\brows?\.?$", _I),
        _parse_row_count,
    ),
    (re.compile(r"^unique\s*(?:\(|" + _IDENT + r"\s*\.?$)", _I), _parse_unique),
    (re.compile(r"^row\s+count\s+within\b", _I), _parse_drift),
    (
        re.compile(
            r"^(?:"
            + "|".join(_AGGS)
            + r")\s+of\s+"
            + _IDENT
            + r"\s+(?:between|at\s+least|at\s+most|>=|<=)",
            _I,
        ),
        _parse_aggregate,
    ),
    (
        re.compile(
            r"^"
            + _IDENT
            + r"\s+(?:(?:between|at\s+least|at\s+most|matches|in\s+known\s+set)(?:\s|$)"
            + r"|>=|<=|in\s*\{)",
            _I,
        ),
        _parse_column_form,
    ),
)


def parse_bullet(bullet: str) -> CheckSpec:
    """One bullet to its check; prose becomes a ManualCheck, a broken known form raises."""
    body = bullet.strip()
    for trigger, parser in _FORMS:
        if trigger.match(body):
            return parser(bullet, body)  # type: ignore[operator]
    return ManualCheck(bullet)


def parse_instructions(text: str) -> tuple[CheckSpec, ...]:
    """Every bullet of a gate's instructions, in order, each parsed; none dropped."""
    return tuple(parse_bullet(b) for b in split_bullets(text))
