"""`structurer calibrate GOLD_DIR --corpus DIR`: fit P(correct) on gold data and make it current.
`--from-review` adds every field a person reviewed (confirmed, corrected, 原文未提及) as a
labelled example (or fits on reviewed fields alone without GOLD_DIR), prints the labelled
set's metrics before (the calibration in use) and after (out-of-fold), and re-routes the
fields nobody reviewed yet with the new calibration.

Mount with `app.add_typer(calibrate_cmd.app, name="calibrate")`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from structurer.cli.settings_cli import load_settings
from structurer.settings import Settings

app = typer.Typer(
    help="Fit field confidence on gold data.",
    invoke_without_command=True,
    no_args_is_help=True,
    context_settings={"allow_interspersed_args": True},
)
console = Console()
err = Console(stderr=True)

BUDGET = 0.10
TARGETS = (0.90, 0.95, 0.99)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _review_scores(samples: list[Any], settings: Settings) -> list[Any]:
    """Reviewed samples as scored fields, for the calibration metrics."""
    from structurer.core.report_type import load_report_type
    from structurer.eval.scoring import FieldScore, field_kinds, group_of, section_of

    kinds = field_kinds(load_report_type(settings.report_type).record_model)
    return [
        FieldScore(
            doc=s.doc,
            path=s.path,
            section=section_of(s.path),
            group=group_of(s.path),
            kind=kinds.get(s.path, "str"),
            correct=s.correct,
            both_null=False,
            gold_null=False,
            pred_null=False,
            gold_nonzero=True,
        )
        for s in samples
    ]


def _routing(settings: Settings) -> tuple[int, int]:
    """(fields to review, open fields) among the newest extractions' unreviewed fields."""
    from structurer.store.outcomes import field_rows, run_extractions
    from structurer.store.session import session_scope

    with session_scope(settings) as session:
        rows = [
            r
            for _, ex in run_extractions(session, None)
            for r in field_rows(session, ex.id or 0)
            if r.status != "corrected"
        ]
    return sum(r.status == "needs_review" for r in rows), len(rows)


def run_calibration(
    gold_dir: Path | None,
    corpus: Path | None,
    settings: Settings,
    *,
    method: str = "logistic",
    make_current: bool = True,
    llm: Any = None,
    reuse: bool = True,
    from_review: bool = False,
) -> dict[str, Any]:
    """Extract, label, fit, measure, store (and, from review, re-route). Returns what the
    command prints (JSON-able)."""
    from structurer.batch.run import run_settings
    from structurer.confidence.calibrate import Method, fit, load_current, save
    from structurer.confidence.policy import PolicyDecision, threshold_for_accuracy
    from structurer.core.prompts import load_prompts
    from structurer.eval.calibration_data import GoldSet, calibration_metrics, gold_samples

    if gold_dir is not None and corpus is not None:
        data = gold_samples(gold_dir, corpus, settings, llm=llm, reuse=reuse)
    else:
        data = GoldSet(run_id="")
    n_gold = len(data.samples)
    reviewed_info: dict[str, Any] = {}
    if from_review:
        from structurer.review.labelled import reviewed_samples
        from structurer.store.session import session_scope

        with session_scope(settings) as session:
            reviewed = reviewed_samples(
                session, settings.report_type, exclude_docs={s.doc for s in data.samples}
            )
        data.samples.extend(reviewed.samples)
        data.scores.extend(_review_scores(reviewed.samples, settings))
        data.stored_confidence.extend(reviewed.confidence)
        reviewed_info = {
            "n": len(reviewed.samples),
            "wrong": sum(not s.correct for s in reviewed.samples),
            "docs": len({s.doc for s in reviewed.samples}),
            "skipped_gold_docs": reviewed.skipped_gold_docs,
        }
    if not data.samples:
        what = "gold documents or reviewed fields" if from_review else "gold documents"
        raise typer.BadParameter(f"no labelled fields ({what}): nothing to calibrate")
    before = load_current(settings)
    prompts = load_prompts(settings)
    fitted_on, settings_hash = run_settings(settings, prompts)
    how: Method = "isotonic" if method == "isotonic" else "logistic"
    artifact = fit(
        data.samples,
        method=how,
        fitted_on={
            **fitted_on,
            "settings_hash": settings_hash,
            "run_id": data.run_id,
            "gold_fields": n_gold,
            "reviewed_fields": reviewed_info.get("n", 0),
        },
    )
    oof = [p for p, _ in artifact.oof]
    prior = [_prior(s.features) for s in data.samples]
    artifact.cv.update(calibration_metrics(data.scores, oof))
    artifact.cv["default_prior"] = calibration_metrics(data.scores, prior)
    metrics: dict[str, Any] = {
        "calibrated (out-of-fold)": {k: v for k, v in artifact.cv.items() if k != "default_prior"},
        "default prior": calibration_metrics(data.scores, prior),
        "as stored by the run": calibration_metrics(data.scores, data.stored_confidence),
    }
    before_row = "default prior"
    if before is not None:
        before_row = f"in use before (calibration {before.version})"
        metrics[before_row] = calibration_metrics(
            data.scores, [before.predict(s.features) for s in data.samples]
        )
    routed_before = _routing(settings) if from_review and make_current else None
    path = save(artifact, settings, make_current=make_current)
    rerouted: dict[str, Any] | None = None
    if routed_before is not None:
        from structurer.confidence.rescore import rescore_run
        from structurer.store.session import session_scope

        with session_scope(settings) as session:
            summary = rescore_run(session, settings, None, artifact=artifact)
        rerouted = {
            "before": routed_before[0],
            "after": summary.n_review,
            "open": summary.n_fields,
            "policy": summary.policy,
        }
    policies: list[PolicyDecision] = [threshold_for_accuracy(artifact.oof, t) for t in TARGETS]
    return {
        "version": artifact.version,
        "path": str(path),
        "run_id": data.run_id,
        "docs": artifact.docs,
        "missing_docs": data.missing_docs,
        "failed_docs": data.failed_docs,
        "C": artifact.C,
        "coefficients": dict(zip(artifact.features, artifact.coefficients, strict=False)),
        "intercept": artifact.intercept,
        "gold_fields": n_gold,
        "reviewed": reviewed_info,
        "metrics": metrics,
        "before_after": (before_row, "calibrated (out-of-fold)"),
        "policies": [p.describe() for p in policies],
        "rerouted": rerouted,
    }


def _prior(feats: Any) -> float:
    import math

    from structurer.confidence.calibrate import prior_score

    return 1.0 / (1.0 + math.exp(-prior_score(feats)))


@app.callback()
def calibrate(
    gold_dir: Annotated[
        Path | None,
        typer.Argument(
            help="directory of gold/*.json (optional with --from-review)",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            help="directory holding the gold documents' text files (default: GOLD_DIR/../corpus)"
        ),
    ] = None,
    method: Annotated[
        str, typer.Option(help="logistic (over all signals) | isotonic (of the prior score)")
    ] = "logistic",
    current: Annotated[
        bool, typer.Option("--current/--no-current", help="make the new calibration the one in use")
    ] = True,
    table_reader: Annotated[str | None, typer.Option(help="llm | table | both")] = None,
    from_review: Annotated[
        bool,
        typer.Option(
            "--from-review",
            help="also learn from every reviewed field; then re-route the unreviewed ones",
        ),
    ] = False,
) -> None:
    """Extract the gold documents with the current settings (stored extractions are reused),
    label every field with the eval rules, fit P(correct), store a versioned artifact."""
    if method not in ("logistic", "isotonic"):
        raise typer.BadParameter("method must be logistic or isotonic")
    if gold_dir is None and not from_review:
        raise typer.BadParameter("give GOLD_DIR, or --from-review to fit on reviewed fields")
    overrides: dict[str, Any] = {}
    if table_reader:
        overrides["table_reader"] = table_reader
    settings = load_settings(**overrides)
    corpus_dir: Path | None = None
    if gold_dir is not None:
        corpus_dir = corpus or gold_dir.parent / "corpus"
        if not corpus_dir.is_dir():
            raise typer.BadParameter(f"corpus directory {corpus_dir} not found (use --corpus)")
    out = run_calibration(
        gold_dir,
        corpus_dir,
        settings,
        method=method,
        make_current=current,
        from_review=from_review,
    )

    what = [f"{out['gold_fields']} gold field(s)"] if gold_dir is not None else []
    if from_review:
        r = out["reviewed"]
        what.append(f"{r['n']} reviewed field(s) ({r['wrong']} wrong) of {r['docs']} document(s)")
    table = Table(
        title=f"calibration {out['version']} on {' + '.join(what)} "
        f"from {len(out['docs'])} document(s)"
    )
    for column in (
        "confidence",
        "n fields",
        "wrong",
        "AUROC",
        "ECE",
        "Brier",
        "errors caught @10%",
    ):
        table.add_column(column)
    for label, m in out["metrics"].items():
        table.add_row(
            label,
            _fmt(m.get("n")),
            _fmt(m.get("n_wrong")),
            _fmt(m.get("auroc")),
            _fmt(m.get("ece")),
            _fmt(m.get("brier")),
            _fmt(m.get("errors_caught_at_10pct")),
        )
    console.print(table)
    weights = ", ".join(f"{k} {v:+.2f}" for k, v in out["coefficients"].items() if abs(v) >= 0.01)
    console.print(f"C={out['C']} intercept {out['intercept']:+.2f}; {weights}")
    was, now = (out["metrics"][k] for k in out["before_after"])
    console.print(
        f"before ({out['before_after'][0]}) -> after (out-of-fold): "
        + ", ".join(
            f"{label} {_fmt(was.get(key))} -> {_fmt(now.get(key))}"
            for label, key in (
                ("AUROC", "auroc"),
                ("ECE", "ece"),
                ("errors caught @10%", "errors_caught_at_10pct"),
            )
        )
    )
    for line in out["policies"]:
        console.print(line)
    if out["missing_docs"]:
        err.print(
            f"[yellow]gold documents not in the corpus: {', '.join(out['missing_docs'])}[/yellow]"
        )
    if out["failed_docs"]:
        err.print(f"[yellow]extraction failed for: {', '.join(out['failed_docs'])}[/yellow]")
    console.print(f"stored {out['path']}" + (" (current)" if current else ""))
    if out["rerouted"] is not None:
        r = out["rerouted"]
        console.print(
            f"re-routed the {r['open']} unreviewed field(s): {r['before']} -> {r['after']} "
            f"to review ({r['policy']})"
        )
