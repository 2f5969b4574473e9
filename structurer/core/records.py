"""Leaf paths of nested records: flatten, unflatten, enumerate. Schema-agnostic."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> {"a.b.c": leaf}. Lists are leaves."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = submodel(arg)
            if found is not None:
                return found
    return None


def iter_leaf_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Yield (path, annotation, FieldInfo) for every leaf of a nested pydantic model."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = submodel(info.annotation)
        if sub is not None:
            yield from iter_leaf_fields(sub, path)
        else:
            yield path, info.annotation, info


def leaf_paths(model: type[BaseModel]) -> list[str]:
    return [path for path, _, _ in iter_leaf_fields(model)]


def empty_record(model: type[BaseModel]) -> dict[str, Any]:
    """A nested dict with every leaf None (lists empty)."""
    flat: dict[str, Any] = {}
    for path, annotation, _ in iter_leaf_fields(model):
        flat[path] = [] if typing.get_origin(annotation) is list else None
    return unflatten(flat)
