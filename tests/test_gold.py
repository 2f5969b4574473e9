"""Gold files: the shared gold is clean; each kind of problem is caught on a hand-made file."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from gov_disclosure import REPORT_TYPE
from gov_disclosure.record import Report
from structurer.core.records import flatten, leaf_paths
from structurer.eval.gold import (
    check_gold,
    check_gold_dir,
    gold_from_record,
    load_gold,
    skeleton,
    write_gold,
)
from tests.conftest import CORPUS, GOLD, needs_shared


def _write(directory: Path, stem: str, data: dict[str, Any]) -> Path:
    path = directory / f"{stem}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _corpus(tmp_path: Path, stem: str) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    (corpus / f"{stem}.txt").write_text("报告", encoding="utf-8")
    return corpus


@needs_shared()
def test_shared_gold_is_clean() -> None:
    assert sorted(GOLD.glob("*.json")), f"no gold in {GOLD}"
    assert check_gold_dir(GOLD, CORPUS, REPORT_TYPE) == []


def test_skeleton_has_every_path_and_validates(tmp_path: Path) -> None:
    blank = skeleton("x.txt", Report)
    assert set(blank) == {"doc", "record", "alternatives", "notes"}
    assert sorted(flatten(blank["record"])) == sorted(leaf_paths(Report))
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    _write(gold_dir, "x", blank)
    assert check_gold_dir(gold_dir, _corpus(tmp_path, "x"), REPORT_TYPE) == []


def test_problems_are_reported(tmp_path: Path) -> None:
    data = skeleton("x.txt", Report)
    record = data["record"]
    del record["meta"]["title"]  # missing path
    record["meta"]["subtitle"] = "多余"  # unknown path
    record["proactive"]["total_items"] = "48"  # a string, not an int
    data["alternatives"] = {"meta.nope": ["a"], "meta.report_year": ["二〇一八"]}
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    path = _write(gold_dir, "x", data)
    problems = [str(p) for p in check_gold(path, tmp_path / "empty-corpus", REPORT_TYPE)]
    text = "\n".join(problems)
    assert "[meta.title] error: path missing" in text
    assert "[meta.subtitle] error: not a path of the schema" in text
    assert "[proactive.total_items]" in text
    assert "[meta.nope] error: alternative names no path" in text
    assert "[meta.report_year] error: alternative '二〇一八'" in text
    assert "not in corpus" in text


def test_misnamed_file_and_bad_keys(tmp_path: Path) -> None:
    data = skeleton("y.txt", Report)
    data["extra"] = 1
    path = _write(tmp_path, "x", data)
    text = "\n".join(str(p) for p in check_gold(path, None, REPORT_TYPE))
    assert "not named after doc" in text
    assert "unexpected ['extra']" in text


def test_identity_breaks_are_listed(tmp_path: Path) -> None:
    data = skeleton("x.txt", Report)
    row = data["record"]["requests"]["new_received"]
    row.update(
        natural_person=2,
        commercial=0,
        research=0,
        nonprofit=0,
        legal_services=0,
        other_org=0,
        total=3,
    )
    path = _write(tmp_path, "x", data)
    problems = check_gold(path, _corpus(tmp_path, "x"), REPORT_TYPE)
    assert [p.severity for p in problems] == ["identity"]
    assert problems[0].path == "requests.row_sum.new_received"


@needs_shared()
def test_round_trip_and_from_record(tmp_path: Path) -> None:
    original = load_gold(GOLD / "tiande-township_2016.json")
    out = write_gold(tmp_path / "tiande-township_2016.json", original)
    assert load_gold(out) == original
    rebuilt = gold_from_record(
        original.doc, copy.deepcopy(original.record), Report, alternatives=original.alternatives
    )
    assert flatten(rebuilt.record) == flatten(original.record)
