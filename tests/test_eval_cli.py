"""The eval harness end to end on the FAKE model: eval runs stored and written, reuse of
stored extractions, failures, comparison with a regression gate, gold commands."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from structurer.batch.run import run_extraction
from structurer.cli.main import app
from structurer.core.records import flatten, leaf_paths
from structurer.core.report_type import load_report_type
from structurer.eval import load_gold_dir, read_run
from structurer.eval.gold_review import reviewed_gold
from structurer.eval.run import EvalError, EvalOutcome, run_eval
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from structurer.store.eval import find_eval
from structurer.store.eval_models import EvalRun
from structurer.store.models import FieldValue, Run
from structurer.store.session import dispose_engines, session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo

# The statistics asserted below (cells lost, McNemar p) are those of the first two samples.
GOLD_DIR = Path(tempfile.mkdtemp(prefix="structurer-eval-gold-"))
for _name in ("sample_2021.json", "sample_2021_short.json"):
    shutil.copy(REPO / "eval" / "gov_disclosure" / "gold" / _name, GOLD_DIR)
CORRUPT = {"requests.new_received.total", "requests.granted.natural_person", "meta.report_year"}

runner = CliRunner()


def echo_every_doc(corrupt: set[str] | None = None, garbage_for: str | None = None):  # type: ignore[no-untyped-def]
    """A FAKE model answering each request from the gold of the document named in it."""
    golds = {g.doc: gold_echo(g.record, corrupt=corrupt) for g in load_gold_dir(GOLD_DIR)}

    def respond(request: dict[str, Any]) -> Any:
        user = next(m["content"] for m in request["messages"] if m["role"] == "user")
        doc = next(d for d in sorted(golds, key=len, reverse=True) if f"文件：{d}" in user)
        if doc == garbage_for:
            return "I am not JSON at all"
        return golds[doc](request)

    return respond


def llm_for(settings: Settings, fake: FakeChatModel) -> LLMClient:
    return LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)


@pytest.fixture
def llm_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # the CLI reads Settings() from the environment: point it at the same database
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://fake-endpoint/v1")
    monkeypatch.setenv("STRUCTURER_MODEL", "fake-model")
    return settings.model_copy(update={"table_reader": "llm"})


@dataclass
class Evals:
    settings: Settings
    fake: FakeChatModel
    base: EvalOutcome  # the FAKE model echoes gold
    worse: EvalOutcome  # ... with CORRUPT fields off by one


@pytest.fixture(scope="module")
def evals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evals]:
    """Two eval runs in one database, made once: extraction is the slow part."""
    data = tmp_path_factory.mktemp("evals") / "data"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("OPENAI_API_KEY", "DATABASE_URL"):
            mp.delenv(var, raising=False)
        mp.setenv("STRUCTURER_DATA_DIR", str(data))
        mp.setenv("OPENAI_BASE_URL", "http://fake-endpoint/v1")
        mp.setenv("STRUCTURER_MODEL", "fake-model")
        settings = Settings(table_reader="llm", rule_reader=False)  # the model alone
        fake = FakeChatModel(echo_every_doc(), logprob=-0.01)
        base = run_eval(GOLD_DIR, SAMPLES, settings, name="base", llm=llm_for(settings, fake))
        bad_settings = settings.model_copy(update={"model": "fake-model-corrupt"})
        bad = FakeChatModel(echo_every_doc(corrupt=CORRUPT), logprob=-0.01)
        worse = run_eval(
            GOLD_DIR, SAMPLES, bad_settings, name="worse", llm=llm_for(bad_settings, bad)
        )
        yield Evals(settings, fake, base, worse)
    dispose_engines()


@pytest.fixture
def in_evals(evals: Evals, monkeypatch: pytest.MonkeyPatch) -> Evals:
    """The module's eval database, also for Settings() made by the CLI."""
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(evals.settings.data_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://fake-endpoint/v1")
    monkeypatch.setenv("STRUCTURER_MODEL", "fake-model")
    return evals


def test_echo_scores_100_and_the_run_is_stored(in_evals: Evals) -> None:
    outcome, settings = in_evals.base, in_evals.settings
    m = outcome.results.metrics
    assert m["accuracy"] == 1.0 and m["accuracy_nonzero"] == 1.0 and m["abstention_accuracy"] == 1.0
    assert m["list_f1_micro"] == 1.0 and m["doc_failures"] == 0
    assert (m["tokens_in_per_doc"] or 0) > 0 and m["seconds_per_doc"] is not None
    assert outcome.results.n_docs == 2 and not outcome.results.failures
    assert all(s.accuracy == 1.0 for s in outcome.results.sections.values())
    # files, lm-evaluation-harness style
    assert outcome.out_dir == settings.data_dir / "evals" / "base"
    results, scores = read_run(outcome.out_dir)
    assert results.metrics["accuracy"] == 1.0
    n_paths = len(leaf_paths(load_report_type("gov_disclosure").record_model))
    assert len(scores) == 2 * n_paths and all(s.correct for s in scores)
    assert "<html" in (outcome.out_dir / "report.html").read_text(encoding="utf-8").lower()
    # the database: a runs row of kind eval and its eval_runs row
    with session_scope(settings) as session:
        row = find_eval(session, "base")
        assert row is not None and row.id == outcome.id
        assert row.extract_run_id == outcome.extract_run_id and row.out_dir == str(outcome.out_dir)
        assert row.results["metrics"]["accuracy"] == 1.0
        assert row.settings["prompt"].startswith(f"{settings.prompt_version}+")
        assert row.settings["model"] == "fake-model"
        run = session.get(Run, outcome.id)
        assert run is not None and run.kind == "eval" and run.status == "done"
        assert find_eval(session, outcome.id[:6]) is not None and find_eval(session, "nope") is None
    listed = runner.invoke(app, ["eval", "list"])
    assert listed.exit_code == 0, listed.output
    assert "base" in listed.output and "worse" in listed.output and "100.0%" in listed.output


def test_rerun_reuses_stored_extractions(in_evals: Evals) -> None:
    settings, fake, first = in_evals.settings, in_evals.fake, in_evals.base
    n_calls = len(fake.requests)
    assert n_calls > 0 and first.reused == []
    second = run_eval(GOLD_DIR, SAMPLES, settings, name="again", llm=llm_for(settings, fake))
    assert len(fake.requests) == n_calls  # no new model calls
    assert sorted(second.reused) == ["sample_2021.txt", "sample_2021_short.txt"]
    assert second.extract_run_id != first.extract_run_id
    assert second.results.metrics["accuracy"] == 1.0
    # cost is that of the extraction that made the record, not of the free copy
    assert second.results.metrics["tokens_in_per_doc"] == first.results.metrics["tokens_in_per_doc"]
    assert second.results.metrics["seconds_per_doc"] == first.results.metrics["seconds_per_doc"]
    # a second run of the same name keeps the first one's files; the name finds the newest
    third = run_eval(GOLD_DIR, SAMPLES, settings, name="again", llm=llm_for(settings, fake))
    assert second.out_dir.name == "again" and third.out_dir.name == f"again-{third.id}"
    assert (second.out_dir / "results.json").is_file()
    with session_scope(settings) as session:
        found = find_eval(session, "again")
        assert found is not None and found.id == third.id


def test_scoring_a_stored_extraction_run_makes_no_model_calls(in_evals: Evals) -> None:
    worse = in_evals.worse
    fake = FakeChatModel()  # answers nothing: any call would fail the documents
    again = run_eval(
        GOLD_DIR,
        SAMPLES,
        in_evals.settings,
        name="rescored",
        llm=llm_for(in_evals.settings, fake),
        extract_run=worse.extract_run_id,
    )
    assert fake.requests == [] and again.extract_run_id == worse.extract_run_id
    assert again.results.metrics["accuracy"] == worse.results.metrics["accuracy"]
    assert again.results.settings["model"] == "fake-model-corrupt"
    with pytest.raises(EvalError, match="no extraction run"):
        run_eval(GOLD_DIR, SAMPLES, in_evals.settings, extract_run=in_evals.base.id)


def test_corrupted_echo_scores_lower_and_compare_gates(in_evals: Evals) -> None:
    worse = in_evals.worse
    assert worse.results.metrics["accuracy"] is not None and worse.results.metrics["accuracy"] < 1.0
    wrong = {(s.doc, s.path) for s in worse.scores if not s.correct}
    assert {p for _, p in wrong} == CORRUPT

    gated = runner.invoke(
        app, ["eval", "compare", "base", "worse", "--fail-on-regression", "0.001"]
    )
    assert gated.exit_code == 1, gated.output
    assert "regression" in gated.output
    out = in_evals.settings.data_dir / "evals" / "compare-base-vs-worse"
    assert (out / "compare.html").is_file() and (out / "compare.json").is_file()
    comparison = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert (
        comparison["overall"]["regressed"] == len(wrong) and comparison["overall"]["improved"] == 0
    )
    assert {f["path"] for f in comparison["flipped"]} == CORRUPT

    # 4 table cells lost in requests, none gained: McNemar p = 0.125, not significant at 0.05
    sections = ["eval", "compare", "base", "worse", "--fail-on-section-regression", "0.01"]
    quiet = runner.invoke(app, sections)
    assert quiet.exit_code == 0, quiet.output
    loose = runner.invoke(app, [*sections, "--alpha", "0.2"])
    assert loose.exit_code == 1, loose.output
    assert "regression in section requests" in loose.output and "section meta" not in loose.output

    lenient = runner.invoke(
        app, ["eval", "compare", "base", "worse", "--fail-on-regression", "0.5"]
    )
    assert lenient.exit_code == 0, lenient.output
    improved = runner.invoke(
        app, ["eval", "compare", "worse", "base", "--fail-on-regression", "0.001"]
    )
    assert improved.exit_code == 0, improved.output
    by_dir = runner.invoke(app, ["eval", "compare", str(in_evals.base.out_dir), "worse"])
    assert by_dir.exit_code == 0, by_dir.output
    unknown = runner.invoke(app, ["eval", "compare", "base", "nope"])
    assert unknown.exit_code == 2 and "no eval run 'nope'" in unknown.output


def test_failed_documents_count_as_all_null_and_are_listed(llm_settings: Settings) -> None:
    fake = FakeChatModel(echo_every_doc(garbage_for="sample_2021.txt"), logprob=-0.01)
    outcome = run_eval(
        GOLD_DIR, SAMPLES, llm_settings, name="half", llm=llm_for(llm_settings, fake)
    )
    assert [f.doc for f in outcome.results.failures] == ["sample_2021.txt"]
    assert outcome.results.metrics["doc_failures"] == 1
    assert outcome.results.metrics["validation_failures"] == 1
    failed = [s for s in outcome.scores if s.doc == "sample_2021.txt"]
    assert failed and all(s.pred_null for s in failed)
    assert all(s.correct for s in outcome.scores if s.doc == "sample_2021_short.txt")
    assert (
        outcome.results.metrics["accuracy"] is not None
        and outcome.results.metrics["accuracy"] < 1.0
    )


def test_gold_docs_missing_from_the_corpus_are_a_clear_error(
    llm_settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SAMPLES / "sample_2021_short.txt", corpus)
    with pytest.raises(EvalError, match=r"1 gold document\(s\) not in corpus .*sample_2021\.txt"):
        run_eval(GOLD_DIR, corpus, llm_settings, llm=llm_for(llm_settings, FakeChatModel()))
    # the CLI: `eval GOLD_DIR` is `eval run GOLD_DIR`; it fails before any model call
    result = runner.invoke(app, ["eval", str(GOLD_DIR), "--corpus", str(corpus)])
    assert result.exit_code == 1
    assert "not in corpus" in result.output
    with session_scope(llm_settings) as session:
        assert session.exec(select(EvalRun)).all() == []


def test_gold_check_catches_a_broken_gold_file(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["gold", "check", str(GOLD_DIR), "--corpus", str(SAMPLES)])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.output
    broken = tmp_path / "gold"
    shutil.copytree(GOLD_DIR, broken)
    path = broken / "sample_2021_short.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["record"]["meta"]["report_year"] = "2023"  # a string, not an int
    del data["record"]["contact"]["email"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (broken / "notes.json").write_text("{not json", encoding="utf-8")
    bad = runner.invoke(app, ["gold", "check", str(broken), "--corpus", str(SAMPLES)])
    assert bad.exit_code == 1
    assert "meta.report_year" in bad.output and "contact.email" in bad.output
    assert "notes.json" in bad.output
    missing = runner.invoke(app, ["gold", "check", str(GOLD_DIR), "--corpus", str(tmp_path)])
    assert missing.exit_code == 1 and "not in corpus" in missing.output
    empty = runner.invoke(app, ["gold", "check", str(tmp_path / "nothing")])
    assert empty.exit_code == 1


def test_gold_new_writes_a_skeleton(tmp_path: Path) -> None:
    out = tmp_path / "gold" / "sample_2021_short.json"
    result = runner.invoke(
        app, ["gold", "new", str(SAMPLES / "sample_2021_short.txt"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["doc"] == "sample_2021_short.txt" and set(data) == {
        "doc",
        "record",
        "alternatives",
        "notes",
    }
    flat = flatten(data["record"])
    assert set(flat) == set(leaf_paths(load_report_type("gov_disclosure").record_model))
    assert all(v in (None, []) for v in flat.values())
    again = runner.invoke(
        app, ["gold", "new", str(SAMPLES / "sample_2021_short.txt"), "--out", str(out)]
    )
    assert again.exit_code == 1  # no silent overwrite
    printed = runner.invoke(app, ["gold", "new", str(SAMPLES / "sample_2021_short.txt")])
    assert printed.exit_code == 0 and json.loads(printed.output)["doc"] == "sample_2021_short.txt"


def test_gold_from_review_applies_corrections_and_notes_unconfirmed(
    llm_settings: Settings, tmp_path: Path
) -> None:
    corrupt = {"requests.new_received.total"}
    fake = FakeChatModel(echo_every_doc(corrupt=corrupt), logprob=-0.01)
    doc = "sample_2021_short.txt"
    run_extraction([str(SAMPLES / doc)], llm_settings, llm=llm_for(llm_settings, fake))
    with pytest.raises(EvalError, match="no reviewed extraction"):
        reviewed_gold(llm_settings, doc)
    gold = {g.doc: g for g in load_gold_dir(GOLD_DIR)}[doc]
    truth = flatten(gold.record)
    with session_scope(llm_settings) as session:
        rows = {fv.path: fv for fv in session.exec(select(FieldValue)).all()}
        fix = rows["requests.new_received.total"]
        fix.value, fix.status = truth["requests.new_received.total"], "corrected"
        seen = rows["meta.title"]
        seen.signals = {**seen.signals, "confirmed": True}
        seen.status = "auto"
        session.add(fix)
        session.add(seen)
        session.commit()
    candidate = reviewed_gold(llm_settings, doc)
    assert candidate.doc == doc
    assert flatten(candidate.record) == truth
    assert "Confirmed by a person: 2 field(s), 1 of them corrected" in candidate.notes
    assert "meta.issuing_body" in candidate.notes  # machine-only
    machine_only = candidate.notes.split("check each: ", 1)[1]
    assert "meta.title" not in machine_only and "requests.new_received.total" not in machine_only
    out = tmp_path / "candidate.json"
    result = runner.invoke(app, ["gold", "from-review", doc, "--out", str(out)])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(app, ["gold", "check", str(tmp_path), "--corpus", str(SAMPLES)])
    assert checked.exit_code == 1  # named candidate.json, not after its doc
    written = json.loads(out.read_text(encoding="utf-8"))
    assert flatten(written["record"]) == truth
