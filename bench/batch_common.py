"""Shared pieces of the batch benchmarks: a synthetic corpus, recorded replies, the FAKE
OpenAI-compatible server in its own process, RSS sampling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gov_disclosure import REPORT_TYPE  # noqa: E402
from structurer.core.response_models import _camel  # noqa: E402
from tests.gold_echo import gold_echo, load  # noqa: E402

SAMPLE = REPO / "samples" / "sample_2021_short.txt"
GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


def make_corpus(directory: Path, n: int) -> Path:
    """n distinct reports: the short 2021 sample with a numbered line (so n content hashes)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = SAMPLE.read_text(encoding="utf-8")
    for i in range(n):
        (directory / f"report_{i:06d}.txt").write_text(
            text + f"\n（副本 {i:06d}）\n", encoding="utf-8"
        )
    return directory


def record_replies(path: Path) -> Path:
    """What the model says for each part of the sample (from its gold record), by response model name."""
    echo = gold_echo(load(GOLD)["record"])
    replies = {}
    for part in REPORT_TYPE.parts:
        name = _camel(part.name)
        replies[name] = echo({"response_format": {"json_schema": {"name": name}}})
    path.write_text(json.dumps(replies, ensure_ascii=False), encoding="utf-8")
    return path


@contextmanager
def fake_server(recorded: Path, delay: float = 0.0) -> Iterator[str]:
    """The FAKE OpenAI-compatible server in a separate process; yields its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "structurer.llm.fake_server",
            "--recorded",
            str(recorded),
            "--delay",
            str(delay),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def rss_mb(pid: int | None = None) -> float:
    for line in Path(f"/proc/{pid or os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """Samples this process's RSS every `every` seconds in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.is_set():
            self.samples.append((time.perf_counter() - start, rss_mb()))
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
