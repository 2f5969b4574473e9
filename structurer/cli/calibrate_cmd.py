"""`structurer calibrate GOLD_DIR --corpus DIR`: fit P(correct) on gold data and make it current.

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


def run_calibration(
    gold_dir: Path,
    corpus: Path,
    settings: Settings,
    *,
    method: str = "logistic",
    make_current: bool = True,
    llm: Any = None,
    reuse: bool = True,
) -> dict[str, Any]:
    """Extract, label, fit, measure, store. Returns what the command prints (JSON-able)."""
    from structurer.batch.run import run_settings
    from structurer.confidence.calibrate import Method, fit, save
    from structurer.confidence.policy import PolicyDecision, threshold_for_accuracy
    from structurer.core.prompts import PromptSet
    from structurer.eval.calibration_data import calibration_metrics, gold_samples

    data = gold_samples(gold_dir, corpus, settings, llm=llm, reuse=reuse)
    if not data.samples:
        raise typer.BadParameter("no predicted fields on the gold documents: nothing to calibrate")
    prompts = PromptSet(settings.prompts_dir, settings.report_type, settings.prompt_version)
    fitted_on, settings_hash = run_settings(settings, prompts)
    how: Method = "isotonic" if method == "isotonic" else "logistic"
    artifact = fit(
        data.samples,
        method=how,
        fitted_on={**fitted_on, "settings_hash": settings_hash, "run_id": data.run_id},
    )
    oof = [p for p, _ in artifact.oof]
    prior = [_prior(s.features) for s in data.samples]
    artifact.cv.update(calibration_metrics(data.scores, oof))
    artifact.cv["default_prior"] = calibration_metrics(data.scores, prior)
    path = save(artifact, settings, make_current=make_current)
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
        "metrics": {
            "calibrated (out-of-fold)": {
                k: v for k, v in artifact.cv.items() if k != "default_prior"
            },
            "default prior": calibration_metrics(data.scores, prior),
            "as stored by the run": calibration_metrics(data.scores, data.stored_confidence),
        },
        "policies": [p.describe() for p in policies],
    }


def _prior(feats: Any) -> float:
    import math

    from structurer.confidence.calibrate import prior_score

    return 1.0 / (1.0 + math.exp(-prior_score(feats)))


@app.callback()
def calibrate(
    gold_dir: Annotated[
        Path, typer.Argument(help="directory of gold/*.json", exists=True, file_okay=False)
    ],
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
) -> None:
    """Extract the gold documents with the current settings (stored extractions are reused),
    label every field with the eval rules, fit P(correct), store a versioned artifact."""
    if method not in ("logistic", "isotonic"):
        raise typer.BadParameter("method must be logistic or isotonic")
    overrides: dict[str, Any] = {}
    if table_reader:
        overrides["table_reader"] = table_reader
    settings = load_settings(**overrides)
    corpus_dir = corpus or gold_dir.parent / "corpus"
    if not corpus_dir.is_dir():
        raise typer.BadParameter(f"corpus directory {corpus_dir} not found (use --corpus)")
    out = run_calibration(gold_dir, corpus_dir, settings, method=method, make_current=current)

    table = Table(
        title=f"calibration {out['version']} on {len(out['docs'])} gold documents (run {out['run_id']})"
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
    for line in out["policies"]:
        console.print(line)
    if out["missing_docs"]:
        err.print(
            f"[yellow]gold documents not in the corpus: {', '.join(out['missing_docs'])}[/yellow]"
        )
    if out["failed_docs"]:
        err.print(f"[yellow]extraction failed for: {', '.join(out['failed_docs'])}[/yellow]")
    console.print(f"stored {out['path']}" + (" (current)" if current else ""))
