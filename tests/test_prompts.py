from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from structurer.core.prompts import PromptError, PromptSet
from structurer.settings import Settings
from tests.conftest import CORPUS, GOLD, REPO, SHARED


def copy_prompts(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "prompts" / "gov_disclosure" / "v1", tmp_path / "gov_disclosure" / "v1")
    return tmp_path


def test_fingerprint_follows_the_template_bytes(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    before = PromptSet(root, "gov_disclosure", "v1")
    assert before.fingerprint.startswith("v1+")
    (root / "gov_disclosure" / "v1" / "user.j2").write_text("{{ text }}", encoding="utf-8")
    after = PromptSet(root, "gov_disclosure", "v1")
    assert after.fingerprint != before.fingerprint
    # a set loaded before the edit keeps rendering what it fingerprinted
    assert "报告原文" in before.render("user.j2", text="x", doc_name="d")
    assert after.render("user.j2", text="x", doc_name="d") == "x"


def test_missing_version_and_template_are_clear_errors(tmp_path: Path) -> None:
    root = copy_prompts(tmp_path)
    with pytest.raises(PromptError, match="no prompt version 'v9'"):
        PromptSet(root, "gov_disclosure", "v9")
    with pytest.raises(PromptError, match="missing"):
        PromptSet(root, "gov_disclosure", "v1").render("nope.j2")


def test_shipped_versions_render_every_part() -> None:
    from gov_disclosure import REPORT_TYPE
    from structurer.core.pipeline import build_messages
    from structurer.core.response_models import part_fields

    # bench/naive_baseline.py's prompt sends the whole record as the response schema and
    # lists no fields: it is a baseline, not a pipeline prompt.
    baselines = {"naive"}
    versions = sorted(p.name for p in (REPO / "prompts" / "gov_disclosure").iterdir())
    assert baselines <= set(versions)
    for version in (v for v in versions if v not in baselines):
        prompts = PromptSet(REPO / "prompts", "gov_disclosure", version)
        for part in REPORT_TYPE.parts:
            fields = part_fields(REPORT_TYPE.record_model, part)
            # the fields are listed in the system message (v1) or after the text (v4)
            messages = build_messages(prompts, part, fields, "（原文）", "x.txt")
            sent = "\n".join(m["content"] for m in messages)
            assert all(f.key in sent for f in fields), (version, part.name)


# --- no real values in prompts (issue 10, item 1) -------------------------------------------
# Examples in prompts and field descriptions are invented, or patterns ("主动公开政府信息N条").
# The dev corpus is the reference for "real": a number of two or more digits (years aside), a
# place or body name that a corpus report prints, or a quoted example that a corpus report
# prints verbatim (official table labels aside) fails.

_JINJA = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
_NUMBER = re.compile(r"(?<![0-9.])[0-9]{2,}(?![0-9])")
_YEAR = re.compile(r"(?:19[5-9]|20[0-9])[0-9]")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]+)[”\"」』]")
_NAME_SUFFIX = re.compile(r"(人民政府|政府|办事处)$")
_DIVISION_SUFFIX = re.compile(
    r"(省|自治区|市|自治州|地区|盟|县|自治县|区|旗|自治旗|乡|镇|街道|苏木)$"
)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def corpus_texts() -> dict[str, str]:
    """The dev corpus; missing in CI is a failure, not zero cases."""
    texts = (
        {p.name: p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))}
        if CORPUS.is_dir()
        else {}
    )
    if not texts:
        message = f"no corpus texts under {CORPUS}: the leak test has nothing to compare with"
        if os.environ.get("STRUCTURER_REQUIRE_SERVICES") == "1" or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return texts


def prompt_sources() -> dict[str, str]:
    """What the model is told: every template's literal text (not jinja code or comments) and
    every field description of the record model."""
    from gov_disclosure import REPORT_TYPE
    from structurer.core.response_models import field_descriptions

    sources = {
        str(p.relative_to(REPO)): _JINJA.sub(" ", p.read_text(encoding="utf-8"))
        for p in sorted((REPO / "prompts").rglob("*.j2"))
    }
    descriptions = field_descriptions(REPORT_TYPE.record_model)
    sources.update({f"description of {k}": v for k, v in descriptions.items()})
    sources["quote description"] = REPORT_TYPE.quote_description
    sources["value description"] = REPORT_TYPE.value_description
    assert len(sources) > 50, "no prompts or descriptions found"
    return sources


def corpus_names(texts: dict[str, str]) -> set[str]:
    """Place and body names the corpus prints: divisions of the gazetteer found in the texts,
    and the issuing bodies of the gold records, with and without their suffix."""
    from gov_disclosure.gazetteer import division_names

    joined = "\n".join(texts.values())
    names = {n for n in division_names() if n in joined}
    for path in sorted(GOLD.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        names.add(gold["record"]["meta"]["issuing_body"] or "")
        names.update(gold.get("alternatives", {}).get("meta.issuing_body", []))
    stems = {_DIVISION_SUFFIX.sub("", _NAME_SUFFIX.sub("", n)) for n in names}
    return {n for n in names | stems if len(n) >= 2}


def official_text() -> str:
    return _compact(
        (SHARED / "notes" / "format.md").read_text(encoding="utf-8")
        + (SHARED / "spec" / "report-schema.md").read_text(encoding="utf-8")
    )


def find_leaks(sources: dict[str, str], texts: dict[str, str]) -> list[str]:
    corpus = _compact("\n".join(texts.values()))
    official = official_text()
    names = corpus_names(texts)
    leaks = []
    for where, text in sources.items():
        for number in _NUMBER.findall(text):
            if not _YEAR.fullmatch(number):
                leaks.append(f"{where}: number {number}")
        leaks.extend(f"{where}: name {n}" for n in sorted(names) if n in text)
        for quoted in _QUOTED.findall(text):
            q = _compact(quoted)
            if len(q) >= 4 and q in corpus and q not in official:
                leaks.append(f"{where}: quotes a real report: {quoted}")
    return leaks


def test_no_real_values_in_prompts_or_descriptions() -> None:
    leaks = find_leaks(prompt_sources(), corpus_texts())
    assert not leaks, "\n".join(leaks)


def test_the_leak_check_finds_what_it_looks_for() -> None:
    texts = corpus_texts()
    name = sorted(corpus_names(texts), key=len)[-1]
    quote = next(
        s
        for t in texts.values()
        for s in re.findall(r"[\u4e00-\u9fff]{8}", t)
        if s not in official_text()
    )
    planted = {
        "number": "如“发布信息37条”",
        "year": "如“2021年”",
        "name": f"如“{name}”",
        "quote": f"如“{quote}”",
    }
    leaks = find_leaks(planted, texts)
    assert {leak.split(":")[0] for leak in leaks} == {"number", "name", "quote"}, leaks


# --- ask only what the format can state (issue 10, item 4) ----------------------------------

LEGACY_GUIDE = "是旧式统计项"


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_standard_format_reports_are_not_asked_for_legacy_zeros(version: str) -> None:
    from gov_disclosure import REPORT_TYPE
    from structurer.core.response_models import part_fields

    prompts = PromptSet(REPO / "prompts", "gov_disclosure", version)
    for part in REPORT_TYPE.parts:
        fields = part_fields(REPORT_TYPE.record_model, part)
        legacy = [f.key for f in fields if f.path.startswith("legacy.")]
        for fmt in ("2019", "2021", "legacy", None):
            system = prompts.render("system.j2", part=part.prompt, fields=fields, report_format=fmt)
            asked = LEGACY_GUIDE in system
            assert asked == (bool(legacy) and fmt in ("2019", "2021")), (part.name, fmt)
            if asked:
                guide = next(line for line in system.splitlines() if LEGACY_GUIDE in line)
                assert all(k in guide for k in legacy) and "不要填 0" in guide


def test_the_pipeline_tells_the_prompt_the_format_the_tables_show(settings: Settings) -> None:
    from gov_disclosure import REPORT_TYPE
    from structurer.core.pipeline import extract_document
    from structurer.core.types import LoadedDocument
    from structurer.llm.client import LLMClient
    from structurer.llm.fake import FakeChatModel
    from tests.gold_echo import gold_echo, load

    gold = load(REPO / "eval" / "gov_disclosure" / "gold" / "sample_2021_county_bureau.json")
    fake = FakeChatModel(gold_echo(gold["record"]), logprob=-0.01)
    llm = LLMClient(settings, "http://fake-endpoint/v1", http_client=fake.client(), backoff=0.001)
    path = REPO / "samples" / "sample_2021_county_bureau.txt"
    doc = LoadedDocument(path.name, str(path), "0" * 64, path.read_text("utf-8"), "txt", "utf-8")
    prompts = PromptSet(REPO / "prompts", "gov_disclosure", "v3")
    outcome = extract_document(doc, REPORT_TYPE, llm, prompts, settings)
    assert outcome.status == "ok" and outcome.detected_format == "2021"
    systems = [r["messages"][0]["content"] for r in fake.requests]
    guided = [s for s in systems if LEGACY_GUIDE in s]
    assert guided and all("2021年格式" in s for s in guided)
