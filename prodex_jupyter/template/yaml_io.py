"""`*.prodex.yaml` in and out. Load -> save -> load gives the same template (same fingerprint)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import TemplateError
from .template import Template

_NODE_FIELDS = {
    "source": {"path", "format", "encoding"},
    "sql": {"sql"},
    "python": {"function", "code"},
    "output": {"of", "sql"},
}
_COMMON_FIELDS = {"id", "kind", "explanation", "gate", "timeout_s"}


def load_template(path: str | Path) -> Template:
    """Read a template file; every error names the file, and the node and field within it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(
            f"cannot read the template file: {exc.strerror}", source=str(path)
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader
    except DuplicateKeyError as exc:
        raise TemplateError(str(exc), source=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(f"invalid YAML{where}: {problem}", source=str(path)) from None
    try:
        return template_from_dict(data, base_dir=path.parent.resolve()).validate()
    except TemplateError as exc:
        raise exc.located(str(path)) from None


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice; YAML would silently keep the second."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (two `gate:` on a node
    would otherwise keep the last one without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, Hashable):
                continue  # the safe loader itself refuses it, with its own words
            if key in seen:
                raise DuplicateKeyError(
                    f"duplicate key {key!r} at line {line} (first given at line {seen[key]}): "
                    "YAML would keep only the last; give each key once"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def template_from_dict(
    data: Any,
    *,
    base_dir: str | Path | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Template:
    """A template from its dict. `functions` (node id -> function) are python nodes' functions
    restored by a resuming run, used with the code text the dict records for them."""
    if not isinstance(data, Mapping):
        raise TemplateError("a template is a mapping with 'id' and 'nodes'")
    unknown = set(data) - {"id", "description", "nodes"}
    if unknown:
        raise TemplateError(
            f"unknown top-level field(s) {sorted(unknown)}", field=sorted(unknown)[0]
        )
    if "id" not in data:
        raise TemplateError("the template has no 'id'", field="id")
    tpl = Template(str(data["id"]), str(data.get("description") or ""), base_dir=base_dir)
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise TemplateError("'nodes' must be a non-empty list", field="nodes")
    for index, node in enumerate(nodes):
        _add_node(tpl, node, index, functions or {})
    return tpl


def _add_node(
    tpl: Template, node: Any, index: int, functions: Mapping[str, Callable[..., Any]]
) -> None:
    if not isinstance(node, Mapping):
        raise TemplateError(f"nodes[{index}] must be a mapping", field="nodes")
    node_id = node.get("id")
    if not node_id:
        raise TemplateError(f"nodes[{index}] has no 'id'", field="id")
    kind = node.get("kind")
    if kind not in _NODE_FIELDS:
        raise TemplateError(
            f"kind must be one of {', '.join(_NODE_FIELDS)}, not {kind!r}",
            node=node_id,
            field="kind",
        )
    unknown = set(node) - _COMMON_FIELDS - _NODE_FIELDS[kind]
    if unknown:
        raise TemplateError(
            f"unknown field(s) {sorted(unknown)} for a {kind} node; allowed: "
            f"{sorted(_COMMON_FIELDS | _NODE_FIELDS[kind])}",
            node=node_id,
            field=sorted(unknown)[0],
        )
    common = {
        "explanation": str(node.get("explanation") or ""),
        "gate": node.get("gate"),
        "timeout_s": node.get("timeout_s"),
    }
    if kind == "source":
        tpl.source(
            node_id,
            node.get("path"),
            format=node.get("format"),
            encoding=node.get("encoding"),
            **common,
        )
    elif kind == "sql":
        tpl.sql(node_id, node.get("sql") or "", **common)
    elif kind == "python" and node_id in functions:
        tpl.python_node(node_id, function=functions[node_id], code=node.get("code"), **common)
    elif kind == "python":
        tpl.python_node(node_id, function=node.get("function"), code=node.get("code"), **common)
    else:
        tpl.output(node_id, of=node.get("of"), sql=node.get("sql"), **common)


def save_template(template: Template, path: str | Path) -> Path:
    """Write the template as YAML, code in block scalars so it reads like code."""
    template.validate()
    path = Path(path)
    path.write_text(dump_yaml(template.to_dict()), encoding="utf-8")
    return path


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
