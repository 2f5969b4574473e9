"""Helpers for the hostile-world tests (tests/test_hostile_*.py): a FAKE OpenAI-compatible
server answering from the sample's gold record, and `python -m structurer` run as a real
process with a temporary data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from structurer.llm.fake_server import FakeOpenAIServer
from structurer.store.session import dispose_engines
from tests.conftest import REPO
from tests.test_batch import SAMPLE, Responder

API_KEY = "sk-fake-SECRET-never-logged-0123456789"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "STRUCTURER_", "DATABASE_URL", "LABEL_STUDIO"))
    }
    env.update(STRUCTURER_DATA_DIR=str(data_dir), COLUMNS="200", **extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 300, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "structurer", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_report(path: Path, marker: str = "", text: str | None = None) -> Path:
    """A distinct copy of the short sample (a marker line changes its bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        (text if text is not None else SAMPLE) + f"\n（{marker or path.name}）\n", "utf-8"
    )
    return path


@pytest.fixture
def echo_responder() -> Responder:
    return Responder()


@pytest.fixture
def echo_server(echo_responder: Responder) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(echo_responder, logprob=None) as srv:
        yield srv


@pytest.fixture
def cli_env(tmp_path: Path, echo_server: FakeOpenAIServer) -> Iterator[dict[str, str]]:
    yield clean_env(
        tmp_path / "data",
        OPENAI_BASE_URL=echo_server.url,
        OPENAI_API_KEY=API_KEY,
        STRUCTURER_MODEL="fake-model",
    )
    dispose_engines()


def db_dump(data_dir: Path) -> str:
    """Every row of every table of the SQLite database, as text (for secret greps)."""
    import sqlite3

    con = sqlite3.connect(data_dir / "structurer.db")
    try:
        out: list[Any] = []
        for (table,) in con.execute("select name from sqlite_master where type='table'"):
            out += con.execute(f'select * from "{table}"').fetchall()
        return "\n".join(map(str, out))
    finally:
        con.close()
