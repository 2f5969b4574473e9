"""One structured LLM call through instructor on the openai client.

Validation errors are re-asked by instructor (`max_retries`); transport errors (timeouts,
429, 5xx, connection refused) are retried here with backoff and counted
(`LLMResult.transport_retries`). A reply larger than `max_reply_kb` is refused before it is
parsed or cached. Failures come back as data (`LLMResult.error`, redacted), never as an
exception that would stop a batch. `WAITING` tells the progress line how long calls wait.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import instructor
import openai
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from structurer.core.model import LLMResult, TokenLogprob, request_hash
from structurer.core.types import ServerTimings
from structurer.llm.cache import CachedReply, ResponseCache, cache_key, cacheable
from structurer.redact import redact, settings_secrets
from structurer.settings import Settings

logging.getLogger("instructor").setLevel(logging.CRITICAL)  # failures are returned as data

MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "tools": instructor.Mode.TOOLS,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}


class ReplyTooLarge(openai.OpenAIError):
    """The endpoint sent more than the reply cap: refused unread (never parsed or cached)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"model reply larger than {limit // 1024} KB refused (STRUCTURER_MAX_REPLY_KB)"
        )


def cap_reply_size(limit: int) -> Callable[[Any], None]:
    """An httpx response hook reading at most `limit` bytes of the body, else ReplyTooLarge."""

    def hook(response: Any) -> None:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            response.close()
            raise ReplyTooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                response.close()
                raise ReplyTooLarge(limit)
            chunks.append(chunk)
        response._content = b"".join(chunks)  # what response.read() returns from now on

    return hook


# What the logprobs we ask for may add per decoded token (llama.cpp sends each token with its
# bytes and alternatives: ~1 KB for a Chinese token). Bounded by max_tokens.
LOGPROB_BYTES_PER_TOKEN = 2048


def reply_limit(settings: Settings) -> int:
    """The reply cap in bytes: `max_reply_kb` of content, plus room for the logprobs of up to
    `max_tokens` tokens when they are asked for (a long, honest list reply with logprobs was
    refused at 1 MB)."""
    extra = settings.max_tokens * LOGPROB_BYTES_PER_TOKEN if settings.logprobs else 0
    return settings.max_reply_kb * 1024 + extra


class Waiting:
    """Calls in flight at the endpoint and since when (thread-safe), for the progress line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}
        self._next = 0

    def begin(self) -> int:
        with self._lock:
            self._next += 1
            self._started[self._next] = time.monotonic()
            return self._next

    def end(self, token: int) -> None:
        with self._lock:
            self._started.pop(token, None)

    def longest(self) -> tuple[int, float]:
        """(calls in flight, seconds the oldest of them has waited)."""
        with self._lock:
            if not self._started:
                return 0, 0.0
            return len(self._started), time.monotonic() - min(self._started.values())


WAITING = Waiting()


_schemas: weakref.WeakKeyDictionary[type[BaseModel], dict[str, Any]] = weakref.WeakKeyDictionary()
_schemas_lock = threading.Lock()


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, computed once per class (it is asked for on every call)."""
    with _schemas_lock:
        found = _schemas.get(model)
    if found is None:
        found = model.model_json_schema()
        with _schemas_lock:
            _schemas[model] = found
    return found


def _api_error(exc: BaseException) -> openai.OpenAIError | None:
    """The openai error under instructor's wrappers, if any."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, openai.OpenAIError):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


def _transient(exc: BaseException) -> bool:
    api = _api_error(exc)
    if isinstance(api, ReplyTooLarge):
        return False
    if isinstance(api, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError):
        return True
    return isinstance(api, openai.APIStatusError) and api.status_code >= 500


def describe_error(exc: BaseException, base_url: str | None) -> str:
    """A one-line message that never carries a credential."""
    return redact(_describe(exc, base_url))


def _describe(exc: BaseException, base_url: str | None) -> str:
    where = base_url or "the endpoint"
    if isinstance(exc, ReplyTooLarge):
        return str(exc)
    if isinstance(exc, openai.RateLimitError):
        return f"model server rate limit, HTTP 429, after retries ({where})"
    if isinstance(exc, openai.APITimeoutError):
        return f"model server timed out ({where})"
    if isinstance(exc, openai.APIConnectionError):
        return f"model server unreachable at {where}"
    if isinstance(exc, openai.AuthenticationError):
        return f"model server refused the API key ({where}, HTTP 401)"
    if isinstance(exc, openai.APIStatusError):
        return f"model server error HTTP {exc.status_code} ({where})"
    name = type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{name}: {text}"[:300]


class LLMClient:
    """instructor over openai, configured from Settings. Thread-safe for concurrent calls."""

    def __init__(
        self,
        settings: Settings,
        base_url: str,
        *,
        http_client: Any = None,
        transport_attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.settings = settings
        self.base_url = base_url
        self.model = settings.model_name
        self.mode_name = settings.instructor_mode
        api_key = (
            settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        )
        hook = cap_reply_size(reply_limit(settings))
        if http_client is None:
            http_client = openai.DefaultHttpxClient(
                timeout=settings.timeout, event_hooks={"response": [hook]}
            )
        else:
            http_client.event_hooks["response"] = [*http_client.event_hooks["response"], hook]
        self._openai = openai.OpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http_client,
        )
        self._secrets = [api_key, *settings_secrets(settings)]
        self.transport_attempts = transport_attempts
        self.backoff = backoff
        # Replies that validated are looked up here first and stored after (None: no cache).
        self.cache: ResponseCache | None = None

    def with_cache(self, cache: ResponseCache | None) -> LLMClient:
        """A client sharing this one's connection pool, with `cache` as its response cache."""
        clone = copy.copy(self)
        clone.cache = cache
        return clone

    def _cached(self, key: str, response_model: type[BaseModel]) -> LLMResult | None:
        assert self.cache is not None
        hit = self.cache.get(key)
        if hit is None:
            return None
        try:
            parsed = response_model.model_validate(hit.parsed)
        except ValidationError:
            return None  # the model class changed under the same schema: ask again
        return LLMResult(
            parsed=parsed,
            raw=hit.raw,
            tokens_in=hit.tokens_in,
            tokens_out=hit.tokens_out,
            retries=hit.retries,
            cached=True,
            logprobs=[TokenLogprob(token=t, logprob=lp) for t, lp in hit.logprobs],
        )

    def complete(
        self,
        messages: list[dict[str, Any]],
        response_model: type[BaseModel],
    ) -> LLMResult:
        key: str | None = None
        req_hash = ""
        if self.cache is not None and cacheable(self.settings):
            req_hash = request_hash(self.model, messages, schema_of(response_model), self.mode_name)
            key = cache_key(req_hash, self.settings)
            hit = self._cached(key, response_model)
            if hit is not None:
                return hit
        attempts: list[dict[str, Any]] = []  # one entry per completion received (incl. re-asks)
        parse_errors: list[str] = []

        def on_response(response: Any) -> None:
            usage = getattr(response, "usage", None)
            attempts.append(
                {
                    "in": getattr(usage, "prompt_tokens", 0) or 0,
                    "out": getattr(usage, "completion_tokens", 0) or 0,
                    "timings": timings_of(response),
                    "response": response,
                }
            )

        def on_parse_error(error: Exception) -> None:
            parse_errors.append(_parse_reason(error))

        # A fresh instructor wrapper per call: hooks are per client, calls run concurrently.
        client = instructor.from_openai(self._openai, mode=MODES[self.mode_name])
        client.on("completion:response", on_response)
        client.on("parse:error", on_parse_error)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "response_model": response_model,
            "max_retries": self.settings.max_retries,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
        }
        if self.settings.logprobs:
            kwargs["logprobs"] = True
        started = time.perf_counter()
        parsed: BaseModel | None = None
        error: str | None = None
        tries = 0
        waiting = WAITING.begin()
        try:
            for attempt in Retrying(
                retry=retry_if_exception(_transient),
                stop=stop_after_attempt(self.transport_attempts),
                wait=wait_exponential(multiplier=self.backoff, max=20),
                reraise=True,
            ):
                with attempt:
                    tries += 1
                    parsed = client.chat.completions.create(**kwargs)
        except RetryError as exc:  # pragma: no cover - reraise=True makes this unusual
            error = describe_error(exc.last_attempt.exception() or exc, self.base_url)
        except Exception as exc:  # noqa: BLE001 - every failure becomes data, the batch goes on
            error = _describe_instructor_error(exc, parse_errors, self.base_url)
        finally:
            WAITING.end(waiting)
        if error is not None:
            error = redact(error, self._secrets)
        latency = time.perf_counter() - started
        last = attempts[-1]["response"] if attempts else None
        reported = [a["timings"] for a in attempts if a["timings"] is not None]
        result = LLMResult(
            parsed=parsed,
            raw=_content_of(last),
            tokens_in=sum(a["in"] for a in attempts),
            tokens_out=sum(a["out"] for a in attempts),
            latency_s=latency,
            retries=max(0, len(attempts) - 1),
            error=error,
            logprobs=_logprobs_of(last),
            transport_retries=max(0, tries - 1),
            timings=sum(reported[1:], reported[0]) if reported else None,
        )
        if key is not None and self.cache is not None and parsed is not None and error is None:
            reply = CachedReply(
                parsed=parsed.model_dump(mode="json"),
                raw=result.raw,
                tokens_in=result.tokens_in,
                tokens_out=result.tokens_out,
                retries=result.retries,
                logprobs=[(lp.token, lp.logprob) for lp in result.logprobs],
            )
            self.cache.put(key, req_hash, self.model, response_model.__name__, reply)
        return result


def _parse_reason(error: Exception) -> str:
    """Why a reply failed validation, in one line naming the field: "report_year: Input ..."."""
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or error.title
        more = len(error.errors()) - 1
        extra = f" (and {more} more)" if more else ""
        return f"field {where}: {first['msg']}{extra}"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _describe_instructor_error(exc: Exception, parse_errors: list[str], base_url: str) -> str:
    api = _api_error(exc)
    if isinstance(api, ReplyTooLarge) or (api is not None and not parse_errors):
        return describe_error(api, base_url)
    if parse_errors:
        return f"model reply failed validation after retries: {parse_errors[-1]}"[:300]
    return describe_error(exc, base_url)


def timings_of(response: Any) -> ServerTimings | None:
    """llama.cpp's `timings` block of a chat completion (an extra field the openai client keeps),
    or None when the endpoint sends none."""
    extra = getattr(response, "model_extra", None) or {}
    raw = extra.get("timings")
    if not isinstance(raw, dict):
        return None

    def num(key: str) -> float:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) and value >= 0 else 0.0

    return ServerTimings(
        prompt_n=int(num("prompt_n")),
        cache_n=int(num("cache_n")),
        prompt_ms=num("prompt_ms"),
        predicted_n=int(num("predicted_n")),
        predicted_ms=num("predicted_ms"),
        draft_n=int(num("draft_n")),
        draft_accepted=int(num("draft_n_accepted")),
    )


def _content_of(response: Any) -> str | None:
    try:
        message = response.choices[0].message
    except (AttributeError, IndexError):
        return None
    if getattr(message, "tool_calls", None):
        return str(message.tool_calls[0].function.arguments)
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def _logprobs_of(response: Any) -> list[TokenLogprob]:
    try:
        content = response.choices[0].logprobs.content
    except (AttributeError, IndexError):
        return []
    if not content:
        return []
    return [TokenLogprob(token=item.token, logprob=float(item.logprob)) for item in content]
