"""Fitting P(correct) on labelled fields, the versioned artifact, and `structurer calibrate`
end to end on the FAKE model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from structurer.confidence.calibrate import (
    CalibrationArtifact,
    Sample,
    artifact_path,
    current_version,
    fit,
    load_current,
    out_of_fold,
    save,
)
from structurer.confidence.signals import FEATURES, features
from structurer.eval.calibration_data import calibration_metrics
from structurer.eval.scoring import score_field
from structurer.llm.client import LLMClient
from structurer.llm.fake import FakeChatModel
from structurer.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import gold_echo, load

SAMPLE_GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


def _synthetic(n_docs: int = 5, per_doc: int = 40, seed: int = 0) -> list[Sample]:
    """Fields whose correctness depends on value_in_span (strongly) and retries (a little)."""
    rng = random.Random(seed)
    out = []
    for d in range(n_docs):
        for i in range(per_doc):
            in_span = rng.random() < 0.7
            retries = rng.choice([0, 0, 0, 1])
            p = (0.92 if in_span else 0.3) - 0.1 * retries
            signals = {"value_in_span": float(in_span), "retries": retries, "kind": "int"}
            out.append(
                Sample(f"doc{d}", f"p{i}", features("llm", "exact", signals, 1), rng.random() < p)
            )
    return out


def test_fit_learns_the_informative_signal() -> None:
    art = fit(_synthetic(), fitted_on={"model": "m"})
    coef = dict(zip(art.features, art.coefficients, strict=True))
    assert coef["value_in_span"] > coef["value_not_in_span"]
    assert art.n_train == 200 and len(art.oof) == 200 and art.C is not None
    assert art.docs == [f"doc{d}" for d in range(5)]
    good = art.predict(features("llm", "exact", {"value_in_span": 1.0}))
    bad = art.predict(features("llm", "exact", {"value_in_span": 0.0}))
    assert 0.75 < good < 1.0 and 0.05 < bad < 0.5
    assert len(art.version) == 12 and art.version == art.content_hash()


def test_out_of_fold_never_sees_its_own_document() -> None:
    samples = _synthetic(n_docs=2, per_doc=30)
    # make doc0 all-correct: a model that saw it would predict it higher than one that did not
    samples = [
        Sample(s.doc, s.path, s.features, True if s.doc == "doc0" else s.correct) for s in samples
    ]
    import numpy as np

    from structurer.confidence.signals import vector

    x = np.array([vector(s.features) for s in samples])
    y = np.array([int(s.correct) for s in samples])
    g = np.array([s.doc for s in samples])
    oof = out_of_fold("logistic", 1.0, x, y, g)
    assert oof.shape == (60,)
    assert oof[g == "doc0"].mean() < 0.95  # fitted on doc1 alone, which has errors


def test_fit_one_class_and_isotonic() -> None:
    samples = [Sample("a", f"p{i}", features("llm", "exact", {}), True) for i in range(10)]
    art = fit(samples)
    assert 0.5 < art.predict(samples[0].features) <= art.clip[1] < 1.0
    iso = fit(_synthetic(), method="isotonic")
    assert iso.method == "isotonic" and iso.isotonic_x
    hi = iso.predict(features("llm", "exact", {"value_in_span": 1.0}))
    lo = iso.predict(features("llm", "exact", {"value_in_span": 0.0}))
    assert hi >= lo
    with pytest.raises(ValueError):
        fit([])


def test_save_load_pointer_and_explicit_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert load_current(settings) is None and current_version(settings) is None
    art = fit(_synthetic())
    path = save(art, settings)
    assert path == tmp_path / "calibration" / f"{art.version}.json"
    assert (tmp_path / "calibration" / "current").read_text().strip() == art.version
    assert current_version(settings) == art.version
    data = json.loads(path.read_text())
    assert data["features"] == ["prior_logit", *FEATURES] and data["n_train"] == 200
    assert "fitted_on" in data and data["prior_weights"]
    other = fit(_synthetic(seed=3))
    other_path = save(other, settings, make_current=False)
    assert current_version(settings) == art.version
    explicit = settings.model_copy(update={"calibration_file": other_path})
    assert artifact_path(explicit) == other_path and current_version(explicit) == other.version


def test_calibration_metrics_reuse_eval() -> None:
    scores = [
        score_field(doc="d", path=f"p{i}", kind="int", gold=1, pred=1 if i % 4 else 2)
        for i in range(20)
    ]
    conf = [0.9 if s.correct else 0.2 for s in scores]
    m = calibration_metrics(scores, conf)
    assert m["auroc"] == 1.0 and m["n"] == 20 and m["n_wrong"] == 5
    assert m["errors_caught_at_10pct"] == pytest.approx(2 / 5)
    assert m["ece"] is not None and m["ece"] < 0.2


def test_artifact_predict_is_clipped() -> None:
    art = CalibrationArtifact(
        features=list(FEATURES),
        coefficients=[50.0] * len(FEATURES),
        intercept=50.0,
        clip=(0.01, 0.99),
    )
    assert art.predict(features("llm", "exact", {"value_in_span": 1.0})) == 0.99


# ---------------------------------------------------------------- end to end on the FAKE model


def test_calibrate_command_end_to_end(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    gold = load(SAMPLE_GOLD)
    gold_dir, corpus = tmp_path / "gold", tmp_path / "corpus"
    gold_dir.mkdir()
    corpus.mkdir()
    for i in range(3):  # three copies of one document, with different wrong fields
        name = f"doc{i}"
        text = (SAMPLES / "sample_2021_short.txt").read_text(encoding="utf-8") + "\n" * (i + 1)
        (corpus / f"{name}.txt").write_text(text, encoding="utf-8")
        (gold_dir / f"{name}.json").write_text(
            json.dumps({**gold, "doc": f"{name}.txt"}, ensure_ascii=False), encoding="utf-8"
        )
    corrupt = {
        "proactive.total_items",
        "legacy.staff",
        "requests.new_received.total",
        "appeals.reconsideration.total",
    }
    fake = FakeChatModel(gold_echo(gold["record"], corrupt=corrupt), logprob=-0.05)
    llm_settings = settings.model_copy(update={"table_reader": "llm"})
    llm = LLMClient(
        llm_settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001
    )

    from structurer.cli import calibrate_cmd

    out = calibrate_cmd.run_calibration(gold_dir, corpus, llm_settings, llm=llm)
    assert out["docs"] == ["doc0.txt", "doc1.txt", "doc2.txt"]
    assert not out["failed_docs"] and not out["missing_docs"]
    cal = out["metrics"]["calibrated (out-of-fold)"]
    assert cal["n"] > 0 and out["version"] == current_version(llm_settings)
    assert Path(out["path"]).is_file()

    # the command itself, mounted as the lead will mount it (the extraction is reused: no model calls)
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(llm_settings.data_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", "http://fake-endpoint/v1")
    monkeypatch.setenv("STRUCTURER_MODEL", "fake-model")
    monkeypatch.setenv("STRUCTURER_TABLE_READER", "llm")
    main = typer.Typer()

    @main.command()
    def noop() -> None:
        """placeholder so calibrate is a sub-command"""

    main.add_typer(calibrate_cmd.app, name="calibrate")
    result = CliRunner().invoke(
        main, ["calibrate", str(gold_dir), "--corpus", str(corpus), "--no-current"]
    )
    assert result.exit_code == 0, result.output
    assert "errors caught" in result.output and "calibration" in result.output


def test_rescore_run_applies_a_batch_budget(settings: Settings) -> None:
    import math

    from structurer.batch.run import run_extraction
    from structurer.confidence.rescore import rescore_run
    from structurer.store.outcomes import field_rows, run_extractions
    from structurer.store.session import session_scope

    gold = load(SAMPLE_GOLD)
    llm_settings = settings.model_copy(update={"table_reader": "llm"})
    fake = FakeChatModel(
        gold_echo(gold["record"], corrupt={"proactive.total_items"}), logprob=-0.05
    )
    llm = LLMClient(
        llm_settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001
    )
    summary = run_extraction([str(SAMPLES / "sample_2021_short.txt")], llm_settings, llm=llm)
    with session_scope(llm_settings) as session:
        result = rescore_run(session, llm_settings, summary.run_id, review_budget=0.1)
        assert result.n_review == math.ceil(0.1 * result.n_fields)
        assert result.calibration_version is None and "budget" in result.policy
        ((_, ex),) = run_extractions(session, summary.run_id)
        rows = field_rows(session, ex.id or 0)
        worst = min(rows, key=lambda r: r.confidence or 0.0)
        assert worst.status == "needs_review"
        art = fit(_synthetic())
        again = rescore_run(session, llm_settings, summary.run_id, artifact=art)
        assert again.calibration_version == art.version
