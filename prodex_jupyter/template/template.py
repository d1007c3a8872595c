"""A pipeline template: a DAG of source, sql, python and output nodes, with gates.

Built in Python (`Template(...).source(...).sql(...)`) or loaded from a `*.prodex.yaml` file;
validated as a whole before it runs or is saved; fingerprinted so a run can later tell whether
the template that produced it has changed.
"""

from __future__ import annotations

import codecs
import graphlib
import hashlib
import inspect
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .errors import TemplateError
from .instructions import InstructionError, parse_instructions
from .nodes import (
    SOURCE_FORMATS,
    Gate,
    Node,
    OutputNode,
    PythonNode,
    SourceNode,
    SqlNode,
    normalize_code,
)
from .sql_refs import SqlSyntaxError, referenced_tables

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_T = TypeVar("_T")

# The engine that `Template.run` hands over to. The runtime layer installs it on import, so this
# layer needs no upward import (layers point down only).
_engine: Callable[..., Any] | None = None


def install_engine(engine: Callable[..., Any]) -> None:
    """Called once by `prodex_jupyter.runtime` so that `Template.run` can start runs."""
    global _engine
    _engine = engine


GateLike = Gate | Mapping[str, Any] | None


class Template:
    """A DAG of nodes with gates. Adding a node checks that node; `validate()` checks the whole."""

    def __init__(
        self, id: str, description: str = "", *, base_dir: str | Path | None = None
    ) -> None:
        if not isinstance(id, str) or not _IDENTIFIER.match(id):
            raise TemplateError(f"template id {id!r} must be a plain identifier", field="id")
        self.id = id
        self.description = description
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._nodes: dict[str, Node] = {}
        self._order: tuple[str, ...] | None = None
        # Fingerprint, digests and `derived` values: valid until a node is added.
        self._analysis: dict[str, Any] = {}

    # ----------------------------------------------------------------- building
    def source(
        self,
        id: str,
        path: str | Path | None = None,
        *,
        format: str | None = None,
        encoding: str | None = None,
        explanation: str = "",
        gate: GateLike = None,
        timeout_s: float | None = None,
    ) -> Template:
        """A file source, or (no path) a DataFrame handed in at run time as `inputs={id: df}`.

        `encoding` is a CSV file's text encoding (`latin-1`, `cp1252`...), for files handed in
        for this source too; without it a file that is not UTF-8 is refused, naming the byte."""
        text_path = str(path) if path is not None else None
        fmt = format or (_format_from_suffix(text_path) if text_path else None)
        if text_path is not None and fmt not in SOURCE_FORMATS:
            raise TemplateError(
                f"cannot tell the format of {text_path!r}; use a .csv, .parquet, .json or "
                f".ndjson file or pass format= one of {', '.join(SOURCE_FORMATS)}",
                node=id,
                field="format" if format else "path",
            )
        the_gate = _as_gate(gate, id) or Gate(
            gate_id=f"{id}_input",
            name=f"{id} input shape",
            description=f"Check the shape of the {id} input before anything is computed from it.",
            default=True,
        )
        node = SourceNode(
            id=id,
            path=text_path,
            format=fmt,
            encoding=_encoding(encoding, id, fmt),
            explanation=explanation,
            gate=the_gate,
            timeout_s=_timeout(timeout_s, id),
        )
        return self._add(node)

    def sql(
        self,
        id: str,
        sql: str,
        *,
        explanation: str = "",
        gate: GateLike = None,
        timeout_s: float | None = None,
    ) -> Template:
        """DuckDB SQL reading upstream nodes by id; the tables it reads are its upstream."""
        upstream = _sql_upstream(sql, id, "sql")
        return self._add(
            SqlNode(
                id=id,
                sql=sql,
                upstream=upstream,
                explanation=explanation,
                gate=_as_gate(gate, id),
                timeout_s=_timeout(timeout_s, id),
            )
        )

    def python(
        self,
        id: str | None = None,
        *,
        explanation: str = "",
        gate: GateLike = None,
        timeout_s: float | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: a plain function whose parameters name upstream nodes (DataFrames in)."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            node_id = id or func.__name__
            self._add(
                PythonNode(
                    id=node_id,
                    func=func,
                    upstream=_parameters(func, node_id),
                    explanation=explanation or (inspect.getdoc(func) or ""),
                    gate=_as_gate(gate, node_id),
                    timeout_s=_timeout(timeout_s, node_id),
                )
            )
            return func

        return register

    def python_node(
        self,
        id: str,
        *,
        function: str | Callable[..., Any] | None = None,
        code: str | None = None,
        explanation: str = "",
        gate: GateLike = None,
        timeout_s: float | None = None,
    ) -> Template:
        """A python node from a `module:function` reference, a function, or inline code.

        A function together with `code` is a function restored when a run resumes, with the
        code text the run recorded for it (runtime/functions.py)."""
        limit = _timeout(timeout_s, id)
        if callable(function) and code is not None:
            node = PythonNode(
                id=id,
                func=function,
                source=code,
                upstream=_parameters(function, id),
                explanation=explanation,
                gate=_as_gate(gate, id),
                timeout_s=limit,
            )
            return self._add(node)
        if (function is None) == (code is None):
            raise TemplateError("give exactly one of 'function' or 'code'", node=id, field="code")
        if code is not None:
            func = _function_from_code(code, id)
            node = PythonNode(
                id=id,
                func=func,
                source=code,
                upstream=_parameters(func, id),
                explanation=explanation,
                gate=_as_gate(gate, id),
                timeout_s=limit,
            )
        elif isinstance(function, str):
            func = _import_ref(function, id)
            node = PythonNode(
                id=id,
                func=func,
                ref=function,
                upstream=_parameters(func, id),
                explanation=explanation,
                gate=_as_gate(gate, id),
                timeout_s=limit,
            )
        else:
            assert function is not None
            node = PythonNode(
                id=id,
                func=function,
                upstream=_parameters(function, id),
                explanation=explanation,
                gate=_as_gate(gate, id),
                timeout_s=limit,
            )
        return self._add(node)

    def output(
        self,
        id: str,
        *,
        of: str | None = None,
        sql: str | None = None,
        explanation: str = "",
        gate: GateLike = None,
        timeout_s: float | None = None,
    ) -> Template:
        """What the pipeline exists for: `of=` one upstream node, or `sql=` over upstream nodes."""
        if gate is not None:
            raise TemplateError(
                "gates are not allowed on outputs; the corrective lever is always upstream, so put "
                "the gate on the node this output reads",
                node=id,
                field="gate",
            )
        if (of is None) == (sql is None):
            raise TemplateError("give exactly one of 'of' or 'sql'", node=id, field="of")
        upstream = (of,) if of is not None else _sql_upstream(sql or "", id, "sql")
        return self._add(
            OutputNode(
                id=id,
                of=of,
                sql=sql,
                upstream=upstream,
                explanation=explanation,
                timeout_s=_timeout(timeout_s, id),
            )
        )

    def _add(self, node: Node) -> Template:
        if not _IDENTIFIER.match(node.id):
            raise TemplateError(
                "node ids must be plain identifiers (letters, digits, _), since SQL reads nodes "
                "by id as table names",
                node=node.id,
                field="id",
            )
        if node.id in self._nodes:
            raise TemplateError("duplicate node id", node=node.id, field="id")
        if node.gate is not None:
            _check_gate(node.gate, node.id)
            for other in self._nodes.values():
                if other.gate is not None and other.gate.gate_id == node.gate.gate_id:
                    raise TemplateError(
                        f"gate_id {node.gate.gate_id!r} is already used by node '{other.id}'",
                        node=node.id,
                        gate=node.gate.gate_id,
                        field="gate_id",
                    )
        self._nodes[node.id] = node
        self._order = None
        self._analysis = {}
        return self

    # ---------------------------------------------------------------- reading
    @property
    def nodes(self) -> Mapping[str, Node]:
        return dict(self._nodes)

    @property
    def gates(self) -> dict[str, Gate]:
        """Every gate by gate_id, in node order."""
        return {n.gate.gate_id: n.gate for n in self._nodes.values() if n.gate is not None}

    def gate_node(self, gate_id: str) -> Node:
        for node in self._nodes.values():
            if node.gate is not None and node.gate.gate_id == gate_id:
                return node
        raise KeyError(f"template '{self.id}' has no gate {gate_id!r}")

    def __getitem__(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        kinds = {}
        for n in self._nodes.values():
            kinds[n.kind] = kinds.get(n.kind, 0) + 1
        counts = ", ".join(f"{v} {k}" for k, v in kinds.items())
        return f"<Template {self.id!r}: {counts}; {len(self.gates)} gates>"

    def topological_order(self) -> tuple[str, ...]:
        """Node ids, every node after its upstream; validates the whole template first."""
        if self._order is None:
            self.validate()
        assert self._order is not None
        return self._order

    def downstream(self, node_id: str) -> set[str]:
        """Every node that depends on `node_id`, directly or not."""
        children: dict[str, list[str]] = {n: [] for n in self._nodes}
        for node in self._nodes.values():
            for up in node.upstream:
                children[up].append(node.id)
        seen: set[str] = set()
        stack = list(children[node_id])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(children[current])
        return seen

    def resolve_path(self, path: str) -> Path:
        """A source path as given, relative to the template's folder (or the working directory)."""
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir or Path.cwd()) / p

    # ------------------------------------------------------------- validation
    def validate(self) -> Template:
        """Check the rules that span nodes: references, cycles, gate placement, instructions."""
        if not self._nodes:
            raise TemplateError(f"template '{self.id}' has no nodes", field="nodes")
        for node in self._nodes.values():
            for up in node.upstream:
                if up not in self._nodes:
                    field = {
                        "python": "parameters",
                        "output": "of" if isinstance(node, OutputNode) and node.of else "sql",
                    }.get(node.kind, "sql")
                    raise TemplateError(
                        f"{up!r} is not a node of this template "
                        f"(known: {', '.join(sorted(self._nodes))})",
                        node=node.id,
                        field=field,
                    )
            if node.gate is not None:
                if isinstance(node, OutputNode):
                    raise TemplateError(
                        "gates are not allowed on outputs", node=node.id, field="gate"
                    )
                _check_gate(node.gate, node.id)
            if isinstance(node, SourceNode) and node.gate is None:
                raise TemplateError("source nodes must carry a gate", node=node.id, field="gate")
        sorter = graphlib.TopologicalSorter({n.id: n.upstream for n in self._nodes.values()})
        try:
            self._order = tuple(sorter.static_order())
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise TemplateError(
                f"the nodes form a cycle: {cycle}", node=exc.args[1][0], field="upstream"
            ) from None
        # Hash once, when the template is built: every run of it records the same fingerprint.
        self._analysis = {"fingerprint": self._fingerprint(), "digests": self._node_digests()}
        return self

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.description:
            out["description"] = self.description
        out["nodes"] = [node.to_dict() for node in self._nodes.values()]
        return out

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        base_dir: str | Path | None = None,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Template:
        from .yaml_io import template_from_dict

        return template_from_dict(data, base_dir=base_dir, functions=functions)

    @classmethod
    def load(cls, path: str | Path) -> Template:
        from .yaml_io import load_template

        return load_template(path)

    def save(self, path: str | Path) -> Path:
        from .yaml_io import save_template

        return save_template(self, path)

    @property
    def fingerprint(self) -> str:
        """A content hash of code, structure and gates; blind to dict order and YAML layout."""
        if "fingerprint" not in self._analysis:
            self._analysis["fingerprint"] = self._fingerprint()
        return self._analysis["fingerprint"]

    def _fingerprint(self) -> str:
        return _digest(
            {"id": self.id, "nodes": sorted(node_digest_input(n) for n in self._nodes.values())}
        )

    def derived(self, key: str, build: Callable[[Template], _T]) -> _T:
        """`build(self)` for the template as it stands, computed once and given again until it
        changes (a node added; its id or description set anew): what every run of a template
        records of it is the same, and a kernel runs one template again and again. The value is
        shared by every caller: read it, never change it."""
        token = (self.id, self.description)
        entry = self._analysis.get(key)
        if entry is None or entry[0] != token:
            entry = self._analysis[key] = (token, build(self))
        return entry[1]

    def node_digests(self) -> dict[str, dict[str, str]]:
        """Per node, hashes of its code, explanation and gate: what compare shows changed."""
        if "digests" not in self._analysis:
            self._analysis["digests"] = self._node_digests()
        return {k: dict(v) for k, v in self._analysis["digests"].items()}

    def _node_digests(self) -> dict[str, dict[str, str]]:
        return {
            n.id: {
                "code": _digest(_code_parts(n)),
                "explanation": _digest(n.explanation),
                "gate": _digest(n.gate.to_dict() if n.gate else None),
            }
            for n in self._nodes.values()
        }

    # ------------------------------------------------------------------ runs
    def run(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Any = None,
        policy: Callable[..., Any] | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Start a run against these inputs (source id -> path or DataFrame); returns the Run.
        `timeout_s` is the time limit of every node that sets none itself."""
        if _engine is None:
            raise RuntimeError("import prodex_jupyter (or prodex_jupyter.runtime) to run templates")
        return _engine(self, inputs=inputs, store=store, policy=policy, timeout_s=timeout_s)


# --------------------------------------------------------------------- helpers
def node_digest_input(node: Node) -> str:
    """A node as hashed: code as run, every text normalised, so YAML layout does not count."""
    body = node.to_dict()
    body.pop("code", None)
    body.pop("function", None)
    body["code"] = node.code
    body["upstream"] = sorted(node.upstream)
    if node.gate is not None:
        body["gate"] = node.gate.to_dict()
    return json.dumps(_normalized(body), sort_keys=True, default=str)


def _normalized(value: Any) -> Any:
    if isinstance(value, str):
        return normalize_code(value)
    if isinstance(value, Mapping):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalized(v) for v in value]
    return value


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _format_from_suffix(path: str) -> str | None:
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"jsonl": "ndjson", "pq": "parquet", "tsv": "csv"}.get(suffix, suffix) or None


def _code_parts(node: Node) -> list[Any]:
    """What a node computes with, as compare tells changes apart (an encoding only when set, so
    digests recorded before it existed still match)."""
    body = node.to_dict()
    parts = [node.kind, list(node.upstream), node.code, body.get("path")]
    return [*parts, body["encoding"]] if "encoding" in body else parts


def _encoding(encoding: str | None, node_id: str, fmt: str | None) -> str | None:
    if encoding is None:
        return None
    if fmt not in (None, "csv"):
        raise TemplateError(
            f"encoding is for CSV files; a {fmt} file says its own", node=node_id, field="encoding"
        )
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        raise TemplateError(
            f"unknown encoding {encoding!r} (latin-1, cp1252, utf-16, ...)",
            node=node_id,
            field="encoding",
        ) from None
    return str(encoding)


def _as_gate(gate: GateLike, node_id: str) -> Gate | None:
    if gate is None or isinstance(gate, Gate):
        return gate
    if isinstance(gate, Mapping):
        allowed = {
            *("gate_id", "name", "description", "instructions", "custom_checks"),
            *("deciders", "four_eyes"),
        }
        unknown = set(gate) - allowed
        if unknown:
            raise TemplateError(
                f"unknown gate field(s) {sorted(unknown)}; allowed: {sorted(allowed)}",
                node=node_id,
                field="gate",
            )
        for required in ("gate_id", "name"):
            if not gate.get(required):
                raise TemplateError(f"a gate needs a {required}", node=node_id, field=required)
        return Gate(
            gate_id=str(gate["gate_id"]),
            name=str(gate["name"]),
            description=str(gate.get("description") or ""),
            instructions=str(gate.get("instructions") or ""),
            custom_checks=tuple(gate.get("custom_checks") or ()),
            deciders=_deciders(gate.get("deciders"), node_id, str(gate["gate_id"])),
            four_eyes=gate.get("four_eyes", False),
        )
    raise TemplateError(
        f"gate must be a Gate or a mapping, not {type(gate).__name__}", node=node_id, field="gate"
    )


def _deciders(value: Any, node_id: str, gate_id: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TemplateError(
            f"deciders must be a list of user names and 'group:<name>' entries, not {value!r}",
            node=node_id,
            gate=gate_id,
            field="deciders",
        )
    return tuple(value)


def _check_gate(gate: Gate, node_id: str) -> None:
    for name in ("gate_id", "name"):
        value = getattr(gate, name)
        if not isinstance(value, str) or not value.strip():
            raise TemplateError(f"a gate needs a non-empty {name}", node=node_id, field=name)
    for who in gate.deciders:
        if not isinstance(who, str) or not who.strip() or who.strip() in ("group:", ""):
            raise TemplateError(
                f"decider {who!r} is not a user name or 'group:<name>'",
                node=node_id,
                gate=gate.gate_id,
                field="deciders",
            )
    if not isinstance(gate.four_eyes, bool):
        raise TemplateError(
            f"four_eyes must be true or false, not {gate.four_eyes!r}",
            node=node_id,
            gate=gate.gate_id,
            field="four_eyes",
        )
    try:
        parse_instructions(gate.instructions)
    except InstructionError as exc:
        raise TemplateError(
            f"cannot read instruction bullet {exc.bullet!r}: {exc.reason}",
            node=node_id,
            gate=gate.gate_id,
            field="instructions",
        ) from None
    for ref in gate.custom_checks:
        if isinstance(ref, str):
            _import_ref(ref, node_id, field="custom_checks")
        elif not callable(ref):
            raise TemplateError(
                f"custom check {ref!r} is not callable",
                node=node_id,
                gate=gate.gate_id,
                field="custom_checks",
            )


def _timeout(value: Any, node_id: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise TemplateError(
            f"timeout_s must be a positive number of seconds, not {value!r}",
            node=node_id,
            field="timeout_s",
        )
    return float(value)


def _sql_upstream(sql: str, node_id: str, field: str) -> tuple[str, ...]:
    if not isinstance(sql, str) or not sql.strip():
        raise TemplateError("SQL is empty", node=node_id, field=field)
    try:
        tables = tuple(sorted(referenced_tables(sql)))
    except SqlSyntaxError as exc:
        raise TemplateError(str(exc), node=node_id, field=field) from None
    if not tables:
        raise TemplateError(
            "the SQL reads no upstream node: SQL computes from upstream nodes, read by id as "
            "tables (FROM <node id>); a file is read by a source node",
            node=node_id,
            field=field,
        )
    return tables


def _parameters(func: Callable[..., Any], node_id: str) -> tuple[str, ...]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError) as exc:
        raise TemplateError(
            f"cannot read the function's parameters: {exc}", node=node_id, field="parameters"
        ) from None
    names = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TemplateError(
                f"parameter '{p.name}' must be a plain name: each parameter names an upstream node",
                node=node_id,
                field="parameters",
            )
        names.append(p.name)
    if not names:
        raise TemplateError(
            "the function has no parameters; each parameter names an upstream node",
            node=node_id,
            field="parameters",
        )
    return tuple(names)


def _import_ref(ref: str, node_id: str, field: str = "function") -> Callable[..., Any]:
    import importlib

    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise TemplateError(
            f"{ref!r} is not of the form 'module:function'", node=node_id, field=field
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise TemplateError(f"cannot import {ref!r}: {exc}", node=node_id, field=field) from None
    if not callable(obj):
        raise TemplateError(f"{ref!r} is not callable", node=node_id, field=field)
    return obj


def _function_from_code(code: str, node_id: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    try:
        exec(compile(code, f"<python node {node_id}>", "exec"), namespace)
    except Exception as exc:
        raise TemplateError(
            f"the inline code does not run: {exc!r}", node=node_id, field="code"
        ) from None
    functions = [v for k, v in namespace.items() if inspect.isfunction(v) and not k.startswith("_")]
    if node_id in namespace and inspect.isfunction(namespace[node_id]):
        return namespace[node_id]
    if len(functions) == 1:
        return functions[0]
    raise TemplateError(
        f"the inline code must define one function (or one named '{node_id}'); "
        f"found {len(functions)}",
        node=node_id,
        field="code",
    )
