"""How a python node's function is found again by another process that resumes the run.

The template records a function node's code as text (it is shown and fingerprinted), but text
alone loses what the function uses: a helper beside it, `np`, a module constant, a closure
variable, a helper from another notebook cell. So when a run starts, each python node built from
a function object is recorded one of two ways, in `RunCreated.functions`:

- importable (`module:qualname` names this very function): `{"how": "import", "ref", "digest",
  "path"}`. Resuming imports it (with `path`, the folder its module was found under, on the path
  if the plain import fails) and refuses when the code's digest differs from the recorded one.
- anything else (a notebook cell, `__main__`, a closure): captured with cloudpickle, which takes
  what the function uses by value and modules by name (as Dask, Ray and PySpark do), stored as a
  content-hashed artifact: `{"how": "capture", "artifact", "digest"}`. A function cloudpickle
  cannot capture refuses the run at start, saying what to move into a module; it never fails on
  resume.

Nodes the template rebuilds by itself (`function: module:function` in YAML, inline `code:`) need
no record. The fingerprint and node digests are unchanged by any of this: they hash the code.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from ..store import RunStore
from ..template import PythonNode, Template, TemplateError
from ..template.nodes import function_source


class FunctionRestoreError(RuntimeError):
    """A recorded function cannot be found again as it was; says which node and why."""


@dataclass
class RecordedFunctions:
    records: dict[str, dict[str, str]] = field(default_factory=dict)  # node id -> record
    captures: dict[str, bytes] = field(default_factory=dict)  # artifact sha256 -> bytes


def code_digest(code: str) -> str:
    """sha256 of the code's text. Remembered by the text itself (a run's start hashes the code of
    every function node, and a kernel re-runs the same code): nothing to invalidate, since the
    same text always has the same digest; at most _DIGESTS_KEPT texts are kept."""
    digest = _DIGESTS.get(code)
    if digest is None:
        if len(_DIGESTS) >= _DIGESTS_KEPT:
            _DIGESTS.clear()
        digest = _DIGESTS[code] = hashlib.sha256(code.encode()).hexdigest()
    return digest


_DIGESTS: dict[str, str] = {}
_DIGESTS_KEPT = 20_000


def record_functions(template: Template) -> RecordedFunctions:
    """How to find every function-object python node again; a TemplateError, before any record
    exists, for a function that can be neither imported nor captured."""
    out = RecordedFunctions()
    roots: dict[tuple[str, str], str] = {}  # (module file, name) -> import root, once per module
    for node in template.nodes.values():
        if not isinstance(node, PythonNode) or node.ref or node.source is not None:
            continue
        func = node.func
        assert func is not None
        digest = code_digest(node.code)
        ref, path = importable(func, roots)
        if ref is not None:
            out.records[node.id] = {"how": "import", "ref": ref, "digest": digest, "path": path}
            continue
        data = _capture(node.id, func)
        sha = hashlib.sha256(data).hexdigest()
        out.records[node.id] = {"how": "capture", "artifact": sha, "digest": digest}
        out.captures[sha] = data
    return out


def restore_functions(
    records: Mapping[str, Mapping[str, str]], store: RunStore
) -> dict[str, Callable[..., Any]]:
    """The recorded functions, imported or loaded from their captures (FunctionRestoreError)."""
    return {node_id: _restore(node_id, record, store) for node_id, record in records.items()}


def importable(
    func: Callable[..., Any], roots: dict[tuple[str, str], str] | None = None
) -> tuple[str | None, str]:
    """(`module:qualname`, the folder the module was found under) when importing that name gives
    back this very function; (None, "") for `__main__`, notebook cells, closures, lambdas.
    `roots` keeps the folders already found (resolving a path costs more than the rest here, and
    a template's functions usually share one module)."""
    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module_name or not qualname or module_name == "__main__" or "<" in qualname:
        return None, ""
    module = sys.modules.get(module_name)
    try:
        obj: Any = module if module is not None else importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except Exception:
        return None, ""
    if obj is not func and inspect.unwrap(obj) is not inspect.unwrap(func):
        return None, ""
    file = getattr(module, "__file__", None)
    if not file:
        return f"{module_name}:{qualname}", ""
    key = (file, module_name)
    root = roots.get(key) if roots is not None else None
    if root is None:
        root = _import_root(file, module_name)
        if roots is not None:
            roots[key] = root
    return f"{module_name}:{qualname}", root


def _import_root(file: str, module_name: str) -> str:
    root = Path(file).resolve().parent
    depth = module_name.count(".") + (1 if Path(file).stem == "__init__" else 0)
    for _ in range(depth):
        root = root.parent
    return str(root)


def _capture(node_id: str, func: Callable[..., Any]) -> bytes:
    name = getattr(func, "__qualname__", repr(func))
    try:
        data = cloudpickle.dumps(func)
        cloudpickle.loads(data)  # what a resuming process will do: prove it works now
    except Exception as exc:
        raise TemplateError(
            f"its function {name} (from {getattr(func, '__module__', '?')}) cannot be saved so "
            f"that another process can resume the run ({type(exc).__name__}: {exc}); move "
            f"{name} and what it uses into a module (a .py file next to the notebook or "
            "script) and import it from there, so the run records it as module:function",
            node=node_id,
            field="function",
        ) from None
    return data


def _restore(node_id: str, record: Mapping[str, str], store: RunStore) -> Callable[..., Any]:
    how = record.get("how")
    if how == "capture":
        sha = record["artifact"]
        try:
            data = store.artifacts.read_bytes(sha)
        except OSError:
            raise FunctionRestoreError(
                f"node '{node_id}': the captured function (artifact {sha[:12]}) is missing from "
                f"{store.artifacts.where}"
            ) from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise FunctionRestoreError(
                f"node '{node_id}': the captured function (artifact {sha[:12]}) was changed "
                "after the run stored it"
            )
        try:
            return cloudpickle.loads(data)
        except Exception as exc:
            raise FunctionRestoreError(
                f"node '{node_id}': the captured function cannot be loaded in this process "
                f"({type(exc).__name__}: {exc}); a module it uses may be missing here"
            ) from None
    if how == "import":
        ref = record["ref"]
        func = _import(ref, record.get("path", ""), node_id)
        now = code_digest(function_source(func))
        if now != record["digest"]:
            raise FunctionRestoreError(
                f"node '{node_id}': the code of {ref} changed since the run started (code "
                f"digest {record['digest'][:12]}, now {now[:12]}); start a new run of the "
                "edited code, or put the code back as it was to resume"
            )
        return func
    raise FunctionRestoreError(f"node '{node_id}': unknown function record {dict(record)!r}")


def _import(ref: str, path: str, node_id: str) -> Callable[..., Any]:
    module_name, _, qualname = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as first:
        if not path or path in sys.path:
            raise FunctionRestoreError(
                f"node '{node_id}': cannot import {ref}: {first}; resume where that module is "
                "importable"
            ) from None
        sys.path.append(path)  # where the starting process found it
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
            raise FunctionRestoreError(
                f"node '{node_id}': cannot import {ref} (not even from {path}): {exc}"
            ) from None
    obj: Any = module
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise FunctionRestoreError(f"node '{node_id}': {ref} is gone: {exc}") from None
    return obj
