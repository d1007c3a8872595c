"""The pieces of a template: nodes and gates. Frozen data, so nothing changes under a run."""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal["source", "sql", "python", "output"]
SOURCE_FORMATS = ("csv", "parquet", "json", "ndjson")

# A custom check is named "module:function" (YAML) or given as the function itself (Python).
CheckRef = str | Callable[..., Any]


@dataclass(frozen=True)
class Gate:
    """A human checkpoint on one node. `instructions` is read by the checker, not shown."""

    gate_id: str
    name: str
    description: str = ""
    instructions: str = ""
    custom_checks: tuple[CheckRef, ...] = ()
    default: bool = False  # placed automatically on a source that was given none
    # Who may decide: user names and "group:<name>" (empty: anyone); with four_eyes, the person
    # who started a run cannot confirm its gates. Part of the fingerprint like every field here.
    deciders: tuple[str, ...] = ()
    four_eyes: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"gate_id": self.gate_id, "name": self.name}
        if self.description:
            out["description"] = self.description
        if self.instructions:
            out["instructions"] = self.instructions
        if self.custom_checks:
            out["custom_checks"] = [callable_ref(c) for c in self.custom_checks]
        if self.deciders:
            out["deciders"] = list(self.deciders)
        if self.four_eyes:
            out["four_eyes"] = True
        return out


@dataclass(frozen=True, kw_only=True)
class Node:
    """What every node has: an id, its upstream ids, an explanation for the derivation drawer."""

    id: str
    upstream: tuple[str, ...] = ()
    explanation: str = ""
    gate: Gate | None = None
    timeout_s: float | None = None  # a time limit; past it the node fails and the run goes on

    kind: NodeKind = field(init=False, default="source")

    def body(self) -> dict[str, Any]:
        """The kind-specific fields, as stored in YAML."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, **self.body()}
        if self.explanation:
            out["explanation"] = self.explanation
        if self.timeout_s is not None:
            out["timeout_s"] = self.timeout_s
        if self.gate is not None and not self.gate.default:
            out["gate"] = self.gate.to_dict()
        return out

    @property
    def code(self) -> str:
        """The derivation code shown in the drawer and recorded with every result."""
        return ""


@dataclass(frozen=True, kw_only=True)
class SourceNode(Node):
    """A file (CSV, Parquet, JSON, NDJSON) or, with no path, a DataFrame handed in at run time."""

    path: str | None = None
    format: str | None = None
    encoding: str | None = None  # of a CSV file; None: UTF-8, and anything else is refused
    kind: NodeKind = field(init=False, default="source")

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.path is not None:
            out["path"] = self.path
        if self.format is not None:
            out["format"] = self.format
        if self.encoding is not None:
            out["encoding"] = self.encoding
        return out

    @property
    def code(self) -> str:
        return f"-- read {self.path}" if self.path else f"-- DataFrame input '{self.id}'"


@dataclass(frozen=True, kw_only=True)
class SqlNode(Node):
    """DuckDB SQL reading upstream nodes by their ids as table names."""

    sql: str
    kind: NodeKind = field(init=False, default="sql")

    def body(self) -> dict[str, Any]:
        return {"sql": self.sql}

    @property
    def code(self) -> str:
        return self.sql


@dataclass(frozen=True, kw_only=True)
class PythonNode(Node):
    """A plain function whose parameters name upstream nodes.

    Exactly one of `func` (built in Python), `ref` ("module:function") or `source` (inline code
    defining the function) says where it comes from; `func` is resolved from the other two.
    """

    func: Callable[..., Any] | None = field(default=None, compare=False)
    ref: str | None = None
    source: str | None = None
    kind: NodeKind = field(init=False, default="python")

    def body(self) -> dict[str, Any]:
        if self.ref:
            return {"function": self.ref}
        return {"code": self.code}

    @functools.cached_property
    def code(self) -> str:  # cached: the node is frozen, its function's source is read once
        if self.source is not None:
            return normalize_code(self.source)
        if self.func is not None:
            return function_source(self.func)
        return ""


@dataclass(frozen=True, kw_only=True)
class OutputNode(Node):
    """What a pipeline exists for: one upstream node's value, or SQL over upstream nodes."""

    of: str | None = None
    sql: str | None = None
    kind: NodeKind = field(init=False, default="output")

    def body(self) -> dict[str, Any]:
        return {"sql": self.sql} if self.sql is not None else {"of": self.of}

    @property
    def code(self) -> str:
        return self.sql if self.sql is not None else f"SELECT * FROM {self.of}"


def normalize_code(text: str) -> str:
    """Code compared and hashed regardless of indentation, line endings or trailing space."""
    lines = textwrap.dedent(text.replace("\r\n", "\n")).strip("\n").split("\n")
    return "\n".join(line.rstrip() for line in lines)


def function_source(func: Callable[..., Any]) -> str:
    """A function's source without its decorators, so the recorded code is the plain function.

    Each source file is parsed once (`_function_spans`), so recording the code of a thousand
    functions from one module costs one parse, not a thousand tokenizer passes.
    """
    code = getattr(inspect.unwrap(func), "__code__", None)
    filename = code.co_filename if code is not None else None
    if filename:
        lines = linecache.getlines(filename)
        span = _function_spans(filename, len(lines), hash(tuple(lines[:3]))).get(
            code.co_firstlineno
        )
        if span is not None:
            return normalize_code("".join(lines[span[0] - 1 : span[1]]))
    try:
        return normalize_code(inspect.getsource(func))
    except (OSError, TypeError):
        return f"# source of {callable_ref(func)} is not available"


# CPython 3.11 (3.11.7 here) can raise "SystemError: AST constructor recursion depth mismatch"
# when two threads build ASTs at once (gh-106905): the engine's workers and a view's render thread
# both read node code.
_AST_LOCK = threading.Lock()


@functools.lru_cache(maxsize=256)
def _function_spans(filename: str, n_lines: int, head: int) -> dict[int, tuple[int, int]]:
    """For every function in a file: first line (decorator or def) -> (def line, last line)."""
    try:
        with _AST_LOCK:
            tree = ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return {}
    spans: dict[int, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            spans[first] = (node.lineno, node.end_lineno)
    return spans


def callable_ref(func: CheckRef) -> str:
    """'module:qualname' for a function; strings pass through."""
    if isinstance(func, str):
        return func
    return f"{func.__module__}:{func.__qualname__}"
