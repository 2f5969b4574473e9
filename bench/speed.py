"""Speed benchmark (issue 12): OLD vs NEW settings side by side in one run, on the embedded model.

    .venv/bin/python bench/speed.py [--corpus ../shared/corpus --gold ../shared/gold]
        [--old KEY=VALUE ...] [--new KEY=VALUE ...] [--out DIR]

For each setting, cold: a fresh data dir (fresh database, so no stored extraction and no reply
cache; the weights are linked from the usual data dir so they are not re-joined), a fresh
server on the setting's own port (its start-up timed and counted apart). Then, in that order,
samples/sample_2021.txt (the README's first command) and the gold documents of --corpus, one
after the other. Per report it prints wall seconds, prompt tokens processed vs reused from the
server's prompt cache, output tokens, decode tokens/s and speculative acceptance (from the
server's own timings, logged in llm_calls), with the load average before and after each
setting. Then `structurer eval compare OLD NEW --fail-on-regression 0.01
--fail-on-section-regression 0.05` on the two eval runs (exit code 1 on a regression).

Settings are Settings fields (env names without STRUCTURER_), e.g. `--new embedded_speculative=
ngram_simple embedded_spec_ngram_n=3 embedded_spec_ngram_m=16`. OLD defaults to the
settings before issue 12, NEW to today's defaults (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "schemas"))

from sqlmodel import select  # noqa: E402

from structurer.batch.document import DocResult  # noqa: E402
from structurer.batch.run import run_extraction  # noqa: E402
from structurer.core.model import Model  # noqa: E402
from structurer.core.pipeline import extract_document  # noqa: E402
from structurer.core.prompts import PromptSet  # noqa: E402
from structurer.core.report_type import load_report_type  # noqa: E402
from structurer.core.types import LoadedDocument  # noqa: E402
from structurer.eval.run import run_eval  # noqa: E402
from structurer.llm.client import LLMClient  # noqa: E402
from structurer.llm.embedded import server  # noqa: E402
from structurer.llm.fake import FakeChatModel  # noqa: E402
from structurer.settings import Settings  # noqa: E402
from structurer.store.models import Document, LLMCall  # noqa: E402
from structurer.store.session import dispose_engines, session_scope  # noqa: E402

SAMPLE = REPO / "samples" / "sample_2021.txt"
PORTS = {"old": 18101, "new": 18102}
CORES = len(os.sched_getaffinity(0))
# OLD: the settings before issue 12 (prompt v1, one core left free, every part asked, no length
# caps). NEW: today's defaults (prompt v5, threads chosen from the load, ask_less=fields, two
# server slots; the length caps measured and left off), which this benchmark chose
# (bench/README.md).
OLD = {
    "prompt_version": "v1",
    "embedded_threads": str(max(1, CORES - 1)),
    "ask_less": "off",
    "quote_max_chars": "off",
    "item_max_chars": "off",
}
NEW: dict[str, str] = {}


def wait_quiet(say: Callable[[str], None], timeout: float = 300.0) -> None:
    """Wait until the box is quiet (what the server's default threads are decided by), so each
    setting starts on the same quiet box."""
    deadline = time.monotonic() + timeout
    while not server.box_is_quiet() and time.monotonic() < deadline:
        time.sleep(2)
    say(f"load average {os.getloadavg()[0]:.2f}, {server.busy_cores():.2f} cores busy")


@dataclass
class Report:
    name: str
    status: str
    wall_s: float
    calls: int = 0
    prompt_processed: int = 0
    prompt_reused: int = 0
    tokens_out: int = 0
    decode_ms: float = 0.0
    draft_tokens: int = 0
    draft_accepted: int = 0
    timed_calls: int = 0  # calls the server reported timings for

    @property
    def decode_tps(self) -> float | None:
        return self.tokens_out / self.decode_ms * 1000 if self.decode_ms > 0 else None

    @property
    def acceptance(self) -> float | None:
        return self.draft_accepted / self.draft_tokens if self.draft_tokens else None


@dataclass
class SettingRun:
    label: str
    overrides: dict[str, str]
    server_start_s: float | None = None
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    eval_dir: str = ""
    reports: list[Report] = field(default_factory=list)

    @property
    def median_wall_s(self) -> float | None:
        walls = [r.wall_s for r in self.reports if r.status == "ok"]
        return statistics.median(walls) if walls else None


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in Settings.model_fields:
            raise SystemExit(f"bench/speed.py: {pair!r} is not KEY=VALUE with KEY a Settings field")
        out[key] = value
    return out


def link_weights(data_dir: Path) -> None:
    """The weights joined once under the usual data dir, so a fresh data dir does not re-join
    them (joining is not what is measured)."""
    models = Settings().data_dir / "models"
    if models.is_dir() and not (data_dir / "models").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "models").symlink_to(models)


def call_stats(settings: Settings, names: dict[str, Report]) -> None:
    """Fill each report's token and timing figures from llm_calls (replies from the cache aside)."""
    with session_scope(settings) as session:
        rows = session.exec(
            select(LLMCall, Document.name).join(
                Document,
                LLMCall.document_id == Document.id,  # type: ignore[arg-type]
            )
        ).all()
    for call, doc_name in rows:
        report = names.get(doc_name)
        if report is None or call.cached:
            continue
        report.calls += 1
        report.tokens_out += call.tokens_out
        if call.prompt_processed is None:
            continue
        report.timed_calls += 1
        report.prompt_processed += call.prompt_processed
        report.prompt_reused += call.prompt_reused or 0
        report.decode_ms += call.decode_ms or 0.0
        report.draft_tokens += call.draft_tokens or 0
        report.draft_accepted += call.draft_accepted or 0


def run_setting(
    label: str,
    overrides: dict[str, str],
    *,
    data_dir: Path,
    gold: Path,
    corpus: Path,
    out: Path,
    sample: Path | None = SAMPLE,
    llm: Model | None = None,
    say: Callable[[str], None] = print,
) -> SettingRun:
    """One setting, cold. With `llm` (tests: a FAKE endpoint) no embedded server is started."""
    link_weights(data_dir)
    settings = Settings(
        data_dir=data_dir,
        embedded_port=PORTS.get(label, 18103),
        **overrides,  # type: ignore[arg-type]  # strings, validated by pydantic
    )
    run = SettingRun(label, overrides, load_before=os.getloadavg())
    if llm is None and settings.uses_embedded_model:
        server.stop(settings)  # a server of ours left on this port: not cold
        wait_quiet(say)
        decode = server.threads(settings)
        say(f"[{label}] threads {decode}/{server.batch_threads(settings, decode)}")
        started = time.monotonic()
        server.serve(settings, timeout=1800)
        run.server_start_s = time.monotonic() - started
        say(f"[{label}] server up in {run.server_start_s:.1f}s")
    results: list[DocResult] = []

    def on_result(r: DocResult) -> None:
        results.append(r)
        say(f"[{label}] {r.status} {r.name} {r.seconds:.1f}s")

    try:
        if sample is not None:
            run_extraction(
                [str(sample)], settings, name=f"speed:{label}", llm=llm, on_result=on_result
            )
        outcome = run_eval(
            gold,
            corpus,
            settings,
            name=f"speed-{label}",
            out_dir=out / label,
            llm=llm,  # type: ignore[arg-type]  # any Model
            on_result=on_result,
        )
        run.eval_dir = str(outcome.out_dir)
    finally:
        if llm is None and settings.uses_embedded_model:
            server.stop(settings)
    run.load_after = os.getloadavg()
    reports = {r.name: Report(r.name, str(r.status), r.seconds) for r in results}
    call_stats(settings, reports)
    dispose_engines()  # the data dir goes away after this setting
    run.reports = list(reports.values())
    return run


def load_run(directory: Path, label: str) -> SettingRun:
    """One setting's figures from an earlier run's speed.json (`--old-from`)."""
    dump = json.loads((directory / "speed.json").read_text(encoding="utf-8"))
    found = next(d for d in dump if d["label"] == label)
    found.pop("median_wall_s", None)
    reports = [Report(**r) for r in found.pop("reports")]
    run = SettingRun(**{**found, "reports": reports})
    run.load_before, run.load_after = tuple(run.load_before), tuple(run.load_after)  # type: ignore[assignment]
    return run


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(runs: list[SettingRun]) -> str:
    lines = [
        f"{'report':34} {'setting':7} {'wall s':>7} {'calls':>5} {'prompt proc':>11} "
        f"{'reused':>7} {'out tok':>7} {'dec tok/s':>9} {'accept':>6}"
    ]
    names = list(dict.fromkeys(r.name for run in runs for r in run.reports))
    for name in names:
        for run in runs:
            r = next((x for x in run.reports if x.name == name), None)
            if r is None:
                continue
            timed = r.timed_calls > 0
            lines.append(
                f"{name[:34]:34} {run.label:7} {r.wall_s:7.1f} {r.calls:5d} "
                f"{r.prompt_processed if timed else '-':>11} "
                f"{r.prompt_reused if timed else '-':>7} {r.tokens_out:7d} "
                f"{_fmt(r.decode_tps, '.2f'):>9} {_fmt(r.acceptance, '.0%'):>6}"
                + ("" if r.status == "ok" else f"  {r.status}")
            )
    for run in runs:
        lines.append(
            f"{run.label}: median wall {_fmt(run.median_wall_s, '.1f')}s over "
            f"{len(run.reports)} reports; server start {_fmt(run.server_start_s, '.1f')}s "
            f"(not counted); load avg before {run.load_before[0]:.2f}, after "
            f"{run.load_after[0]:.2f}; settings {run.overrides or 'defaults'}"
        )
    return "\n".join(lines)


def compare(old: SettingRun, new: SettingRun, out: Path) -> int:
    """`structurer eval compare` of the two eval runs, with the issue's gates; its exit code."""
    cmd = [
        sys.executable,
        "-m",
        "structurer",
        "eval",
        "compare",
        old.eval_dir,
        new.eval_dir,
        "--fail-on-regression",
        "0.01",
        "--fail-on-section-regression",
        "0.05",
        "--out",
        str(out / "compare"),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "schemas")]),
        "STRUCTURER_DATA_DIR": str(out / "compare-data"),
    }
    return subprocess.run(cmd, env=env, check=False).returncode


def _null_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Every field null: what a part's reply says does not change its prompt."""
    schema = body["response_format"]["json_schema"]["schema"]
    return {
        key: [] if spec.get("type") == "array" else {"value": None, "quote": None}
        for key, spec in schema["properties"].items()
    }


def prompt_chars(docs: list[Path], settings_of: dict[str, dict[str, str]]) -> str:
    """No model: each setting's calls per report and prompt characters sent, reused and left to
    prefill under a one-slot prompt cache (reuse = the prefix shared with the previous request,
    the FAKE endpoint's model of it). Characters, not tokens or seconds."""
    rtype = load_report_type("gov_disclosure")
    lines = [f"{'report':34} {'setting':7} {'calls':>5} {'chars':>7} {'reused':>7} {'prefill':>7}"]
    for path in docs:
        text = path.read_text(encoding="utf-8")
        doc = LoadedDocument(path.name, str(path), "-", text, "txt", "utf-8")
        for label, overrides in settings_of.items():
            with tempfile.TemporaryDirectory() as tmp:
                s = Settings(
                    data_dir=Path(tmp),
                    **{**overrides, "openai_base_url": "http://fake/v1", "model": "fake"},  # type: ignore[arg-type]
                )
                fake = FakeChatModel(_null_reply, timings=True)
                llm = LLMClient(s, "http://fake/v1", http_client=fake.client())
                prompts = PromptSet(s.prompts_dir, s.report_type, s.prompt_version)
                calls = extract_document(doc, rtype, llm, prompts, s).calls
            timed = [c.timings for c in calls if c.timings is not None]
            total = 2 * sum(t.prompt_n + t.cache_n for t in timed)  # the fake: 2 chars a token
            reused = 2 * sum(t.cache_n for t in timed)
            lines.append(
                f"{path.name[:34]:34} {label:7} {len(calls):5d} {total:7d} {reused:7d} "
                f"{total - reused:7d}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--gold", type=Path, default=REPO.parent / "shared" / "gold")
    ap.add_argument("--old", nargs="*", default=None, metavar="KEY=VALUE")
    ap.add_argument("--new", nargs="*", default=None, metavar="KEY=VALUE")
    ap.add_argument("--no-sample", action="store_true", help="skip samples/sample_2021.txt")
    ap.add_argument(
        "--old-from",
        type=Path,
        help="reuse OLD from an earlier run's directory (its speed.json and eval run) instead "
        "of running it again: only NEW runs; say so with the figures",
    )
    ap.add_argument("--out", type=Path, help="default: bench/results/speed-<UTC time>")
    ap.add_argument(
        "--prompt-chars",
        action="store_true",
        help="no model: only the prompt characters each setting sends and could reuse",
    )
    args = ap.parse_args(argv)
    settings_of = {
        "old": parse_overrides(args.old) if args.old is not None else dict(OLD),
        "new": parse_overrides(args.new) if args.new is not None else dict(NEW),
    }
    if args.prompt_chars:
        docs = ([] if args.no_sample else [SAMPLE]) + sorted(args.corpus.glob("*.txt"))
        print(prompt_chars(docs, settings_of))
        return 0
    out = args.out or REPO / "bench" / "results" / time.strftime(
        "speed-%Y%m%dT%H%MZ", time.gmtime()
    )
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    if args.old_from is not None:
        runs.append(load_run(args.old_from, "old"))
        settings_of.pop("old")
    for label, overrides in settings_of.items():
        with tempfile.TemporaryDirectory(prefix=f"structurer-speed-{label}-") as tmp:
            runs.append(
                run_setting(
                    label,
                    overrides,
                    data_dir=Path(tmp),
                    gold=args.gold,
                    corpus=args.corpus,
                    out=out,
                    sample=None if args.no_sample else SAMPLE,
                )
            )
    text = table(runs)
    print(text)
    (out / "speed.txt").write_text(text + "\n", encoding="utf-8")
    dump = [{**asdict(r), "median_wall_s": r.median_wall_s} for r in runs]
    (out / "speed.json").write_text(json.dumps(dump, indent=1, ensure_ascii=False) + "\n")
    code = compare(runs[0], runs[1], out)
    print(f"eval compare old vs new: exit {code} ({'pass' if code == 0 else 'REGRESSION'})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
