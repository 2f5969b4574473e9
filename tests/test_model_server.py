"""The embedded model server.

Tests marked `model` start the REAL llama.cpp server (xllamacpp) with the real 1.5B weights on
a test port, and skip only when the weight packages are not installed. The others check the
start-up guards against a real foreign program holding the port.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import BaseModel, ConfigDict

from structurer.llm.embedded import server
from structurer.llm.embedded.server import ServerError, ensure_running, serve, status, stop
from structurer.llm.embedded.weights import WeightsError, ensure_weights, get_model, locate_parts
from structurer.settings import Settings

MODEL = "qwen2.5-coder-1.5b"
TEST_PORT = 18091  # not the default 18080: never touches a server the user is running
FOREIGN_PORT = 18092


def _free_settings(tmp_path: Path, port: int) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedded_port=port)


# ------------------------------------------------------------------ guards (no model needed)


@pytest.fixture
def foreign_http_server() -> Iterator[int]:
    """A real, non-llama.cpp HTTP server holding FOREIGN_PORT."""
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", FOREIGN_PORT), http.server.SimpleHTTPRequestHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield FOREIGN_PORT
    httpd.shutdown()
    httpd.server_close()


def test_port_taken_by_another_program_is_a_clear_error(
    tmp_path: Path, foreign_http_server: int
) -> None:
    settings = _free_settings(tmp_path, foreign_http_server)
    assert status(settings) is None
    with pytest.raises(
        ServerError, match=f"port {FOREIGN_PORT} on 127.0.0.1 is in use by another program"
    ):
        serve(settings, timeout=5)
    assert stop(settings) == []  # never kills what is not ours


def test_stale_pid_file_is_cleaned(tmp_path: Path, foreign_http_server: int) -> None:
    settings = _free_settings(tmp_path, foreign_http_server)
    pid_file = server.pid_path(settings)
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(
        json.dumps({"pid": os.getpid(), "port": foreign_http_server})
    )  # not a server
    with pytest.raises(ServerError, match="in use by another program"):
        serve(settings, timeout=5)
    assert not pid_file.exists()


# ------------------------------------------------------------------ the real server


def _weights_or_skip() -> None:
    try:
        locate_parts(get_model(MODEL))
    except WeightsError as e:
        pytest.skip(f"embedded model weights not installed ({e})")


@pytest.fixture(scope="module")
def model_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings on a test port; the joined weights are shared with the default data_dir."""
    _weights_or_skip()
    shared = Settings(embedded_model=MODEL)

    ensure_weights(shared)  # join once into the default data_dir (kept across runs)
    data = tmp_path_factory.mktemp("model-data")
    (data / "models").symlink_to(shared.data_dir / "models", target_is_directory=True)
    settings = Settings(
        data_dir=data, embedded_model=MODEL, embedded_port=TEST_PORT, embedded_ctx=4096
    )
    stop(settings)  # leftovers of an interrupted earlier run
    yield settings
    stop(settings)


class DisclosureMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int
    agency: str


SCHEMA = {**DisclosureMeta.model_json_schema(), "additionalProperties": False}
PROMPT = (
    "从下面的报告开头提取年份和机关名称，输出JSON。\n\n"
    "北京市海淀区人民政府2023年政府信息公开工作年度报告\n"
    "本报告由北京市海淀区人民政府办公室编制。"
)


@pytest.mark.model
def test_real_server_json_schema_and_logprobs(model_settings: Settings) -> None:
    url = ensure_running(model_settings, timeout=300)
    assert url == f"http://127.0.0.1:{TEST_PORT}/v1"
    info = status(model_settings)
    assert info is not None and info.model == MODEL and info.pid is not None

    client = openai.OpenAI(base_url=url, api_key="no-key-needed")
    resp = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "meta", "schema": SCHEMA, "strict": True},
        },
        temperature=0,
        max_tokens=64,
        logprobs=True,
        top_logprobs=3,
    )
    assert resp.model == MODEL
    content = resp.choices[0].message.content
    assert content is not None
    meta = DisclosureMeta.model_validate_json(content)
    assert meta.year == 2023
    assert "海淀" in meta.agency
    logprobs = resp.choices[0].logprobs
    assert logprobs is not None and logprobs.content
    assert all(t.logprob <= 0.0 for t in logprobs.content)
    assert len(logprobs.content[0].top_logprobs) == 3


@pytest.mark.model
def test_real_server_is_reused_then_stopped(model_settings: Settings) -> None:
    url = ensure_running(model_settings, timeout=300)
    first = status(model_settings)
    assert first is not None and first.pid is not None

    t0 = time.monotonic()
    assert ensure_running(model_settings) == url
    assert time.monotonic() - t0 < 5  # reused, not restarted
    # another process with the same settings reuses it too
    code = (
        "from structurer.llm.embedded.server import serve;from structurer.settings import Settings;"
        f"i=serve(Settings(data_dir={str(model_settings.data_dir)!r},embedded_model={MODEL!r},"
        f"embedded_port={TEST_PORT},embedded_ctx={model_settings.embedded_ctx}),timeout=5);"
        "print(i.pid)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == first.pid

    assert stop(model_settings) == [first.pid]
    assert status(model_settings) is None
    assert not Path(f"/proc/{first.pid}").exists()
    assert not server.pid_path(model_settings).exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{TEST_PORT}/health", timeout=2)
