"""Token log-probabilities of one value inside a JSON reply.

llama.cpp returns the logprobs of the model *before* the grammar constraint, one entry per
sampled token. Only the tokens that spell the value are scored: for a reply
`{"total": {"value": 48, "quote": "..."}}` the tokens between `"value":` and `, "quote"`
under the key `"total"`; for a list field, the tokens of the list under its key. Token
strings may not concatenate back to the reply exactly (byte-fallback pieces of Chinese
characters, special tokens), so the value is found by its JSON keys, not by its text, and
pure-punctuation tokens (quotes, commas, spaces) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

_VALUE_KEY = re.compile(r'"value"\s*:\s*')
_QUOTE_KEY = re.compile(r',?\s*"quote"\s*:')
_SYNTAX = set(" \t\r\n\"',:[]{}")


class TokenLike(Protocol):
    token: str
    logprob: float


@dataclass(frozen=True)
class ValueLogprob:
    mean: float
    min: float
    n_tokens: int


def _value_region(text: str, key: str) -> tuple[int, int] | None:
    """Character range of the value of `key` in the (token-concatenated) reply."""
    m = re.search(rf'"{re.escape(key)}"\s*:\s*', text)
    if m is None:
        return None
    start = m.end()
    if text.startswith("{", start):
        v = _VALUE_KEY.search(text, start)
        if v is None:
            return None
        q = _QUOTE_KEY.search(text, v.end())
        close = text.find("}", v.end())
        ends = [e for e in (q.start() if q else -1, close) if e >= 0]
        return (v.end(), min(ends)) if ends else (v.end(), len(text))
    if text.startswith("[", start):
        close = text.find("]", start)
        return start + 1, close if close >= 0 else len(text)
    nxt = re.search(r"[,}]", text[start:])
    return start, start + nxt.start() if nxt else len(text)


def value_logprob(tokens: Sequence[TokenLike], key: str) -> ValueLogprob | None:
    """Mean and min logprob of the tokens spelling the value under `key`, or None."""
    if not tokens:
        return None
    pieces = [item.token for item in tokens]
    text = "".join(pieces)
    ends = list(accumulate(len(p) for p in pieces))
    spans = [(e - len(p), e, item.logprob) for p, e, item in zip(pieces, ends, tokens, strict=True)]
    region = _value_region(text, key)
    if region is None:
        return None
    lo, hi = region
    picked = [
        lp
        for s, e, lp in spans
        if s < hi and e > lo and not set(text[max(s, lo) : min(e, hi)]) <= _SYNTAX
    ]
    if not picked:
        return None
    return ValueLogprob(sum(picked) / len(picked), min(picked), len(picked))
