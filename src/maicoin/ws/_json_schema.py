"""JSON Schema of a model, laid out as pydantic writes it for the original's models.

Built from ``model_fields`` alone (annotations, defaults, aliases), so it describes the
types the original declares: a timestamp is a ``date-time`` string, an enum a ``$ref`` to
its ``$defs`` entry, a ``Literal`` an ``enum``. Keys are sorted as pydantic sorts them,
except that properties keep the fields' order.
"""

from __future__ import annotations

import enum
import inspect
import types
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

__all__ = ["model_json_schema"]

_SCALARS: dict[Any, dict[str, str]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime: {"format": "date-time", "type": "string"},
}


def model_json_schema(
    model: type[Any],
    *,
    by_alias: bool,
    ref_template: str,
    mode: Literal["validation", "serialization"],
) -> dict[str, Any]:
    """The schema of ``model`` (a class with ``model_fields``), nested models in ``$defs``."""
    if mode not in ("validation", "serialization"):
        raise ValueError(f"mode must be 'validation' or 'serialization', got {mode!r}")
    builder = _Builder(by_alias, ref_template, mode)
    schema = builder.model(model)
    if builder.defs:
        schema["$defs"] = builder.defs
    sorted_schema: dict[str, Any] = _sorted(schema)
    return sorted_schema


def _description(cls: type[Any]) -> dict[str, str]:
    doc = vars(cls).get("__doc__")
    return {"description": inspect.cleandoc(doc)} if isinstance(doc, str) and doc else {}


class _Builder:
    def __init__(self, by_alias: bool, ref_template: str, mode: str) -> None:
        self.by_alias = by_alias
        self.ref_template = ref_template
        self.mode = mode
        self.defs: dict[str, Any] = {}

    def model(self, model: type[Any]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in model.model_fields.items():
            key = self.key(name, field)
            schema = self.schema_of(field.annotation)
            # pydantic titles every property except a reference (alone or beside null).
            if not any("$ref" in part for part in (schema, *schema.get("anyOf", ()))):
                schema["title"] = key.title().replace("_", " ")
            if field.is_required():
                required.append(key)
            else:
                schema["default"] = field.default
            properties[key] = schema
        schema = {"properties": properties, "title": model.__name__, "type": "object"}
        if required:
            schema["required"] = required
        return {**schema, **_description(model)}

    def key(self, name: str, field: Any) -> str:
        if not self.by_alias:
            return name
        alias = field.validation_alias if self.mode == "validation" else field.serialization_alias
        return alias or name

    def schema_of(self, annotation: Any) -> dict[str, Any]:
        if annotation in _SCALARS:
            return dict(_SCALARS[annotation])
        origin = get_origin(annotation)
        if origin is Literal:
            return {"enum": list(get_args(annotation)), "type": "string"}
        if origin is Union or origin is types.UnionType:
            return {"anyOf": [self.schema_of(arg) for arg in get_args(annotation)]}
        if origin is list:
            return {"items": self.schema_of(get_args(annotation)[0]), "type": "array"}
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            return self.ref(annotation, self.enum)
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            return self.ref(annotation, self.model)
        raise TypeError(f"no JSON Schema for {annotation!r}")

    def enum(self, cls: type[enum.Enum]) -> dict[str, Any]:
        values = [member.value for member in cls]
        return {"enum": values, "title": cls.__name__, "type": "string", **_description(cls)}

    def ref(self, cls: type[Any], build: Any) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # taken before building, should a model ever refer to itself
            self.defs[name] = build(cls)
        return {"$ref": self.ref_template.format(model=name)}


def _sorted(value: Any, parent: str | None = None) -> Any:
    if isinstance(value, dict):
        items = value.items() if parent == "properties" else sorted(value.items())
        return {key: _sorted(item, key) for key, item in items}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
