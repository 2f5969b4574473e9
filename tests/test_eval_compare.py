"""compare_runs on constructed pairs: regressions are flagged, McNemar p-values are sane."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from structurer.eval.compare import (
    compare_runs,
    comparison_renderable,
    mcnemar_exact,
    regression,
    section_regressions,
)
from structurer.eval.scoring import FieldScore


def fs(
    doc: str, path: str, correct: bool, *, both_null: bool = False, pred: int | None = 1
) -> FieldScore:
    section = path.split(".")[0]
    return FieldScore(
        doc=doc,
        path=path,
        section=section,
        group=f"{section}.table" if path.count(".") >= 2 else section,
        kind="int",
        gold=None if both_null else 1,
        pred=None if both_null else (pred if correct else 2),
        correct=correct or both_null,
        both_null=both_null,
        gold_null=both_null,
        pred_null=both_null,
        gold_nonzero=not both_null,
    )


def make_run(wrong: set[tuple[str, str]], n_docs: int = 10, n_paths: int = 10) -> list[FieldScore]:
    return [
        fs(f"d{d}", f"requests.row{p}.total", (f"d{d}", f"requests.row{p}.total") not in wrong)
        for d in range(n_docs)
        for p in range(n_paths)
    ]


def test_mcnemar_values() -> None:
    assert mcnemar_exact(0, 0) is None
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)
    assert mcnemar_exact(3, 0) == pytest.approx(0.25)  # 2 * 0.5**3
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)
    p_small, p_big = mcnemar_exact(2, 8), mcnemar_exact(0, 20)
    assert p_small is not None and p_big is not None and 0 < p_big < p_small <= 1


def test_identical_runs_do_not_regress() -> None:
    run = make_run({("d0", "requests.row0.total")})
    comparison = compare_runs(run, run)
    assert comparison.overall.delta == 0
    assert comparison.overall.mcnemar_p is None
    assert comparison.flipped == []
    assert not regression(comparison, 0.0)


def test_constructed_regression_is_flagged() -> None:
    a = make_run(set())
    broken = {(f"d{d}", f"requests.row{p}.total") for d in range(10) for p in range(2)}
    b = make_run(broken)  # B gets 20 of 100 fields wrong that A got right
    comparison = compare_runs(a, b, name_a="base", name_b="new", n_boot=500)
    o = comparison.overall
    assert (o.n, o.improved, o.regressed) == (100, 0, 20)
    assert o.delta == pytest.approx(-0.2)
    assert o.mcnemar_p is not None and o.mcnemar_p < 1e-4
    assert o.ci_low is not None and o.ci_high is not None and o.ci_high < 0
    assert regression(comparison, 0.05)
    assert regression(comparison, 0.05, require_significant=True)
    assert not regression(comparison, 0.25)
    assert len(comparison.flipped) == 20 and not any(f.improved for f in comparison.flipped)
    # the reverse direction is an improvement, not a regression
    assert not regression(compare_runs(b, a, n_boot=0), 0.0)


def test_a_broken_section_is_flagged_even_when_overall_improves() -> None:
    def scores(wrong: set[tuple[str, str]]) -> list[FieldScore]:
        return [
            fs(f"d{d}", path, (f"d{d}", path) not in wrong)
            for d in range(10)
            for path in [f"meta.f{p}" for p in range(2)] + [f"legacy.f{p}" for p in range(6)]
        ]

    meta = {(f"d{d}", f"meta.f{p}") for d in range(10) for p in range(2)}
    legacy = {(f"d{d}", f"legacy.f{p}") for d in range(10) for p in range(4)}
    comparison = compare_runs(scores(legacy), scores(meta), n_boot=0)  # -20 meta, +40 legacy
    assert comparison.overall.delta is not None and comparison.overall.delta > 0
    assert not regression(comparison, 0.0)
    flagged = section_regressions(comparison, 0.05)
    assert [row.key for row in flagged] == ["meta"] and flagged[0].regressed == 20
    assert section_regressions(comparison, 1.0) == []  # a drop of 100 points is not "more than"
    few = compare_runs(scores(set()), scores({("d0", "meta.f0")}), n_boot=0)
    assert any(r.key == "meta" and r.regressed == 1 for r in few.by_section)
    assert section_regressions(few, 0.01) == []  # one field lost: not significant


def test_pairs_groups_and_unpaired() -> None:
    a = [
        fs("d1", "meta.title", True),
        fs("d1", "requests.a.total", False),
        fs("d1", "meta.only_a", True),
    ]
    b = [
        fs("d1", "meta.title", False),
        fs("d1", "requests.a.total", True),
        fs("d2", "meta.title", True),
    ]
    comparison = compare_runs(a, b, n_boot=100)
    assert comparison.n_pairs == 2
    assert (comparison.only_in_a, comparison.only_in_b) == (1, 1)
    groups = {row.key: row for row in comparison.by_group}
    assert groups["meta"].regressed == 1 and groups["requests.table"].improved == 1
    assert comparison.overall.ci_low is None  # one document: no bootstrap


def test_agreeing_nulls_are_left_out() -> None:
    a = [fs("d1", "meta.x", True, both_null=True), fs("d1", "meta.y", True)]
    b = [fs("d1", "meta.x", True, both_null=True), fs("d1", "meta.y", True)]
    assert compare_runs(a, b).overall.n == 1


def test_rich_renderable() -> None:
    a = make_run(set(), n_docs=3, n_paths=3)
    b = make_run({("d1", "requests.row1.total")}, n_docs=3, n_paths=3)
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(comparison_renderable(compare_runs(a, b)))
    text = out.getvalue()
    assert "overall" in text and "requests.row1.total" in text and "McNemar" in text
