"""Paired comparison of two runs scored on the same gold: which fields improved, which
regressed, and whether the difference is more than noise.

Fields are paired by (doc, path). A pair is compared when gold or either prediction is not
null (pairs where both runs agree on null are left out), so A and B share one denominator;
that is why the accuracies here can differ slightly from each run's own headline accuracy.

Significance: McNemar's exact test (two-sided binomial test on the discordant pairs,
scipy.stats.binomtest) and a paired bootstrap over documents (fields of one document are not
independent) for a 95% interval on the accuracy difference B - A.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from rich.console import Group
from rich.table import Table
from rich.text import Text
from scipy.stats import binomtest

from structurer.eval.scoring import FieldScore

DEFAULT_BOOTSTRAP = 2000


class CompareRow(BaseModel):
    key: str
    n: int
    correct_a: int
    correct_b: int
    accuracy_a: float | None
    accuracy_b: float | None
    delta: float | None  # B - A
    improved: int  # wrong in A, right in B
    regressed: int  # right in A, wrong in B
    mcnemar_p: float | None
    ci_low: float | None = None  # paired bootstrap over documents, 95%
    ci_high: float | None = None


class FlippedField(BaseModel):
    doc: str
    path: str
    group: str
    gold: Any = None
    pred_a: Any = None
    pred_b: Any = None
    confidence_a: float | None = None
    confidence_b: float | None = None
    improved: bool  # True: A wrong -> B right; False: A right -> B wrong


class Comparison(BaseModel):
    name_a: str = "A"
    name_b: str = "B"
    n_pairs: int
    only_in_a: int
    only_in_b: int
    overall: CompareRow
    by_section: list[CompareRow] = Field(default_factory=list)
    by_group: list[CompareRow] = Field(default_factory=list)
    flipped: list[FlippedField] = Field(default_factory=list)
    metrics_a: dict[str, float | int | None] = Field(default_factory=dict)
    metrics_b: dict[str, float | int | None] = Field(default_factory=dict)


Pair = tuple[FieldScore, FieldScore]


def mcnemar_exact(improved: int, regressed: int) -> float | None:
    """Two-sided exact McNemar p-value; None without discordant pairs."""
    n = improved + regressed
    if n == 0:
        return None
    return float(binomtest(improved, n, 0.5, alternative="two-sided").pvalue)


def paired_bootstrap(
    pairs: Sequence[Pair], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0
) -> tuple[float, float] | None:
    """95% percentile interval of accuracy(B) - accuracy(A), resampling documents."""
    per_doc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for a, b in pairs:
        row = per_doc[a.doc]
        row[0] += 1
        row[1] += int(a.correct)
        row[2] += int(b.correct)
    if len(per_doc) < 2 or n_boot <= 0:
        return None
    arr = np.array(list(per_doc.values()), dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    sums = arr[idx].sum(axis=1)  # (n_boot, 3)
    deltas = (sums[:, 2] - sums[:, 1]) / np.maximum(sums[:, 0], 1)
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(low), float(high)


def _row(key: str, pairs: Sequence[Pair], n_boot: int, seed: int) -> CompareRow:
    n = len(pairs)
    ca = sum(a.correct for a, _ in pairs)
    cb = sum(b.correct for _, b in pairs)
    improved = sum((not a.correct) and b.correct for a, b in pairs)
    regressed = sum(a.correct and not b.correct for a, b in pairs)
    ci = paired_bootstrap(pairs, n_boot, seed) if n else None
    return CompareRow(
        key=key,
        n=n,
        correct_a=ca,
        correct_b=cb,
        accuracy_a=ca / n if n else None,
        accuracy_b=cb / n if n else None,
        delta=(cb - ca) / n if n else None,
        improved=improved,
        regressed=regressed,
        mcnemar_p=mcnemar_exact(improved, regressed),
        ci_low=ci[0] if ci else None,
        ci_high=ci[1] if ci else None,
    )


def _rows(
    pairs: Sequence[Pair], key: Callable[[FieldScore], str], n_boot: int, seed: int
) -> list[CompareRow]:
    buckets: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        buckets[key(pair[0])].append(pair)
    return [_row(k, buckets[k], n_boot, seed) for k in sorted(buckets)]


def compare_runs(
    a_scores: Sequence[FieldScore],
    b_scores: Sequence[FieldScore],
    *,
    name_a: str = "A",
    name_b: str = "B",
    metrics_a: dict[str, float | int | None] | None = None,
    metrics_b: dict[str, float | int | None] | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> Comparison:
    """Compare run B against baseline A. ``metrics_a/b`` (the runs' scalar metrics, e.g.
    ``EvalResults.metrics``) are carried along for the side-by-side metric table."""
    index_b = {(s.doc, s.path): s for s in b_scores}
    keys_a = {(s.doc, s.path) for s in a_scores}
    pairs: list[Pair] = []
    for a in a_scores:
        b = index_b.get((a.doc, a.path))
        if b is not None and not (a.both_null and b.both_null):
            pairs.append((a, b))
    flipped = [
        FlippedField(
            doc=a.doc,
            path=a.path,
            group=a.group,
            gold=a.gold,
            pred_a=a.pred,
            pred_b=b.pred,
            confidence_a=a.confidence,
            confidence_b=b.confidence,
            improved=b.correct,
        )
        for a, b in pairs
        if a.correct != b.correct
    ]
    flipped.sort(key=lambda f: (f.improved, f.group, f.doc, f.path))
    return Comparison(
        name_a=name_a,
        name_b=name_b,
        n_pairs=len(pairs),
        only_in_a=len(keys_a - set(index_b)),
        only_in_b=len(set(index_b) - keys_a),
        overall=_row("overall", pairs, n_boot, seed),
        by_section=_rows(pairs, lambda s: s.section, n_boot, seed),
        by_group=_rows(pairs, lambda s: s.group, n_boot, seed),
        flipped=flipped,
        metrics_a=dict(metrics_a or {}),
        metrics_b=dict(metrics_b or {}),
    )


def dropped(
    row: CompareRow, threshold: float, *, require_significant: bool = False, alpha: float = 0.05
) -> bool:
    """True when B's accuracy on this row is below A's by more than ``threshold`` (absolute,
    e.g. 0.01 = one point). With ``require_significant`` the McNemar p-value must also be
    below ``alpha``."""
    if row.delta is None or row.delta >= -threshold:
        return False
    if require_significant:
        return row.mcnemar_p is not None and row.mcnemar_p < alpha
    return True


def regression(
    comparison: Comparison,
    threshold: float = 0.01,
    *,
    require_significant: bool = False,
    alpha: float = 0.05,
) -> bool:
    """True when overall accuracy dropped (see `dropped`)."""
    return dropped(
        comparison.overall, threshold, require_significant=require_significant, alpha=alpha
    )


def section_regressions(
    comparison: Comparison, threshold: float, *, alpha: float = 0.05
) -> list[CompareRow]:
    """Sections whose accuracy dropped by more than ``threshold`` with McNemar p < ``alpha``.

    A change can gain overall and still break a section (a prompt that stops inventing zeros in
    one part and loses the report's metadata in another); sections are small, so only a
    significant drop counts."""
    return [
        row
        for row in comparison.by_section
        if dropped(row, threshold, require_significant=True, alpha=alpha)
    ]


# ---------------------------------------------------------------- rich rendering


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _delta_text(value: float | None) -> Text:
    if value is None:
        return Text("–")
    style = "green" if value > 0 else "red" if value < 0 else ""
    return Text(f"{100 * value:+.1f}", style=style)


def _p_text(value: float | None) -> Text:
    if value is None:
        return Text("–", style="dim")
    return Text(f"{value:.3g}", style="bold" if value < 0.05 else "dim")


def _table(title: str, rows: Sequence[CompareRow], name_a: str, name_b: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in [
        ("", "left"),
        ("n", "right"),
        (name_a, "right"),
        (name_b, "right"),
        ("Δ pts", "right"),
        ("95% CI", "right"),
        ("↑", "right"),
        ("↓", "right"),
        ("McNemar p", "right"),
    ]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        ci = (
            "–"
            if r.ci_low is None or r.ci_high is None
            else f"{100 * r.ci_low:+.1f}..{100 * r.ci_high:+.1f}"
        )
        table.add_row(
            r.key,
            str(r.n),
            _pct(r.accuracy_a),
            _pct(r.accuracy_b),
            _delta_text(r.delta),
            ci,
            Text(str(r.improved), style="green" if r.improved else ""),
            Text(str(r.regressed), style="red" if r.regressed else ""),
            _p_text(r.mcnemar_p),
        )
    return table


def comparison_renderable(comparison: Comparison, max_flipped: int = 30) -> Group:
    """A rich renderable: overall, per section, per group, and the flipped fields."""
    a, b = comparison.name_a, comparison.name_b
    parts: list[Any] = [
        _table(f"{b} vs {a}", [comparison.overall], a, b),
        _table("by section", comparison.by_section, a, b),
        _table("by group", comparison.by_group, a, b),
    ]
    if comparison.flipped:
        flips = Table(title=f"flipped fields ({len(comparison.flipped)})", title_justify="left")
        for col in ("", "doc", "path", "gold", a, b):
            flips.add_column(col)
        for f in comparison.flipped[:max_flipped]:
            flips.add_row(
                Text("↑", style="green") if f.improved else Text("↓", style="red"),
                f.doc,
                f.path,
                repr(f.gold),
                repr(f.pred_a),
                repr(f.pred_b),
            )
        parts.append(flips)
    if comparison.only_in_a or comparison.only_in_b:
        parts.append(
            Text(
                f"unpaired fields: {comparison.only_in_a} only in {a}, {comparison.only_in_b} only in {b}",
                style="yellow",
            )
        )
    return Group(*parts)


__all__ = [
    "CompareRow",
    "Comparison",
    "FlippedField",
    "compare_runs",
    "comparison_renderable",
    "mcnemar_exact",
    "paired_bootstrap",
    "regression",
]
