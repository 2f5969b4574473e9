"""FAKE model endpoint for tests and benchmarks: an httpx transport that answers chat
completions from a queue (or a responder function), so the real openai + instructor path
runs end to end (re-asks, usage, errors) with no model behind it.

Queue items:
- str or dict: the assistant's content (dicts are JSON-encoded);
- an int: an HTTP error status with no body of interest (e.g. 500, 429, 401);
- an Exception instance: raised by the transport (e.g. httpx.ConnectError).

With `timings=True` each completion carries a llama.cpp-like `timings` block, FAKE figures:
a token is two characters, the prompt is the messages' contents joined, `cache_n` is the prefix
it shares with the previous request's prompt (what a one-slot server's prompt cache would
reuse), and `draft_n`/`draft_n_accepted` are set when `draft=(proposed, accepted)` is given.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

try:  # openai>=3 ships its own fork of httpx; the fake must speak the same library
    import httpx2 as httpx
except ImportError:  # pragma: no cover - openai<3
    import httpx  # type: ignore[no-redef]

http = httpx  # the HTTP library the openai client uses: tests raise its exceptions

Responder = Callable[[dict[str, Any]], "str | dict[str, Any] | int | Exception"]


class FakeChatModel(httpx.BaseTransport):
    def __init__(
        self,
        responder: Responder | None = None,
        *,
        logprob: float | None = None,
        timings: bool = False,
        draft: tuple[int, int] | None = None,
    ) -> None:
        self._queue: deque[Any] = deque()
        self._responder = responder
        self._lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.logprob = logprob
        self.timings = timings
        self.draft = draft
        self._last_prompt = ""

    def queue(self, *items: Any) -> FakeChatModel:
        with self._lock:
            self._queue.extend(items)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        with self._lock:
            self.requests.append(body)
            prompt = prompt_text(body)
            reused = _common_prefix(prompt, self._last_prompt)
            self._last_prompt = prompt
            if self._queue:
                item = self._queue.popleft()
            elif self._responder is not None:
                item = None
            else:
                raise AssertionError("FakeChatModel: no response queued")
        if item is None and self._responder is not None:
            item = self._responder(body)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, int):
            return httpx.Response(item, json={"error": {"message": f"fake HTTP {item}"}})
        content = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        payload = completion_payload(body, content, self.logprob)
        if self.timings:
            payload["timings"] = fake_timings(prompt, reused, content, self.draft)
        return httpx.Response(200, json=payload)


def prompt_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def fake_timings(
    prompt: str, reused_chars: int, content: str, draft: tuple[int, int] | None
) -> dict[str, Any]:
    """A llama.cpp `timings` block with FAKE figures (two characters a token)."""
    total, cached = max(1, len(prompt) // 2), reused_chars // 2
    predicted = max(1, len(content) // 2)
    block: dict[str, Any] = {
        "cache_n": cached,
        "prompt_n": total - cached,
        "prompt_ms": float(total - cached),
        "predicted_n": predicted,
        "predicted_ms": predicted * 100.0,
        "predicted_per_second": 10.0,
    }
    if draft is not None:
        block["draft_n"], block["draft_n_accepted"] = draft
    return block


def completion_payload(
    request: dict[str, Any], content: str, logprob: float | None = None
) -> dict[str, Any]:
    """An OpenAI chat.completion answering `request` with `content` (as a tool call in TOOLS mode)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    tools = request.get("tools")
    if tools:
        name = tools[0]["function"]["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fake",
                    "type": "function",
                    "function": {"name": name, "arguments": content},
                }
            ],
        }
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.get("messages", []))
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": "stop"}
    if logprob is not None and request.get("logprobs"):
        choice["logprobs"] = {
            "content": [
                {"token": ch, "logprob": logprob, "bytes": None, "top_logprobs": []}
                for ch in content
            ]
        }
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": request.get("model", "fake"),
        "choices": [choice],
        "usage": {
            "prompt_tokens": max(1, prompt_chars // 2),
            "completion_tokens": max(1, len(content) // 2),
            "total_tokens": max(1, prompt_chars // 2) + max(1, len(content) // 2),
        },
    }
