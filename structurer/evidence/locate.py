"""Evidence for a value proposed by the model."""

from __future__ import annotations

from typing import Any

from structurer.evidence.align import align_quote
from structurer.types import AlignmentStatus, Evidence


def locate_evidence(
    value: Any, quote: str | None, text: str, windows: list[tuple[int, int]], *, is_list: bool = False
) -> Evidence | None:
    """Evidence for an LLM value: its quote (or, for strings, the value) located in the text."""
    if value is None or value == []:
        return None
    if is_list:
        found = [align_quote(item, text, windows) for item in value]
        located = [e for e in found if e.start is not None]
        if not located:
            return Evidence(None, None, None, AlignmentStatus.not_found)
        status = AlignmentStatus.exact if all(e.status == AlignmentStatus.exact for e in found) else AlignmentStatus.fuzzy
        first = located[0]
        return Evidence(first.start, first.end, first.quote, status)
    evidence = align_quote(quote, text, windows)
    if evidence.start is None and isinstance(value, str):
        evidence = align_quote(value, text, windows)
    return evidence
