"""Reconcile the readings of one field from several readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from structurer.types import Evidence


@dataclass
class Reading:
    value: Any
    reader: str
    quote: str | None = None
    evidence: Evidence | None = None
    signals: dict[str, Any] = field(default_factory=dict)


def reconcile(candidates: list[Reading]) -> Reading | None:
    """One reading per field from all readers: prefer the deterministic table reading and note
    whether the LLM agreed."""
    if not candidates:
        return None
    table = [c for c in candidates if c.reader == "table"]
    llm = [c for c in candidates if c.reader == "llm"]
    if table:
        chosen = table[0]
        if llm:
            chosen.signals["readers_agree"] = float(llm[0].value == chosen.value)
            chosen.reader = "table+llm"
        return chosen
    return llm[0]
