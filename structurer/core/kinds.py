"""Field kinds of a record model (int, float, str, enum, date, list) and text normalisation.

Shared by the engine (evidence, reconciliation) and the eval harness (scoring). Pure.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import unicodedata
from typing import Any, Literal

from pydantic import BaseModel

from structurer.core.records import iter_leaf_fields

FieldKind = Literal["int", "float", "str", "enum", "date", "list"]

# The spec's list is `，。、：；（）()《》""''·-`. The spec file prints the quotes as ASCII
# " and '; Chinese text uses the curly “ ” ‘ ’, so both are removed. NFKC runs first and
# maps the full-width ，：；（）－ to , : ; ( ) -, so those images are removed as well.
_SPEC_PUNCTUATION = "，。、：；（）()《》\"\"''·-"
_CURLY_QUOTES = "\u201c\u201d\u2018\u2019"
PUNCTUATION: frozenset[str] = frozenset(
    _SPEC_PUNCTUATION + _CURLY_QUOTES + unicodedata.normalize("NFKC", _SPEC_PUNCTUATION)
)


def normalize_text(value: str) -> str:
    """NFKC, then drop whitespace and the spec's punctuation."""
    text = unicodedata.normalize("NFKC", value)
    return "".join(ch for ch in text if not ch.isspace() and ch not in PUNCTUATION)


def _kind_of(annotation: Any) -> FieldKind:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is list or annotation is list:
        return "list"
    if isinstance(annotation, type):
        if issubclass(annotation, bool):
            return "enum"
        if issubclass(annotation, enum.Enum):
            return "enum"
        if issubclass(annotation, int):
            return "int"
        if issubclass(annotation, float):
            return "float"
        if issubclass(annotation, dt.date):
            return "date"
        if issubclass(annotation, str):
            return "str"
    if origin is Literal:
        return "enum"
    raise TypeError(f"no scoring kind for annotation {annotation!r}")


def field_kinds(record_model: type[BaseModel]) -> dict[str, FieldKind]:
    """Leaf path -> scoring kind, from the pydantic record model, in model order."""
    return {path: _kind_of(ann) for path, ann, _ in iter_leaf_fields(record_model)}
