"""`structurer review stats`: what the reviews say about the fields nobody would have checked.

- **Audit**: the audited fields are a simple random sample of the auto-accepted ones (`review
  push --audit`), so the share a person corrected estimates the error rate of auto-accepted
  fields, with an exact (Clopper–Pearson) 95% interval; overall and per section (a section's
  audited fields are a random sample of its auto-accepted fields too). Samples of several
  pushes are pooled, which is exact when they used the same rate (`review stats` says when
  they did not: the pooled figure then over-weights the batches audited at a higher rate).
- **Flagged**: the share of fields sent to review that were really wrong (how much of the
  annotators' time catches errors).
- **Conflicts**: fields two annotators answered differently.

A reviewed field is *wrong* when its settled answer (the newest applied one) differs from the
model's value: corrected to another value, or not stated where the model gave one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy.stats import binomtest
from sqlmodel import Session

from structurer.review.labeling import ReviewConfig, Verdict
from structurer.store.review import (
    accepted_corrections,
    audits,
    document_of,
    report_type_tasks,
    task_corrections,
)
from structurer.store.review_models import ReviewCorrection, ReviewTask

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """k wrong among n reviewed, with a two-sided Clopper–Pearson interval."""

    label: str
    n: int
    wrong: int

    @property
    def rate(self) -> float | None:
        return self.wrong / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        ci = binomtest(self.wrong, self.n).proportion_ci(
            confidence_level=CONFIDENCE, method="exact"
        )
        return float(ci.low), float(ci.high)

    def describe(self) -> str:
        if not self.n:
            return f"{self.label}: nothing reviewed yet"
        low, high = self.interval or (0.0, 0.0)
        return (
            f"{self.label}: {self.wrong} wrong of {self.n} reviewed = {self.rate:.1%} "
            f"(95% interval {low:.1%}–{high:.1%})"
        )


@dataclass(frozen=True)
class Conflict:
    task_id: int
    document: str
    path: str
    answers: list[tuple[str, str | None, Any]]  # (annotator, verdict, value)

    def describe(self) -> str:
        shown = "; ".join(f"{who}: {verdict} {value!r}" for who, verdict, value in self.answers)
        return f"task {self.task_id} ({self.document} {self.path}): {shown}"


@dataclass
class ReviewStats:
    audit: Estimate
    audit_sections: list[Estimate]
    flagged: Estimate
    flagged_sections: list[Estimate]
    audited_population: int  # auto-accepted fields the audit samples were drawn from
    audit_sampled: int
    audit_seeds: list[int]
    audit_rates: list[float]
    pending: int  # fields tasked, not reviewed yet
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def estimated_wrong(self) -> float | None:
        """Expected wrong auto-accepted fields in the audited population."""
        return None if self.audit.rate is None else self.audit.rate * self.audited_population


def is_wrong(correction: ReviewCorrection, proposed: Any) -> bool:
    if correction.verdict == Verdict.not_stated.value:
        return proposed not in (None, [])
    return bool(correction.value != proposed)


def settled(session: Session, tasks: Sequence[ReviewTask]) -> dict[int, ReviewCorrection]:
    """Review task id -> its newest applied correction (the field's settled answer)."""
    ids = [t.id for t in tasks if t.id is not None]
    out: dict[int, ReviewCorrection] = {}
    for c in accepted_corrections(session, ids):
        out[c.review_task_id] = c
    return out


def _estimates(
    label: str, outcomes: Iterable[tuple[str, bool]], config: ReviewConfig
) -> tuple[Estimate, list[Estimate]]:
    pairs = list(outcomes)
    by_section: dict[str, list[bool]] = {}
    for section, wrong in pairs:
        by_section.setdefault(section, []).append(wrong)
    sections = sorted(by_section, key=lambda s: (config.section_rank(s), s))
    return (
        Estimate(label, len(pairs), sum(w for _, w in pairs)),
        [
            Estimate(config.section_name(s), len(by_section[s]), sum(by_section[s]))
            for s in sections
        ],
    )


def _conflicts(session: Session, tasks: Sequence[ReviewTask]) -> list[Conflict]:
    out = []
    for task in tasks:
        if task.state != "conflict":
            continue
        newest: dict[int, ReviewCorrection] = {}
        for c in task_corrections(session, task.id):
            newest[c.annotation_id] = c
        document = document_of(session, task.extraction_id)
        answers = [
            (c.annotator or "?", c.verdict, c.value)
            for c in newest.values()
            if c.accepted or c.conflict
        ]
        out.append(Conflict(task.task_id, document.name if document else "?", task.path, answers))
    return out


def review_stats(session: Session, report_type: str, config: ReviewConfig) -> ReviewStats:
    tasks = report_type_tasks(session, report_type)
    answers = settled(session, tasks)
    audited: list[tuple[str, bool]] = []
    flagged: list[tuple[str, bool]] = []
    for task in tasks:
        answer = answers.get(task.id or 0)
        if answer is None:
            continue
        outcome = (task.section or config.section_of(task.path), is_wrong(answer, task.proposed))
        (audited if task.audit_id is not None else flagged).append(outcome)
    audit, audit_sections = _estimates("auto-accepted fields (audit)", audited, config)
    flag, flag_sections = _estimates("fields flagged for review", flagged, config)
    drawn = audits(session)
    return ReviewStats(
        audit=audit,
        audit_sections=audit_sections,
        flagged=flag,
        flagged_sections=flag_sections,
        audited_population=sum(a.population for a in drawn),
        audit_sampled=sum(a.sampled for a in drawn),
        audit_seeds=[a.seed for a in drawn],
        audit_rates=sorted({a.rate for a in drawn}),
        pending=sum(1 for t in tasks if (t.id or 0) not in answers),
        conflicts=_conflicts(session, tasks),
    )


__all__ = ["Conflict", "Estimate", "ReviewStats", "is_wrong", "review_stats", "settled"]
