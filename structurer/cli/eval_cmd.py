"""`structurer eval ...`: score a prompt/model on a gold set, list runs, compare two runs.

``structurer eval GOLD_DIR --corpus DIR`` runs an eval (the ``run`` command is the default);
``structurer eval compare A B`` and ``structurer eval list`` work on stored runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from structurer.cli.settings_cli import load_settings
from structurer.eval.compare import regression
from structurer.eval.results import EvalResults
from structurer.settings import Settings


class _DefaultRunGroup(TyperGroup):
    """``eval GOLD_DIR ...`` means ``eval run GOLD_DIR ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultRunGroup,
    help="Score extractions against a gold set: `eval GOLD_DIR --corpus DIR`, `eval compare A B`, `eval list`.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)
WIDE = 180  # tables stay readable when output is piped (rich falls back to 80 columns)


def _print(renderable: Any) -> None:
    wide = console if console.is_terminal else Console(width=WIDE, file=console.file)
    wide.print(renderable)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"


HEADLINE: list[tuple[str, str, str]] = [
    ("accuracy", "accuracy (gold or prediction not null)", "pct"),
    ("accuracy_nonzero", "accuracy where gold is non-zero", "pct"),
    ("abstention_accuracy", "abstention accuracy (gold null)", "pct"),
    ("list_precision_micro", "lists: precision (micro)", "pct"),
    ("list_recall_micro", "lists: recall (micro)", "pct"),
    ("list_f1_micro", "lists: F1 (micro)", "pct"),
    ("auroc", "AUROC (confidence: right vs wrong)", "num"),
    ("ece", "ECE (lower is better)", "num"),
    ("brier", "Brier (lower is better)", "num"),
    ("errors_caught_at_5pct", "errors caught reviewing 5%", "pct"),
    ("errors_caught_at_10pct", "errors caught reviewing 10%", "pct"),
    ("errors_caught_at_20pct", "errors caught reviewing 20%", "pct"),
    ("tokens_in_per_doc", "tokens in per document", "int"),
    ("tokens_out_per_doc", "tokens out per document", "int"),
    ("seconds_per_doc", "seconds per document", "sec"),
    ("retries_per_doc", "retries per document", "num"),
    ("validation_failures", "documents failing validation", "int"),
    ("doc_failures", "failed documents (scored all-null)", "int"),
]


def _fmt(value: Any, how: str) -> str:
    if how == "pct":
        return _pct(value)
    if how == "int":
        return "–" if value is None else f"{round(value):,}"
    if how == "sec":
        return "–" if value is None else f"{value:,.1f}"
    return _num(value)


def headline_renderable(results: EvalResults, out_dir: Path | None = None) -> Group:
    """Headline metrics, accuracy per section, per document, and the failures."""
    s = results.settings
    title = Text(
        f"eval {results.run_name}: {results.n_docs} docs, "
        f"{results.metrics.get('n_scored', '?')} fields scored · prompt {s.get('prompt', '?')} · "
        f"model {s.get('model', '?')} · tables {s.get('table_reader', '?')}",
        style="bold",
    )
    head = Table()
    head.add_column("metric")
    head.add_column("value", justify="right")
    for key, label, how in HEADLINE:
        if key in results.metrics:
            head.add_row(label, _fmt(results.metrics[key], how))
    sections = Table(title="by section", title_justify="left")
    for column in (
        "section",
        "n",
        "accuracy",
        "non-zero n",
        "non-zero acc",
        "gold null",
        "abstention",
    ):
        sections.add_column(column, justify="left" if column == "section" else "right")
    for key, g in sorted(results.sections.items()):
        sections.add_row(
            key,
            str(g.n),
            _pct(g.accuracy),
            str(g.n_nonzero),
            _pct(g.accuracy_nonzero),
            str(g.n_gold_null),
            _pct(g.abstention_accuracy),
        )
    docs = Table(title="by document", title_justify="left")
    for column in ("document", "n", "accuracy", "tokens in/out", "seconds", "retries", "error"):
        docs.add_column(column, justify="left" if column in ("document", "error") else "right")
    for d in results.docs:
        docs.add_row(
            d.doc,
            str(d.n),
            _pct(d.accuracy),
            f"{d.tokens_in or 0}/{d.tokens_out or 0}",
            _fmt(d.seconds, "sec"),
            str(d.retries),
            Text(d.error or "", style="red"),
        )
    parts: list[Any] = [title, head, sections, docs]
    reused = results.other.get("reused_docs") or []
    if reused:
        parts.append(
            Text(f"reused stored extractions (no model calls): {len(reused)} doc(s)", style="cyan")
        )
    for f in results.failures:
        parts.append(Text(f"failed, scored as all-null: {f.doc}: {f.error}", style="red"))
    if out_dir is not None:
        parts.append(Text(f"wrote {out_dir}/results.json, samples.jsonl, report.html"))
    return Group(*parts)


def _settings(prompt: str | None, model: str | None, table_reader: str | None) -> Settings:
    settings = load_settings()
    update: dict[str, Any] = {}
    if prompt:
        update["prompt_version"] = prompt
    if table_reader:
        if table_reader not in ("llm", "table", "both"):
            err.print("[red]--table-reader must be llm, table or both[/red]")
            raise typer.Exit(2)
        update["table_reader"] = table_reader
    if model:
        from structurer.llm.embedded.weights import MODELS

        if settings.uses_embedded_model and model in MODELS:
            update["embedded_model"] = model
        else:
            update["model"] = model
    return settings.model_copy(update=update)


@app.command("run")
def run(
    gold_dir: Annotated[Path, typer.Argument(help="directory of gold files (<stem>.json)")],
    corpus: Annotated[Path, typer.Option(help="directory holding the gold documents")],
    prompt: Annotated[
        str | None, typer.Option(help="prompt version (prompts/<type>/<version>)")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="model at the endpoint, or embedded model name")
    ] = None,
    table_reader: Annotated[str | None, typer.Option(help="llm | table | both")] = None,
    name: Annotated[str | None, typer.Option(help="a name for this eval run")] = None,
    extract_run: Annotated[
        str | None,
        typer.Option(
            help="score this stored extraction run instead of extracting (no model calls)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="output directory (default <data_dir>/evals/<name or id>)")
    ] = None,
) -> None:
    """Extract the gold documents (reusing stored extractions), score them, store the run."""
    from structurer.batch.run import DocResult
    from structurer.core.prompts import PromptError
    from structurer.eval.run import EvalError, run_eval

    settings = _settings(prompt, model, table_reader)

    def on_start(n: int) -> None:
        err.print(
            f"extracting {n} gold document(s) · prompt {settings.prompt_version} · model {settings.model_name}"
        )

    def on_result(r: DocResult) -> None:
        colour = {"ok": "green", "failed": "red", "skipped": "cyan"}.get(r.status, "white")
        shown = "reused" if r.status == "skipped" else r.status
        err.print(f"  [{colour}]{shown}[/{colour}] {r.name} {r.seconds:.0f}s {r.error or ''}")

    try:
        outcome = run_eval(
            gold_dir,
            corpus,
            settings,
            name=name,
            out_dir=out,
            on_result=on_result,
            on_start=on_start,
            extract_run=extract_run,
        )
    except (EvalError, PromptError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _print(headline_renderable(outcome.results, outcome.out_dir))
    console.print(f"eval run {outcome.id} (extraction run {outcome.extract_run_id})")


@app.command("compare")
def compare(
    run_a: Annotated[str, typer.Argument(help="baseline eval run: name, id or run directory")],
    run_b: Annotated[str, typer.Argument(help="candidate eval run: name, id or run directory")],
    fail_on_regression: Annotated[
        float | None,
        typer.Option(
            help="exit 1 when B's accuracy is below A's by more than this (0.02 = 2 points)"
        ),
    ] = None,
    fail_on_section_regression: Annotated[
        float | None,
        typer.Option(
            help="exit 1 when any section drops by more than this with McNemar p < --alpha"
        ),
    ] = None,
    alpha: Annotated[float, typer.Option(help="significance level of the section gate")] = 0.05,
    out: Annotated[Path | None, typer.Option(help="directory for compare.html")] = None,
) -> None:
    """Per section and field group: improved / regressed fields, McNemar p, bootstrap CI."""
    from structurer.eval.catalogue import compare_evals
    from structurer.eval.compare import comparison_renderable, section_regressions
    from structurer.eval.run import EvalError

    try:
        comparison, html = compare_evals(load_settings(), run_a, run_b, out_dir=out)
    except EvalError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print(comparison_renderable(comparison))
    console.print(f"wrote {html}", soft_wrap=True)
    failed = False
    if fail_on_regression is not None and regression(comparison, fail_on_regression):
        delta = comparison.overall.delta or 0.0
        err.print(
            f"[red]regression: accuracy {100 * delta:+.1f} points "
            f"({comparison.name_b} vs {comparison.name_a}), threshold {100 * fail_on_regression:.1f}[/red]"
        )
        failed = True
    if fail_on_section_regression is not None:
        for row in section_regressions(comparison, fail_on_section_regression, alpha=alpha):
            err.print(
                f"[red]regression in section {row.key}: accuracy {100 * (row.delta or 0.0):+.1f} "
                f"points, {row.regressed} field(s) lost, {row.improved} gained, "
                f"McNemar p={row.mcnemar_p:.3g}[/red]"
            )
            failed = True
    if failed:
        raise typer.Exit(1)


@app.command("list")
def list_runs() -> None:
    """Stored eval runs, newest first, with their headline numbers."""
    from structurer.eval.catalogue import list_evals

    rows = list_evals(load_settings())
    if not rows:
        console.print("no eval runs yet: `structurer eval GOLD_DIR --corpus DIR`")
        return
    table = Table(title="eval runs")
    for column in (
        "name",
        "id",
        "created",
        "prompt",
        "model",
        "docs",
        "failed",
        "accuracy",
        "non-zero",
        "abstention",
        "AUROC",
        "ECE",
        "tok/doc",
        "s/doc",
    ):
        table.add_column(
            column,
            justify="left" if column in ("name", "id", "created", "prompt", "model") else "right",
        )
    for row in rows:
        m = row.results.get("metrics", {})
        table.add_row(
            row.name or "",
            row.id,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            str(row.settings.get("prompt", "")),
            str(row.settings.get("model", "")),
            str(row.results.get("n_docs", "")),
            str(len(row.results.get("failures", []))),
            _pct(m.get("accuracy")),
            _pct(m.get("accuracy_nonzero")),
            _pct(m.get("abstention_accuracy")),
            _num(m.get("auroc")),
            _num(m.get("ece")),
            _fmt((m.get("tokens_in_per_doc") or 0) + (m.get("tokens_out_per_doc") or 0), "int")
            if m.get("tokens_in_per_doc") is not None
            else "–",
            _fmt(m.get("seconds_per_doc"), "sec"),
        )
    _print(table)
