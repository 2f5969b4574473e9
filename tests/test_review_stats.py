"""`review stats` on a database of constructed reviews, checked against a hand computation
(the Clopper–Pearson bounds from the beta distribution's quantiles)."""

from __future__ import annotations

from typing import Any

import pytest
from scipy.stats import beta
from sqlmodel import Session

from structurer.review.stats import review_stats
from structurer.settings import Settings
from structurer.store.review_models import ReviewAudit, ReviewCorrection, ReviewProject, ReviewTask
from structurer.store.session import session_scope
from tests.review_helpers import CONFIG


class Reviews:
    """Review rows as push and pull would store them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.project = ReviewProject(
            server="http://ls", report_type="gov_disclosure", project_id=1, config_version="v"
        )
        session.add(self.project)
        session.commit()
        self.audit = ReviewAudit(rate=0.02, seed=5, population=2000, sampled=41)
        session.add(self.audit)
        session.commit()
        self.n = 0
        self.annotation = 0

    def field(
        self,
        path: str,
        proposed: Any,
        *answers: tuple[str, Any, bool],
        audit: bool = False,
        state: str = "corrected",
    ) -> ReviewTask:
        """A reviewed field; ``answers``: (verdict, value, accepted) per annotation."""
        self.n += 1
        task = ReviewTask(
            review_project_id=self.project.id or 0,
            task_id=100 + self.n // 20,
            field_value_id=self.n,
            extraction_id=1,
            path=path,
            proposed=proposed,
            section=path.split(".")[0],
            audit_id=self.audit.id if audit else None,
            state=state,
        )
        self.session.add(task)
        self.session.commit()
        for verdict, value, accepted in answers:
            self.annotation += 1
            self.session.add(
                ReviewCorrection(
                    review_task_id=task.id or 0,
                    task_id=task.task_id,
                    annotation_id=self.annotation,
                    revision="r",
                    annotator=f"a{self.annotation}@x",
                    verdict=verdict,
                    value=value if accepted or state == "conflict" else None,
                    accepted=accepted,
                    conflict=not accepted and state == "conflict",
                    error=None if accepted else "no",
                )
            )
        self.session.commit()
        return task


def build(session: Session) -> None:
    r = Reviews(session)
    ok = ("confirmed", 7, True)
    # audit, proactive: 25 reviewed, 2 wrong (a corrected value; 原文未提及 where the model gave one)
    for _ in range(22):
        r.field("proactive.total_items", 7, ok, audit=True)
    r.field("proactive.total_items", 7, ("corrected", 7, True), audit=True)  # same value: right
    r.field("proactive.total_items", 7, ("corrected", 8, True), audit=True)
    r.field("proactive.total_items", 7, ("not_stated", None, True), audit=True)
    # audit, requests: 15 reviewed, 1 wrong (corrected after a rejected first try)
    for _ in range(14):
        r.field("requests.new_received.total", 7, ok, audit=True)
    r.field(
        "requests.new_received.total",
        7,
        ("corrected", None, False),
        ("corrected", 9, True),
        audit=True,
    )
    # audited, only a rejected answer: not reviewed yet
    r.field(
        "requests.new_received.total", 7, ("corrected", None, False), audit=True, state="rejected"
    )
    # flagged: 10 reviewed, 4 wrong; a list field confirmed empty is right
    for _ in range(5):
        r.field("meta.report_year", 2023, ("confirmed", 2023, True))
    for _ in range(4):
        r.field("meta.report_year", 2023, ("corrected", 2022, True))
    r.field("narrative.problems", [], ("not_stated", [], True))
    # a conflict: the first answer stands (right), the second disagrees
    r.field(
        "meta.title",
        "甲",
        ("confirmed", "甲", True),
        ("corrected", "乙", False),
        state="conflict",
    )
    r.field("meta.title", "甲")  # pushed, not reviewed


def cp(k: int, n: int) -> tuple[float, float]:
    """Clopper–Pearson by hand: beta quantiles."""
    low = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return low, high


def test_stats_match_a_hand_computation(settings: Settings) -> None:
    with session_scope(settings) as session:
        build(session)
        stats = review_stats(session, "gov_disclosure", CONFIG)
    assert (stats.audit.n, stats.audit.wrong) == (40, 3)
    assert stats.audit.rate == pytest.approx(3 / 40)
    assert stats.audit.interval == pytest.approx(cp(3, 40))
    sections = {e.label: (e.n, e.wrong) for e in stats.audit_sections}
    assert sections == {"主动公开": (25, 2), "依申请公开": (15, 1)}
    requests = next(e for e in stats.audit_sections if e.label == "依申请公开")
    assert requests.interval == pytest.approx(cp(1, 15))
    # 10 flagged fields plus the conflicted one, settled by its first (confirming) answer
    assert (stats.flagged.n, stats.flagged.wrong) == (11, 4)
    assert stats.flagged.interval == pytest.approx(cp(4, 11))
    assert stats.estimated_wrong == pytest.approx(2000 * 3 / 40)
    assert (stats.audit_sampled, stats.audited_population, stats.audit_seeds) == (41, 2000, [5])
    assert stats.pending == 2
    (conflict,) = stats.conflicts
    assert conflict.path == "meta.title"
    assert [(v, val) for _, v, val in conflict.answers] == [
        ("confirmed", "甲"),
        ("corrected", "乙"),
    ]


def test_stats_command_prints_the_estimate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from structurer.cli.main import app

    with session_scope(settings) as session:
        build(session)
    monkeypatch.setenv("STRUCTURER_DATA_DIR", str(settings.data_dir))
    out = CliRunner().invoke(app, ["review", "stats"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    low, high = cp(3, 40)
    assert (
        f"auto-accepted fields (audit): 3 wrong of 40 reviewed = 7.5% "
        f"(95% interval {low:.1%}–{high:.1%})" in out.output
    )
    assert (
        "audit sample: 41 of 2000 auto-accepted field(s), seed(s) 5; about 150 of them wrong"
        in (out.output)
    )
    assert "主动公开" in out.output and "依申请公开" in out.output
    assert "fields flagged for review: 4 wrong of 11 reviewed = 36.4%" in out.output
    assert "1 conflict(s) between annotators" in out.output
    assert "meta.title" in out.output and "乙" in out.output
