"""End to end with the REAL embedded model: llama.cpp server, real weights, a short report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from structurer.batch.run import run_extraction
from structurer.core.records import flatten
from structurer.llm.embedded.server import stop
from structurer.llm.embedded.weights import WeightsError, ensure_weights, get_model, locate_parts
from structurer.settings import Settings
from structurer.store.models import Extraction, FieldValue, LLMCall
from structurer.store.session import dispose_engines, session_scope
from tests.conftest import REPO, SAMPLES
from tests.gold_echo import load

PORT = 18093
SHORT = SAMPLES / "sample_2021_short.txt"
GOLD = REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_short.json"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    try:
        locate_parts(get_model("qwen2.5-coder-1.5b"))
    except WeightsError as exc:
        pytest.skip(f"embedded model weights not installed ({exc})")
    shared = Settings()
    ensure_weights(shared)
    data = tmp_path_factory.mktemp("e2e")
    (data / "models").symlink_to(shared.data_dir / "models", target_is_directory=True)
    settings = Settings(data_dir=data, embedded_port=PORT)
    assert settings.uses_embedded_model
    yield settings
    stop(settings)
    dispose_engines()


@pytest.mark.model
def test_short_report_with_the_embedded_model(
    embedded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    summary = run_extraction([str(SHORT)], embedded)
    (result,) = summary.results
    assert result.status == "ok", result.error
    gold = flatten(load(GOLD)["record"])
    text = SHORT.read_text(encoding="utf-8")
    with session_scope(embedded) as session:
        extraction = session.exec(select(Extraction)).one()
        record = flatten(extraction.record or {})
        fields = session.exec(
            select(FieldValue).where(FieldValue.extraction_id == extraction.id)
        ).all()
        calls = session.exec(select(LLMCall)).all()
    # the deterministic table reader fills the standard tables and decides the format
    assert record["meta.format"] == "2021"
    table_paths = [p for p in gold if p.startswith("requests.") and gold[p] is not None]
    assert sum(record[p] == gold[p] for p in table_paths) / len(table_paths) >= 0.95
    # the model reads the narrative parts: the easy scalars must be right
    assert record["meta.report_year"] == gold["meta.report_year"]
    assert record["meta.admin_level"] == gold["meta.admin_level"]
    # every LLM call is logged with tokens and latency; none failed
    assert calls and all(c.tokens_in > 0 and c.latency_ms > 0 and c.error is None for c in calls)
    # evidence points into the text as read
    located = [f for f in fields if f.evidence_start is not None]
    assert located
    for f in located:
        assert f.evidence_end is not None and 0 <= f.evidence_start < f.evidence_end <= len(text)
        assert f.confidence is not None and 0 <= f.confidence <= 1
    # how good it is, for the log (quality is measured by the eval harness, not asserted here)
    scalar = [p for p, v in gold.items() if v is not None and not isinstance(v, list)]
    right = sum(record.get(p) == gold[p] for p in scalar)
    print(
        f"embedded e2e: {right}/{len(scalar)} non-null scalar fields right, {result.seconds:.0f}s, "
        f"tokens {result.tokens_in}+{result.tokens_out}"
    )
