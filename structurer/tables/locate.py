"""Find row labels in the token stream: fuzzy candidates per row, then one monotonic
choice over all rows (rows appear in their official order), by dynamic programming.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

from structurer.tables.textmap import MappedText, Token, TokenKind, is_key_char, label_key

BARRIER_CHARS = 60  # a text token this long (in key chars) or holding "。" is prose, not a table


@dataclass(frozen=True)
class LabelText:
    """The key characters of all label-like text tokens, concatenated, with their origin."""

    key: str
    token_of: list[int]  # token index of key[i]
    origin: list[int]  # original-text offset of key[i]
    barriers: list[int]  # token indices of prose tokens (they end a table region)
    _bigrams: dict[str, list[int]] = field(default_factory=dict)

    def bigrams(self) -> dict[str, list[int]]:
        """Positions of every character pair of `key` (built once)."""
        if not self._bigrams and len(self.key) > 1:
            for i in range(len(self.key) - 1):
                self._bigrams.setdefault(self.key[i : i + 2], []).append(i)
        return self._bigrams


@dataclass(frozen=True)
class LabelHit:
    row: int  # index into the flat row list
    start: int  # key offsets [start, end)
    end: int
    score: float
    first_token: int
    last_token: int
    sim: float = 1.0  # similarity of the printed label to the official one
    moved: bool = False  # found out of the official row order (a block moved by conversion)


def build_label_text(mapped: MappedText, tokens: list[Token]) -> LabelText:
    chars: list[str] = []
    token_of: list[int] = []
    origin: list[int] = []
    barriers: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.kind != TokenKind.text:
            continue
        key = label_key(tok.text)
        if "。" in tok.text or len(key) >= BARRIER_CHARS:
            barriers.append(i)
            continue
        for j, ch in enumerate(tok.text):
            if is_key_char(ch):
                chars.append(ch)
                token_of.append(i)
                origin.append(mapped.origin[tok.norm_start + j])
    return LabelText("".join(chars), token_of, origin, barriers)


def _threshold(length: int) -> float:
    if length <= 3:
        return 1.0
    if length <= 6:
        return 0.74
    return 0.6


def find_label(text: LabelText, label: str, *, limit: int = 6) -> list[tuple[int, int, float]]:
    """Approximate occurrences of `label` (already in key form): (start, end, similarity)."""
    m = len(label)
    hay = text.key
    if m == 0 or len(hay) < max(1, m - 1):
        return []
    size = min(m, len(hay))
    starts = _candidate_starts(text, label, len(hay) - size)
    if not starts:
        return []
    windows = [hay[i : i + size] for i in starts]
    sims = cdist([label], windows, scorer=Levenshtein.normalized_similarity, workers=1)[0]
    thr = _threshold(m)
    order = np.argsort(-sims, kind="stable")
    taken: list[tuple[int, int, float]] = []
    for n in order:
        sim = float(sims[n])
        at = starts[int(n)]
        if sim < thr - 0.12 or len(taken) >= limit:
            break
        if any(abs(at - s) < max(2, m // 2) for s, _, _ in taken):
            continue
        best = _refine(hay, label, at)
        if best[2] >= thr:
            taken.append(best)
    return taken


def _candidate_starts(text: LabelText, label: str, last: int) -> list[int]:
    """Window starts worth scoring: where a character pair of the label occurs (a label
    with any hope of matching shares one), shifted to where the label would begin."""
    starts: set[int] = set()
    index = text.bigrams()
    for offset in range(len(label) - 1):
        for pos in index.get(label[offset : offset + 2], ()):
            for shift in (-1, 0, 1):
                start = pos - offset + shift
                if 0 <= start <= last:
                    starts.add(start)
    return sorted(starts)


def _refine(hay: str, label: str, at: int) -> tuple[int, int, float]:
    """Best (start, end, sim) near window `at`, letting start and length move a little."""
    m = len(label)
    best = (at, at + m, -1.0)
    for ds in range(-2, 3):
        for dl in range(-2, 3):
            s, e = at + ds, at + ds + m + dl
            if s < 0 or e > len(hay) or e <= s:
                continue
            sim = Levenshtein.normalized_similarity(label, hay[s:e])
            # prefer exact-length, unshifted windows on ties
            if sim > best[2] + 1e-9:
                best = (s, e, sim)
    return best


def locate_rows(text: LabelText, row_labels: list[tuple[str, ...]]) -> list[LabelHit | None]:
    """One hit (or None) per row, in increasing text order, maximising matched rows."""
    cands: list[list[LabelHit]] = []
    for r, labels in enumerate(row_labels):
        hits: list[LabelHit] = []
        for label in labels:
            key = label_key(label)
            for s, e, sim in find_label(text, key):
                score = sim * (0.5 + 0.5 * min(len(key), 12) / 12)
                hit = LabelHit(r, s, e, score, text.token_of[s], text.token_of[e - 1], sim)
                same = [h for h in hits if h.start < e and s < h.end]
                if all(h.score < score for h in same):
                    hits = [h for h in hits if h not in same] + [hit]
        cands.append(sorted(hits, key=lambda h: h.start))
    return _moved(cands, _align(cands, len(row_labels)))


MOVED_SIM = 0.92  # a label found out of order only counts when printed (nearly) as official


def _moved(cands: list[list[LabelHit]], chosen: list[LabelHit | None]) -> list[LabelHit | None]:
    """Rows left out of the ordered choice whose label is printed elsewhere, clearly and
    where no chosen label is: a block the conversion moved (e.g. to the section's end)."""
    taken = [(h.start, h.end) for h in chosen if h is not None]
    out = list(chosen)
    for r, hit in enumerate(chosen):
        if hit is not None:
            continue
        free = [
            h
            for h in cands[r]
            if h.sim >= MOVED_SIM and all(h.end <= s or e <= h.start for s, e in taken)
        ]
        if free:
            best = max(free, key=lambda h: h.score)
            out[r] = replace(best, moved=True)
            taken.append((best.start, best.end))
    return out


def _align(cands: list[list[LabelHit]], n_rows: int) -> list[LabelHit | None]:
    flat = [h for hits in cands for h in hits]
    flat.sort(key=lambda h: (h.row, h.start))
    best: list[float] = []
    back: list[int] = []
    for j, h in enumerate(flat):
        value, prev = 1.0 + h.score, -1
        for i in range(j):
            g = flat[i]
            if g.row >= h.row or g.end > h.start:
                continue
            v = best[i] + 1.0 + h.score - 0.0005 * (h.start - g.end)
            if v > value:
                value, prev = v, i
        best.append(value)
        back.append(prev)
    result: list[LabelHit | None] = [None] * n_rows
    if not flat:
        return result
    j = int(np.argmax(best))
    while j >= 0:
        result[flat[j].row] = flat[j]
        j = back[j]
    return result
