"""The model interface the pipeline talks to, and what a call returns.

Implementations: `structurer.llm.client.LLMClient` (instructor over openai, any
OpenAI-compatible endpoint) and `structurer.llm.mock.MockModel` (queued typed replies, in
process, for tests).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from structurer.core.types import ServerTimings


@dataclass
class TokenLogprob:
    token: str
    logprob: float


@dataclass
class LLMResult:
    parsed: BaseModel | None
    raw: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    retries: int = 0  # validation re-asks
    error: str | None = None
    cached: bool = False
    logprobs: list[TokenLogprob] = field(default_factory=list)
    transport_retries: int = 0  # timeouts, 429, 5xx, refused connections asked again
    timings: ServerTimings | None = None  # llama.cpp's per-request timings, when reported


def request_hash(
    model: str, messages: list[dict[str, Any]], schema: dict[str, Any], mode: str
) -> str:
    blob = json.dumps(
        {"model": model, "messages": messages, "schema": schema, "mode": mode},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class Model(Protocol):
    """What the pipeline needs of a model: a name, a mode, and a typed completion."""

    @property
    def model(self) -> str: ...

    @property
    def mode_name(self) -> str: ...

    def complete(
        self,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
    ) -> LLMResult: ...
