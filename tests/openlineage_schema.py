"""JSON Schemas for OpenLineage events, built from the classes the openlineage-python client
generates from the spec (the wheel ships the generated classes, not the spec's JSON files).

Each facet is validated against the schema of the class its own `_schemaURL` names, so a facet
that claims to be a `SchemaDatasetFacet` must have that facet's required fields and types.
Extra properties stay allowed, as the spec allows them.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import types
import typing
from typing import Any

import attr
import openlineage.client.generated as generated
from openlineage.client.generated.base import BaseFacet, RunEvent


def facet_classes() -> dict[str, type]:
    """Every facet class the client generates, by the schema URL it writes into `_schemaURL`."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseFacet) and attr.has(value):
                found[value._get_schema()] = value
    return found


def schema_of(cls: type) -> dict[str, Any]:
    """The class as a JSON Schema (nested classes as $defs, so recursive ones work)."""
    defs: dict[str, Any] = {}
    root = _class_ref(cls, defs)
    return {**root, "$defs": defs}


def _class_ref(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    name = f"{cls.__module__}.{cls.__qualname__}"
    if name not in defs:
        defs[name] = {}
        hints = typing.get_type_hints(cls)
        properties, required = {}, []
        for field in attr.fields(cls):
            if field.name.startswith("_"):
                continue
            properties[field.name] = _type_schema(hints[field.name], defs)
            if field.default is attr.NOTHING:
                required.append(field.name)
        defs[name] = {"type": "object", "properties": properties, "required": required}
    return {"$ref": f"#/$defs/{name}"}


def _type_schema(hint: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a, defs) for a in args]}
    if hint is type(None):
        return {"type": "null"}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is typing.Any:
        return {}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0], defs)}
    if origin is dict:
        value = args[1]
        if isinstance(value, type) and issubclass(value, BaseFacet):
            return {"type": "object"}  # facets: validated one by one, by their own schema URL
        return {"type": "object", "additionalProperties": _type_schema(value, defs)}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [m.value for m in hint]}
    if isinstance(hint, type) and attr.has(hint):
        return _class_ref(hint, defs)
    raise TypeError(f"no schema for {hint!r}")


def validate_event(event: dict[str, Any]) -> list[str]:
    """Every schema violation in one serialised run event (empty when it is valid)."""
    import jsonschema

    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema_of(RunEvent)).iter_errors(event)
    ]
    classes = facet_classes()
    facets = [event["run"].get("facets") or {}, event["job"].get("facets") or {}]
    for dataset in (*event.get("inputs", []), *event.get("outputs", [])):
        facets.append(dataset.get("facets") or {})
        facets.append(dataset.get("inputFacets") or dataset.get("outputFacets") or {})
    for group in facets:
        for name, facet in group.items():
            url = facet.get("_schemaURL", "")
            if not facet.get("_producer") or not url:
                errors.append(f"facet {name}: no _producer or _schemaURL")
            cls = classes.get(url)
            if cls is None:
                if name.startswith("prodex_"):
                    continue  # our own facets: checked by the tests themselves
                errors.append(f"facet {name}: unknown schema {url}")
                continue
            validator = jsonschema.Draft202012Validator(schema_of(cls))
            errors.extend(f"facet {name}: {e.message}" for e in validator.iter_errors(facet))
    return errors
