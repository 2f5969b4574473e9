"""Issue 12 machinery: server timings per call, server settings, prefix-ordered prompts, and
parts skipped when a deterministic reader already read them. FAKE endpoint / MockModel only."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlmodel import select

from structurer.batch.run import run_extraction
from structurer.core.pipeline import build_messages, extract_document, part_text
from structurer.core.prompts import PromptSet
from structurer.core.report_type import load_report_type
from structurer.core.response_models import build_response_model, part_fields
from structurer.core.sections import split_sections
from structurer.core.types import LoadedDocument
from structurer.llm.client import LLMClient
from structurer.llm.embedded import server
from structurer.llm.embedded.serve_main import PROCESS_MARKER, build_params, parse_args
from structurer.llm.fake import FakeChatModel
from structurer.llm.mock import MockModel
from structurer.settings import Settings
from structurer.store.models import LLMCall
from structurer.store.session import session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load

SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"
MSG = [{"role": "user", "content": "报告年度？"}]


class Year(BaseModel):
    year: int


def llm_for(settings: Settings, fake: FakeChatModel) -> LLMClient:
    return LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)


# ------------------------------------------------------------------ timings


def test_timings_are_read_from_the_reply(settings: Settings) -> None:
    fake = FakeChatModel(timings=True, draft=(16, 8)).queue({"year": 2021}, {"year": 2022})
    llm = llm_for(settings, fake)
    first = llm.complete(MSG, Year)
    assert first.timings is not None
    assert first.timings.cache_n == 0 and first.timings.prompt_n > 0
    assert first.timings.draft_n == 16 and first.timings.draft_accepted == 8
    assert first.timings.acceptance == pytest.approx(0.5)
    assert first.timings.decode_tps == pytest.approx(10.0)
    # the same prompt again: the fake server reuses all of it but the last (partial) token
    second = llm.complete(MSG, Year)
    assert second.timings is not None
    assert second.timings.cache_n > 0
    assert second.timings.cache_n + second.timings.prompt_n == first.timings.prompt_n


def test_timings_sum_over_reasks_and_are_none_when_not_reported(settings: Settings) -> None:
    fake = FakeChatModel(timings=True).queue("not json", {"year": 2021})
    result = llm_for(settings, fake).complete(MSG, Year)
    assert result.retries == 1 and result.timings is not None
    assert result.timings.predicted_n == result.tokens_out  # the fake counts both alike
    plain = FakeChatModel().queue({"year": 2021})
    assert llm_for(settings, plain).complete(MSG, Year).timings is None


def test_timings_are_stored_per_call(settings: Settings) -> None:
    s = settings.model_copy(update={"table_reader": "llm"})
    fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]), timings=True)
    summary = run_extraction([str(SAMPLES / "sample_2021_short.txt")], s, llm=llm_for(s, fake))
    assert [r.status for r in summary.results] == ["ok"]
    with session_scope(s) as session:
        calls = session.exec(select(LLMCall)).all()
    assert len(calls) == len(fake.requests) > 1
    assert all(c.prompt_processed and c.decode_tokens and c.decode_ms for c in calls)
    assert all(c.prompt_reused is not None and c.draft_tokens == 0 for c in calls)
    # v1 starts every part's prompt with the same system text: later calls reuse some of it
    assert sum(c.prompt_reused or 0 for c in calls) > 0


def test_no_timings_columns_stay_null(settings: Settings) -> None:
    s = settings.model_copy(update={"table_reader": "llm"})
    fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]))
    run_extraction([str(SAMPLES / "sample_2021_short.txt")], s, llm=llm_for(s, fake))
    with session_scope(s) as session:
        calls = session.exec(select(LLMCall)).all()
    assert calls and all(c.prompt_processed is None and c.prompt_reused is None for c in calls)


# ------------------------------------------------------------------ server settings


def test_server_settings_reach_llama_cpp_params(tmp_path: Path) -> None:
    """Settings -> serve_main's argv -> xllamacpp.CommonParams (no model is loaded)."""
    s = Settings(
        data_dir=tmp_path,
        embedded_threads=1,
        embedded_batch_threads=2,
        embedded_poll=0,
        embedded_parallel=2,
        embedded_cache_prompt=False,
        embedded_speculative="ngram_simple",
        embedded_spec_ngram_n=4,
        embedded_spec_ngram_m=16,
    )
    p = build_params(parse_args(server.server_args(s, tmp_path / "m.gguf", None)))
    assert (p.cpuparams.n_threads, p.cpuparams_batch.n_threads) == (1, 2)
    assert p.cpuparams.poll == p.cpuparams_batch.poll == 0
    assert p.n_parallel == 2 and p.cache_prompt is False
    assert [t.name for t in p.speculative.types] == ["COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE"]
    assert (p.speculative.ngram_simple.size_n, p.speculative.ngram_simple.size_m) == (4, 16)

    draft = s.model_copy(update={"embedded_speculative": "draft", "embedded_draft_max": 8})
    argv = server.server_args(draft, tmp_path / "m.gguf", tmp_path / "d.gguf")
    p = build_params(parse_args(argv))
    assert [t.name for t in p.speculative.types] == ["COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE"]
    assert p.speculative.draft.mparams.path == str(tmp_path / "d.gguf")
    assert p.speculative.draft.n_max == 8


def test_default_threads_follow_the_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every core on a quiet box, one left free on a busy one (issue 12's measurement); the
    choice is not part of the server's config, so a load change restarts nothing."""
    s = Settings(data_dir=tmp_path)
    cores = len(os.sched_getaffinity(0))
    config = server.config_id(s)
    for busy, expected in ((0.1, cores), (server.QUIET_BUSY_CORES + 0.5, max(1, cores - 1))):
        monkeypatch.setattr(server, "busy_cores", lambda busy=busy: busy)
        p = build_params(parse_args(server.server_args(s, tmp_path / "m.gguf", None)))
        assert p.cpuparams.n_threads == p.cpuparams_batch.n_threads == expected
        assert server.config_id(s) == config
    pinned = s.model_copy(update={"embedded_threads": 1})
    assert server.threads(pinned) == 1 and server.config_id(pinned) != config
    # two slots, each with the whole context
    assert p.n_parallel == 2 and p.n_ctx == 2 * s.embedded_ctx
    assert p.cache_prompt is True and p.cache_ram_mib == 1024
    assert [t.name for t in p.speculative.types] == ["COMMON_SPECULATIVE_TYPE_NONE"]


@pytest.mark.parametrize(
    "change",
    [
        {"embedded_threads": 7},
        {"embedded_batch_threads": 7},
        {"embedded_poll": 0},
        {"embedded_parallel": 3},
        {"embedded_cache_prompt": False},
        {"embedded_speculative": "ngram_mod"},
        {"embedded_ctx": 4096},
    ],
)
def test_every_server_setting_changes_the_config_id(tmp_path: Path, change: dict[str, Any]) -> None:
    s = Settings(data_dir=tmp_path)
    assert server.config_id(s.model_copy(update=change)) != server.config_id(s)


def test_ngram_sizes_count_only_with_ngram_speculation(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert server.config_id(s.model_copy(update={"embedded_spec_ngram_n": 3})) == server.config_id(
        s
    )
    spec = s.model_copy(update={"embedded_speculative": "ngram_simple"})
    assert server.config_id(
        spec.model_copy(update={"embedded_spec_ngram_n": 3})
    ) != server.config_id(spec)


# A toy llama.cpp server: answers /health and /v1/models like llama.cpp, carries serve_main's
# marker and arguments in its argv, so server.py finds, compares and stops it like the real one.
TOY = textwrap.dedent(
    """
    import argparse, http.server, json
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--alias", required=True)
    args, _ = ap.parse_known_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"{}"
            if self.path == "/v1/models":
                body = json.dumps({"data": [{"id": args.alias, "owned_by": "llamacpp"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_server_restarts_when_its_settings_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toy = tmp_path / "toy_llama.py"
    toy.write_text(TOY)
    monkeypatch.setattr(server, "_launcher", lambda: [sys.executable, str(toy), PROCESS_MARKER])
    monkeypatch.setattr(server, "ensure_weights", lambda settings, name=None: tmp_path / "m.gguf")
    s = Settings(data_dir=tmp_path / "data", embedded_port=_free_port(), embedded_threads=1)
    first = server.serve(s, timeout=60)
    try:
        assert first.pid is not None
        assert server.serve(s, timeout=60).pid == first.pid  # same settings: reused
        changed = s.model_copy(update={"embedded_threads": 2})
        second = server.serve(changed, timeout=60)
        assert second.pid is not None and second.pid != first.pid
        assert not Path(f"/proc/{first.pid}").exists() or _zombie(first.pid)
        cmdline = Path(f"/proc/{second.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[cmdline.index(b"--threads") + 1] == b"2"
        assert server.serve(changed, timeout=60).pid == second.pid
    finally:
        server.stop(s)
    assert server.status(s) is None


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] in "ZX"
    except OSError:
        return True


# ------------------------------------------------------------------ prefix-ordered prompts (v4)


def _messages(version: str, report_format: str | None) -> dict[str, list[dict[str, Any]]]:
    rtype = load_report_type("gov_disclosure")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", version)
    path = SAMPLES / "sample_2021.txt"
    text = path.read_text(encoding="utf-8")
    doc = LoadedDocument(path.name, str(path), "x", text, "txt", "utf-8")
    sections = split_sections(text, rtype.sections)
    out = {}
    for part in rtype.parts:
        part_text_, _ = part_text(doc, sections, part)
        fields = part_fields(rtype.record_model, part)
        out[part.name] = build_messages(prompts, part, fields, part_text_, doc.name, report_format)
    return out


def _v1_as_before(
    prompts: PromptSet, part: Any, fields: Any, text: str, doc_name: str, fmt: str | None
) -> list[dict[str, Any]]:
    """build_messages as it was before issue 12 (the user template saw only text and name)."""
    system = prompts.render("system.j2", part=part.prompt, fields=fields, report_format=fmt)
    user = prompts.render("user.j2", text=text, doc_name=doc_name)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@pytest.mark.parametrize("name", ["sample_2021.txt", "sample_2021_short.txt"])
def test_v1_messages_are_unchanged_byte_for_byte(name: str) -> None:
    rtype = load_report_type("gov_disclosure")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", "v1")
    path = SAMPLES / name
    text = path.read_text(encoding="utf-8")
    doc = LoadedDocument(path.name, str(path), "x", text, "txt", "utf-8")
    sections = split_sections(text, rtype.sections)
    for fmt in (None, "2021"):
        for part in rtype.parts:
            part_text_, _ = part_text(doc, sections, part)
            fields = part_fields(rtype.record_model, part)
            now = build_messages(prompts, part, fields, part_text_, doc.name, fmt)
            before = _v1_as_before(prompts, part, fields, part_text_, doc.name, fmt)
            assert (
                json.dumps(now, ensure_ascii=False).encode()
                == json.dumps(before, ensure_ascii=False).encode()
            ), (part.name, fmt)


@pytest.mark.parametrize("fmt", [None, "2021"])
def test_v4_is_v1_reordered_with_the_shared_part_first(fmt: str | None) -> None:
    v1, v4 = _messages("v1", fmt), _messages("v4", fmt)
    systems = {m[0]["content"] for m in v4.values()}
    assert len(systems) == 1  # one system message for every part of the document
    for part, messages in v4.items():
        user = messages[1]["content"]
        assert user.startswith("文件：sample_2021.txt\n报告原文（节选）：\n<<<\n")
        assert user.endswith("请按要求输出JSON。")
        # the part's guidance and fields come after the text
        assert user.index(">>>") < user.index("要填写的字段")

        def lines(ms: list[dict[str, Any]]) -> list[str]:
            return sorted(x for m in ms for x in m["content"].splitlines() if x.strip())

        assert lines(messages) == lines(v1[part]), part  # same words, another order


@pytest.mark.parametrize(("mode", "same_prefix"), [("json_schema", True), ("json", False)])
def test_instructor_mode_and_the_shared_prefix(
    settings: Settings, mode: str, same_prefix: bool
) -> None:
    """JSON_SCHEMA sends the messages as built (the schema goes in response_format, a grammar
    for llama.cpp); JSON (and MD_JSON) append each part's schema to the system message, so
    parts share only the rules."""
    s = settings.model_copy(update={"instructor_mode": mode})
    msgs = _messages("v4", None)
    rtype = load_report_type("gov_disclosure")
    fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]))
    llm = llm_for(s, fake)
    sent = []
    for part in rtype.parts[:2]:
        before = len(fake.requests)
        llm.complete(msgs[part.name], build_response_model(rtype, part))
        sent.append(fake.requests[before]["messages"])  # the first ask (re-asks aside)
    assert (sent[0][0]["content"] == sent[1][0]["content"]) is same_prefix
    if mode == "json_schema":
        assert sent == [msgs[p.name] for p in rtype.parts[:2]]


def test_v4_reuses_more_of_the_prompt_on_the_fake_server(settings: Settings) -> None:
    """FAKE timings (reuse = common prefix with the previous request): v4 only reorders v1, and
    the calls of one document share more of their prompt."""
    record = load(SAMPLE_GOLD)["record"]
    reused = {}
    for version in ("v1", "v4"):
        s = settings.model_copy(
            update={
                "prompt_version": version,
                "data_dir": settings.data_dir / version,
                "table_reader": "llm",
            }
        )
        fake = FakeChatModel(gold_echo(record), timings=True)
        run_extraction([str(SAMPLES / "sample_2021.txt")], s, llm=llm_for(s, fake))
        with session_scope(s) as session:
            calls = session.exec(select(LLMCall)).all()
        reused[version] = sum(c.prompt_reused or 0 for c in calls)
    assert reused["v4"] > reused["v1"] > 0


# ------------------------------------------------------------------ ask less


def _extract(settings: Settings, name: str, **update: Any) -> tuple[Any, MockModel]:
    s = settings.model_copy(update=update)
    rtype = load_report_type("gov_disclosure")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", s.prompt_version)
    path = SAMPLES / name
    text = path.read_text(encoding="utf-8")
    doc = LoadedDocument(path.name, str(path), "x", text, "txt", "utf-8")
    model = MockModel()
    return extract_document(doc, rtype, model, prompts, s), model


def _asked(model: MockModel) -> dict[str, set[str]]:
    return {rm.__name__: set(rm.model_fields) for _, rm in model.calls}


def test_ask_less_off_asks_every_part(settings: Settings) -> None:
    outcome, model = _extract(settings, "sample_2021.txt")
    assert outcome.status == "ok"
    assert "Contact" in _asked(model) and "Meta" in _asked(model)


def test_ask_less_parts_skips_a_part_the_rules_read(settings: Settings) -> None:
    """sample_2021.txt states all five contact fields, which the rule reader reads exactly: the
    contact part is not sent, and the record still has them."""
    off, asked_off = _extract(settings, "sample_2021.txt")
    on, asked_on = _extract(settings, "sample_2021.txt", ask_less="parts")
    assert on.status == "ok"
    # the rules read every contact field, and every meta field but the format (the table
    # reader's): neither part is sent
    assert set(_asked(asked_off)) - set(_asked(asked_on)) == {"Contact", "Meta"}
    assert len(on.calls) == len(off.calls) - 2
    assert all(
        on.record["contact"][k] for k in ("address", "postcode", "phone", "email", "website")
    )
    readers = {r.path: r.reader for r in on.fields}
    assert readers["contact.phone"] == readers["meta.issuing_body"] == "rule"


def test_ask_less_fields_asks_only_what_is_unread(settings: Settings) -> None:
    on, model = _extract(settings, "sample_2021.txt", ask_less="fields")
    assert on.status == "ok"
    asked = _asked(model)
    assert "Contact" not in asked and "Meta" not in asked
    assert on.record["meta"]["title"] and on.record["meta"]["format"] == "2021"


def test_ask_less_keeps_a_part_the_rules_read_only_in_part(settings: Settings) -> None:
    """sample_2021_short.txt prints a phone and an address only: contact is still asked."""
    _, model = _extract(settings, "sample_2021_short.txt", ask_less="parts")
    assert "Contact" in _asked(model)
    _, model = _extract(settings, "sample_2021_short.txt", ask_less="fields")
    assert _asked(model)["Contact"] == {"postcode", "email", "website"}


def test_ask_less_is_in_the_run_settings_only_when_on(settings: Settings) -> None:
    assert "ask_less" not in settings.extraction_settings()
    on = settings.model_copy(update={"ask_less": "parts"})
    assert on.extraction_settings()["ask_less"] == "parts"


# ------------------------------------------------------------------ bench/speed.py machinery


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_speed", REPO / "bench" / "speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_speed"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_speed_bench_runs_old_and_new_on_the_fake_endpoint(
    settings: Settings, tmp_path: Path
) -> None:
    """The benchmark's machinery (not its figures): two settings, cold data dirs, per-report
    rows from llm_calls, the eval compare gate. FAKE endpoint with FAKE timings."""
    bench = _bench()
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    (gold_dir / SAMPLE_GOLD.name).write_bytes(SAMPLE_GOLD.read_bytes())
    runs = []
    settings_of = (
        ("old", {"ask_less": "off"}),
        ("new", {"prompt_version": "v4", "ask_less": "parts"}),
    )
    for label, overrides in settings_of:
        s = settings.model_copy(update={"prompt_version": overrides.get("prompt_version", "v1")})
        fake = FakeChatModel(gold_echo(load(SAMPLE_GOLD)["record"]), timings=True)
        runs.append(
            bench.run_setting(
                label,
                {"openai_base_url": "http://fake-endpoint/v1", "model": "fake-model", **overrides},
                data_dir=tmp_path / label,
                gold=gold_dir,
                corpus=SAMPLES,
                out=tmp_path / "out",
                llm=llm_for(s, fake),
                say=lambda _: None,
            )
        )
    old, new = runs
    assert [r.name for r in old.reports] == ["sample_2021.txt", "sample_2021_short.txt"]
    for run in runs:
        assert all(
            r.status == "ok" and r.calls > 0 and r.timed_calls == r.calls for r in run.reports
        )
        assert all(
            r.prompt_processed > 0 and r.decode_tps == pytest.approx(10.0) for r in run.reports
        )
    sample_old, sample_new = old.reports[0], new.reports[0]
    # its contact and meta parts are not asked (the echoed gold is another report's: the
    # values it does not print are re-asked, in both settings)
    assert sample_new.calls < sample_old.calls
    text = bench.table(runs)
    assert "sample_2021_short.txt" in text and "median wall" in text and "load avg" in text
    assert bench.compare(old, old, tmp_path / "out") == 0  # the same run: no regression
    assert (tmp_path / "out" / "compare" / "compare.html").is_file()


def test_speed_bench_rejects_an_unknown_setting() -> None:
    with pytest.raises(SystemExit, match="not KEY=VALUE"):
        _bench().parse_overrides(["embedded_treads=2"])


def test_speed_bench_counts_prompt_characters_without_a_model() -> None:
    bench = _bench()
    text = bench.prompt_chars(
        [SAMPLES / "sample_2021.txt"],
        {"old": {"prompt_version": "v1", "ask_less": "off"}, "new": {"ask_less": "parts"}},
    )
    old, new = (line.split() for line in text.splitlines()[1:])
    assert old[1:] != new[1:]
    calls, chars, reused, prefill = (int(x) for x in old[2:])
    assert chars == reused + prefill and reused > 0
    assert int(new[2]) == calls - 2 and int(new[3]) < chars  # contact and meta are not sent


def test_quote_cap_is_in_the_schema_sent(settings: Settings) -> None:
    record = load(SAMPLE_GOLD)["record"]
    sent: dict[str | None, Any] = {}
    for cap in (None, 24):
        s = settings.model_copy(update={"quote_max_chars": cap, "table_reader": "llm"})
        fake = FakeChatModel(gold_echo(record))
        run_extraction(
            [str(SAMPLES / "sample_2021_short.txt")],
            s.model_copy(update={"data_dir": settings.data_dir / str(cap)}),
            llm=llm_for(s, fake),
        )
        sent[cap] = fake.requests[0]["response_format"]["json_schema"]["schema"]
    uncapped, capped = json.dumps(sent[None]), json.dumps(sent[24])
    assert '"maxLength"' not in uncapped
    assert capped.count('{"maxLength": 24, "type": "string"}') >= 1  # the quote's string branch
    assert capped.replace('{"maxLength": 24, "type": "string"}', '{"type": "string"}') == uncapped
    assert (
        settings.model_copy(update={"quote_max_chars": 24}).extraction_settings()["quote_max_chars"]
        == 24
    )


def test_a_documents_parts_share_the_embedded_servers_slots(tmp_path: Path) -> None:
    embedded = Settings(data_dir=tmp_path)
    assert embedded.uses_embedded_model and embedded.part_concurrency == 2
    one_slot = embedded.model_copy(update={"embedded_parallel": 1})
    assert one_slot.part_concurrency == 1
    hosted = embedded.model_copy(update={"openai_base_url": "http://x/v1", "concurrency": 3})
    assert hosted.part_concurrency == 3
