from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from structurer.core.prompts import PromptError, PromptSet
from tests.conftest import REPO


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
            system = prompts.render("system.j2", part=part.prompt, fields=fields)
            assert all(f.key in system for f in fields), (version, part.name)
