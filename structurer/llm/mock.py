"""MockModel: an in-process model that returns typed results from a queue (simonw/llm's
MockModel, lm-evaluation-harness's DummyLM). It implements `structurer.core.model.Model`, so
pipeline, storage, confidence and review tests run the real pipeline with no HTTP, no
instructor and no OpenAI JSON. Provider tests use the HTTP fake (`structurer.llm.fake`).

Queue items (one per call, in order):
- a dict or a pydantic model: the reply, validated against the call's response model;
- a callable `(messages, response_model) -> dict | BaseModel`: computed per call;
- an Exception instance: the call fails with that error text (as a failed call, not raised).

With an empty queue the `default` callable answers (by default: every leaf null). With
`logprob`, every character of the reply's JSON gets that token logprob (a confident or unsure
model, for confidence tests).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from structurer.core.model import LLMResult, TokenLogprob

Reply = dict[str, Any] | BaseModel
Responder = Callable[[list[dict[str, Any]], type[BaseModel]], Reply]


def all_null(messages: list[dict[str, Any]], response_model: type[BaseModel]) -> Reply:
    """A reply stating nothing: every list empty, every leaf's value and quote null."""
    out: dict[str, Any] = {}
    for key, info in response_model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out[key] = {"quote": None, "value": None}
        else:
            out[key] = []
    return out


class MockModel:
    """A `Model` answering from a queue; records every call's messages and response model."""

    def __init__(
        self,
        *replies: Reply | Responder | Exception,
        default: Responder = all_null,
        logprob: float | None = None,
    ) -> None:
        self.logprob = logprob
        self.model = "mock-model"
        self.mode_name = "mock"
        self._queue: deque[Reply | Responder | Exception] = deque(replies)
        self._default = default
        self._lock = threading.Lock()
        self.calls: list[tuple[list[dict[str, Any]], type[BaseModel]]] = []

    def queue(self, *replies: Reply | Responder | Exception) -> MockModel:
        with self._lock:
            self._queue.extend(replies)
        return self

    def complete(
        self,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
    ) -> LLMResult:
        with self._lock:
            self.calls.append((messages, response_model))
            item = self._queue.popleft() if self._queue else self._default
        if isinstance(item, Exception):
            return LLMResult(parsed=None, raw=None, error=f"{type(item).__name__}: {item}")
        reply = item(messages, response_model) if callable(item) else item
        data = reply.model_dump(mode="json") if isinstance(reply, BaseModel) else reply
        try:
            parsed = response_model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return LLMResult(parsed=None, raw=str(data), error=f"invalid reply at {where}")
        raw = json.dumps(parsed.model_dump(mode="json"), ensure_ascii=False)
        logprobs = (
            [TokenLogprob(ch, self.logprob) for ch in raw] if self.logprob is not None else []
        )
        return LLMResult(parsed=parsed, raw=raw, logprobs=logprobs)
