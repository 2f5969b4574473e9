"""A FAKE model responder that answers every part from a gold record (for plumbing tests)."""

from __future__ import annotations

import json
import re
from typing import Any

from gov_disclosure import REPORT_TYPE
from structurer.core.records import flatten
from structurer.core.response_models import _camel, part_fields


def gold_echo(gold_record: dict[str, Any], *, corrupt: set[str] | None = None):  # type: ignore[no-untyped-def]
    flat = flatten(gold_record)
    by_model = {_camel(p.name): p for p in REPORT_TYPE.parts}

    def respond(request: dict[str, Any]) -> dict[str, Any]:
        fmt = request.get("response_format") or {}
        name = (fmt.get("json_schema") or {}).get("name")
        if name is None and request.get("tools"):
            name = request["tools"][0]["function"]["name"]
        part = by_model[name]
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        asked = set(schema.get("properties") or ())  # a re-ask asks only the failing fields
        answer: dict[str, Any] = {}
        for f in part_fields(REPORT_TYPE.record_model, part):
            if asked and f.key not in asked:
                continue
            value = flat[f.path]
            if corrupt and f.path in corrupt and isinstance(value, int):
                value += 1
            if f.is_list:
                answer[f.key] = value
            else:
                answer[f.key] = {
                    "value": value,
                    "quote": None if value is None else _printed(value),
                }
        return answer

    return respond


def _printed(value: Any) -> str:
    """The value as a report prints it (a quote the grounding check can find): 2.0 -> "2"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        y, m, d = (int(x) for x in value.split("-"))
        return f"{y}年{m}月{d}日"
    return str(value)


def load(path: Any) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def gold_mock(gold_record: dict[str, Any], *, corrupt: set[str] | None = None):  # type: ignore[no-untyped-def]
    """The same answers for the in-process MockModel: (messages, response_model) -> reply."""
    respond = gold_echo(gold_record, corrupt=corrupt)

    def reply(messages: list[dict[str, Any]], response_model: type) -> dict[str, Any]:
        schema = response_model.model_json_schema()  # type: ignore[attr-defined]
        return respond(
            {
                "response_format": {
                    "json_schema": {"name": response_model.__name__, "schema": schema}
                }
            }
        )

    return reply
