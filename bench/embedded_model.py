"""Benchmark the embedded model server: start time, prefill/decode speed, peak RSS.

    .venv/bin/python bench/embedded_model.py [--models qwen2.5-coder-1.5b qwen2.5-coder-0.5b]

Uses a throw-away data_dir and port 18093. "Cold" start = fresh data_dir (parts joined and
hashed) with the page cache dropped when permitted; "warm" = joined file verified via its
sidecar and in page cache. The prompt is ~1,500 tokens of samples/sample_2021.txt with a small
JSON schema, logprobs on (as the pipeline calls it), prompt cache off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from structurer.llm.embedded.server import serve, stop
from structurer.settings import REPO_ROOT, Settings

PORT = 18093
TARGET_TOKENS = 1500
SCHEMA = {
    "type": "object",
    "properties": {
        "year": {"type": "integer"},
        "agency": {"type": "string"},
        "new_regulations": {"type": "integer"},
        "applications_received": {"type": "integer"},
        "problems": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["year", "agency", "new_regulations", "applications_received", "problems"],
    "additionalProperties": False,
}
INSTRUCTION = "阅读下面的政府信息公开工作年度报告，按JSON模式提取字段。问题用原文句子。\n\n"


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_prompt(client: httpx.Client, root: str) -> tuple[str, int]:
    text = (REPO_ROOT / "samples" / "sample_2021.txt").read_text(encoding="utf-8")
    lo, hi = 200, len(text)
    while lo < hi:  # longest prefix under TARGET_TOKENS tokens
        mid = (lo + hi + 1) // 2
        n = len(
            client.post(root + "/tokenize", json={"content": INSTRUCTION + text[:mid]}).json()[
                "tokens"
            ]
        )
        lo, hi = (mid, hi) if n <= TARGET_TOKENS else (lo, mid - 1)
    prompt = INSTRUCTION + text[:lo]
    n = len(client.post(root + "/tokenize", json={"content": prompt}).json()["tokens"])
    return prompt, n


def one_request(client: httpx.Client, base: str, model: str, prompt: str) -> dict[str, Any]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": SCHEMA}},
        "temperature": 0,
        "max_tokens": 256,
        "logprobs": True,
        "top_logprobs": 3,
        "cache_prompt": False,
    }
    t0 = time.monotonic()
    r = client.post(base + "/chat/completions", json=body, timeout=1800).json()
    wall = time.monotonic() - t0
    json.loads(r["choices"][0]["message"]["content"])  # must be valid JSON
    t = r["timings"]
    return {
        "prompt_n": t["prompt_n"],
        "prefill_tps": t["prompt_per_second"],
        "decode_n": t["predicted_n"],
        "decode_tps": t["predicted_per_second"],
        "wall_s": wall,
    }


def bench_model(name: str, runs: int, threads: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"model": name, "threads": threads, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="structurer-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp), embedded_model=name, embedded_port=PORT, embedded_threads=threads
        )
        stop(settings)
        out["page_cache_dropped"] = drop_page_cache()
        t0 = time.monotonic()
        info = serve(settings, timeout=900)
        out["cold_start_s"] = time.monotonic() - t0  # join + hash + load
        stop(settings)
        warm = []
        for _ in range(2):
            t0 = time.monotonic()
            info = serve(settings, timeout=900)
            warm.append(time.monotonic() - t0)
            if len(warm) < 2:
                stop(settings)
        out["warm_start_s"] = warm
        root = info.base_url.removesuffix("/v1")
        with httpx.Client(trust_env=False) as client:
            prompt, n = build_prompt(client, root)
            out["prompt_tokens_raw"] = n
            out["runs"] = [one_request(client, info.base_url, name, prompt) for _ in range(runs)]
        assert info.pid is not None
        out["peak_rss_mib"] = peak_rss_mib(info.pid)
        out["load_after"] = os.getloadavg()
        stop(settings)
    for key in ("prefill_tps", "decode_tps"):
        out[key + "_median"] = statistics.median(r[key] for r in out["runs"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="default: settings (nproc)")
    args = ap.parse_args()
    for name in args.models:
        print(
            json.dumps(bench_model(name, args.runs, args.threads), ensure_ascii=False), flush=True
        )


if __name__ == "__main__":
    main()
