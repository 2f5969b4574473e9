"""The instructor path against the FAKE model endpoint (queued responses)."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, field_validator

from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.llm.fake import http as httpx
from structurer.settings import Settings

SECRET = "sk-test-SECRET-abcdef123456"


class Year(BaseModel):
    year: int

    @field_validator("year")
    @classmethod
    def plausible(cls, v: int) -> int:
        if not 1990 <= v <= 2100:
            raise ValueError("year out of range")
        return v


def client(settings: Settings, fake: FakeChatModel, mode: str = "json_schema") -> LLMClient:
    s = settings.model_copy(update={"instructor_mode": mode})
    return LLMClient(s, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)


MSG = [{"role": "user", "content": "报告年度？"}]


def test_validation_error_is_reasked(settings: Settings, fake_model: FakeChatModel) -> None:
    fake_model.queue({"year": 12}, {"year": 2020})
    result = client(settings, fake_model).complete(MSG, Year)
    assert result.parsed is not None and result.parsed.model_dump() == {"year": 2020}
    assert result.retries == 1
    # the re-ask tells the model what was wrong
    assert "year out of range" in str(fake_model.requests[1]["messages"])
    assert result.tokens_in > 0 and result.tokens_out > 0
    assert result.logprobs and result.logprobs[0].logprob == pytest.approx(-0.05)


def test_garbage_after_retries_is_a_clear_error(
    settings: Settings, fake_model: FakeChatModel
) -> None:
    fake_model.queue("this is not json", "{broken", "still not")
    result = client(settings, fake_model).complete(MSG, Year)
    assert result.parsed is None
    assert result.error is not None and result.error.startswith(
        "model reply failed validation after retries"
    )
    assert result.retries == 2


@pytest.mark.parametrize("mode", ["json_schema", "tools", "json", "md_json"])
def test_modes(settings: Settings, fake_model: FakeChatModel, mode: str) -> None:
    fake_model.queue({"year": 2021})
    parsed = client(settings, fake_model, mode).complete(MSG, Year).parsed
    assert parsed is not None and parsed.model_dump() == {"year": 2021}


def test_transient_errors_are_retried(settings: Settings, fake_model: FakeChatModel) -> None:
    fake_model.queue(500, 429, httpx.ReadTimeout("slow"), {"year": 2019})
    result = client(settings, fake_model).complete(MSG, Year)
    assert result.parsed is not None and result.parsed.model_dump() == {"year": 2019}


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (httpx.ConnectError("refused"), "model server unreachable"),
        (httpx.ReadTimeout("slow"), "model server timed out"),
        (503, "model server error HTTP 503"),
    ],
)
def test_down_or_slow_server_gives_clear_error(
    settings: Settings, fake_model: FakeChatModel, failure: object, message: str
) -> None:
    fake_model.queue(*[failure] * 4)
    result = client(settings, fake_model).complete(MSG, Year)
    assert result.parsed is None and result.error is not None
    assert result.error.startswith(message)


def test_api_key_never_in_errors_or_logs(
    settings: Settings, fake_model: FakeChatModel, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings.model_copy(update={"openai_api_key": __import__("pydantic").SecretStr(SECRET)})
    fake_model.queue(401)
    with caplog.at_level(logging.DEBUG):
        result = LLMClient(s, "http://fake-endpoint/v1", http_client=fake_model.client()).complete(
            MSG, Year
        )
    assert result.error is not None and "401" in result.error
    assert SECRET not in result.error
    assert SECRET not in caplog.text
    assert SECRET not in repr(s) and SECRET not in str(s.extraction_settings())


def test_real_http_server_down(settings: Settings) -> None:
    """No fake: a real connection to a closed port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = LLMClient(settings, f"http://127.0.0.1:{port}/v1", backoff=0.001)
    result = llm.complete(MSG, Year)
    assert result.error == f"model server unreachable at http://127.0.0.1:{port}/v1"


def test_the_reply_cap_leaves_room_for_the_logprobs_asked_for(settings: Settings) -> None:
    """A long honest list reply with its logprobs (about 1 KB a token from llama.cpp) was refused
    at 1 MB; the cap is the content's plus room for max_tokens tokens of logprobs."""
    from structurer.llm.client import LOGPROB_BYTES_PER_TOKEN, reply_limit

    content = settings.max_reply_kb * 1024
    assert reply_limit(settings) == content + settings.max_tokens * LOGPROB_BYTES_PER_TOKEN
    assert reply_limit(settings.model_copy(update={"logprobs": False})) == content
