"""Reconcile the readings of every field from several readers (e.g. the table reader and the LLM).

Agreement is strong evidence. On disagreement the reading that lets the record satisfy the
report type's identities wins (the checker is passed in: the engine stays generic); otherwise
the more trusted reader wins. Either way the field carries `readers_agree = 0`, so its
confidence drops. Null readings abstain: they neither agree nor disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from structurer.core.kinds import normalize_text
from structurer.core.records import unflatten
from structurer.core.types import Candidate

# Readers in order of trust when nothing else decides: the deterministic reader first.
READER_PRIORITY = ("table", "rule", "llm")

IdentityChecker = Callable[[dict[str, Any]], list[Any]]


def _rank(reading: Candidate) -> int:
    return (
        READER_PRIORITY.index(reading.reader)
        if reading.reader in READER_PRIORITY
        else len(READER_PRIORITY)
    )


def _present(value: Any) -> bool:
    return value is not None and value != []


def same_value(a: Any, b: Any) -> bool:
    """Equality as a reviewer would judge it: numbers numerically, strings normalised."""
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return normalize_text(a) == normalize_text(b)
    if isinstance(a, list) and isinstance(b, list):
        return [normalize_text(str(x)) for x in a] == [normalize_text(str(x)) for x in b]
    return bool(a == b)


def _break_paths(found: Any) -> list[str]:
    paths = found.get("paths") if isinstance(found, Mapping) else getattr(found, "paths", None)
    return list(paths or [])


def breaks_touching(check: IdentityChecker, flat: Mapping[str, Any], path: str) -> int:
    """How many identities involving `path` the record `flat` breaks."""
    return sum(path in _break_paths(b) for b in check(unflatten(flat)))


def reconcile(candidates: Sequence[Candidate]) -> Candidate | None:
    """One reading for one field, without identities: agreement noted, trusted reader first."""
    chosen = reconcile_record({"_": list(candidates)}, None)
    return chosen.get("_")


def reconcile_record(
    candidates: Mapping[str, Sequence[Candidate]], check_identities: IdentityChecker | None
) -> dict[str, Candidate]:
    """The chosen reading per path. Signals set on the chosen reading:

    - `n_readers`: readers that proposed a (non-null) value;
    - `readers_agree`: 1.0/0.0, only when two or more readers proposed values;
    - `identity_decided`: 1.0 when the identities picked the winner of a disagreement;
    - `other_value`: the losing value of a disagreement (for the reviewer).
    """
    chosen: dict[str, Candidate] = {}
    disputed: dict[str, list[Candidate]] = {}
    for path, readings in candidates.items():
        present = sorted((r for r in readings if _present(r.value)), key=_rank)
        if not present:
            if readings:
                chosen[path] = sorted(readings, key=_rank)[0]
            continue
        first = present[0]
        first.signals["n_readers"] = len({r.reader for r in present})
        others = [r for r in present[1:] if r.reader != first.reader]
        if not others:
            chosen[path] = first
            continue
        if all(same_value(first.value, r.value) for r in others):
            first.signals["readers_agree"] = 1.0
            first.reader = "+".join([first.reader, *dict.fromkeys(r.reader for r in others)])
            chosen[path] = first
            continue
        chosen[path] = first
        disputed[path] = [first, *others]

    flat = {p: r.value for p, r in chosen.items()}
    for path, options in disputed.items():
        pick = options[0]
        decided = False
        if check_identities is not None:
            counts = []
            for option in options:
                trial = dict(flat)
                trial[path] = option.value
                counts.append(breaks_touching(check_identities, trial, path))
            best = min(counts)
            pick = options[counts.index(best)]
            decided = counts.count(best) < len(counts)
        loser = next(o for o in options if o is not pick)
        pick.signals["readers_agree"] = 0.0
        pick.signals["other_value"] = loser.value
        if decided:
            pick.signals["identity_decided"] = 1.0
        chosen[path] = pick
        flat[path] = pick.value
    return chosen
