"""Small response models for one part of a record, generated from the record schema.

Bump RESPONSE_MODEL_VERSION when the shape changes: it is part of the run settings, so stored
extractions made with another shape are not reused.

Each scalar leaf becomes `{"value": <type> | null, "quote": <verbatim text> | null}` so the
model cites its evidence; list leaves stay lists of verbatim items. Keys are the leaf path
without its top-level section, joined by "_" (e.g. requests.granted.total -> granted_total).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    create_model,
)

from structurer.core.records import iter_leaf_fields, submodel
from structurer.core.report_type import PartSpec, ReportType

RESPONSE_MODEL_VERSION = 2


@dataclass(frozen=True)
class PartField:
    path: str
    key: str
    annotation: Any
    description: str
    is_list: bool


def _covers(prefixes: tuple[str, ...], path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


@cache  # built once per part: building pydantic classes dominated the per-document CPU cost
def part_fields(record_model: type[BaseModel], part: PartSpec) -> list[PartField]:
    descriptions = field_descriptions(record_model)
    fields: list[PartField] = []
    for path, annotation, info in iter_leaf_fields(record_model):
        if not _covers(part.paths, path):
            continue
        key = "_".join(path.split(".")[1:]) or path
        is_list = typing.get_origin(annotation) is list
        fields.append(
            PartField(
                path, key, annotation, descriptions.get(path, info.description or ""), is_list
            )
        )
    keys = [f.key for f in fields]
    if len(keys) != len(set(keys)):
        raise ValueError(f"part {part.name!r}: keys collide")
    return fields


def field_descriptions(record_model: type[BaseModel]) -> dict[str, str]:
    """Leaf path -> its description, prefixed with its parents' (e.g. "table row：column")."""
    out: dict[str, str] = {}
    _collect_descriptions(record_model, "", "", out)
    return out


def _collect_descriptions(
    model: type[BaseModel], prefix: str, parent_desc: str, out: dict[str, str]
) -> None:
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        sub = submodel(info.annotation)
        desc = info.description or ""
        if sub is not None:
            _collect_descriptions(
                sub, path, f"{parent_desc} {desc}".strip() if prefix else desc, out
            )
        else:
            out[path] = f"{parent_desc}：{desc}" if parent_desc and desc else (desc or parent_desc)


class _Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _leaf_model(
    annotation: Any,
    name: str,
    quote_description: str,
    value_description: str,
    quote_max_chars: int | None = None,
) -> type[BaseModel]:
    # Both keys required, quote first: under constrained decoding the model must cite before it
    # answers, and cannot skip the value by leaving a key out. `quote_max_chars` becomes the
    # schema's maxLength: llama.cpp's grammar stops the quote there (fewer tokens to decode).
    value_type = annotation if _is_optional(annotation) else annotation | None
    # The cap is in the schema only (the grammar enforces it); a longer quote from an endpoint
    # without grammars is kept.
    quote_type: Any = str | None
    if quote_max_chars is not None:
        capped = WithJsonSchema({"type": "string", "maxLength": quote_max_chars})
        quote_type = typing.Optional[Annotated[str, capped]]  # noqa: UP045 - a runtime type
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=_Leaf,
        quote=(
            quote_type,
            Field(..., description=quote_description),
        ),
        value=(value_type, Field(..., description=value_description)),
    )


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


@cache
def build_response_model(
    rtype: ReportType,
    part: PartSpec,
    quote_max_chars: int | None = None,
    item_max_chars: int | None = None,
) -> type[BaseModel]:
    """`item_max_chars` caps each list item in the schema: the model decodes the start of an
    item and the pipeline completes it from the text (core/evidence/complete.py)."""
    definitions: dict[str, Any] = {}
    item: Any = str
    if item_max_chars is not None:
        item = Annotated[str, WithJsonSchema({"type": "string", "maxLength": item_max_chars})]
    for f in part_fields(rtype.record_model, part):
        if f.is_list:
            definitions[f.key] = (list[item], Field(..., description=f.description))
        else:
            leaf = _leaf_model(
                f.annotation,
                f"{_camel(part.name)}_{f.key}",
                rtype.quote_description,
                rtype.value_description,
                quote_max_chars,
            )
            definitions[f.key] = (leaf, Field(..., description=f.description))
    return create_model(  # type: ignore[call-overload, no-any-return]
        _camel(part.name),
        __base__=_Leaf,
        **definitions,
    )


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


NULL_WORDS = frozenset({"null", "none", "n/a"})


def _null_word(value: Any) -> Any:
    """A string saying null ("null", "None") is the model's null; strings are stripped."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    return None if value.lower() in NULL_WORDS else value


def values_of(parsed: BaseModel, fields: list[PartField]) -> dict[str, tuple[Any, str | None]]:
    """path -> (value, quote) from a parsed response; absent leaves give (None/[], None), and
    so do the strings "null" and "None" (a small model writes them for a string field)."""
    out: dict[str, tuple[Any, str | None]] = {}
    dumped = parsed.model_dump(mode="json")
    for f in fields:
        item = dumped.get(f.key)
        if f.is_list:
            items = [s.strip() for s in (item or []) if isinstance(s, str) and s.strip()]
            out[f.path] = (items, None)
        elif isinstance(item, dict):
            quote = item.get("quote")
            quote = _null_word(quote) if isinstance(quote, str) else None
            out[f.path] = (_null_word(item.get("value")), quote)
        else:
            out[f.path] = (None, None)
    return out
