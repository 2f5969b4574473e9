"""`structurer gold ...`: a blank gold file for a report, check a gold set, a gold
candidate from a reviewed record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from structurer.cli.settings_cli import load_settings
from structurer.core.report_type import load_report_type
from structurer.eval.gold import GoldProblem, check_gold, gold_to_json, skeleton
from structurer.settings import Settings

app = typer.Typer(help="Gold records: new, check, from-review.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _record_model(settings: Settings) -> type:
    return load_report_type(settings.report_type).record_model


def gold_problems(directory: Path, corpus: Path | None, settings: Settings) -> list[GoldProblem]:
    """Every problem of every ``*.json`` in ``directory`` (identity breaks have severity
    ``identity``); a missing or empty directory is a problem too."""
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not files:
        return [GoldProblem(file=str(directory), message="no gold files (*.json)")]
    rtype = load_report_type(settings.report_type)
    return [p for f in files for p in check_gold(f, corpus, rtype)]


def _write_or_print(text: str, out: Path | None, force: bool) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists() and not force:
        err.print(f"[red]{out} exists (use --force to overwrite)[/red]")
        raise typer.Exit(1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    err.print(f"wrote {out}")


@app.command("new")
def new(
    doc: Annotated[Path, typer.Argument(help="the report's text file")],
    out: Annotated[Path | None, typer.Option(help="gold file to write (default: stdout)")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out")] = False,
) -> None:
    """A blank gold file for a report: every path null, lists empty."""
    if not doc.is_file():
        err.print(f"[red]no such file: {doc}[/red]")
        raise typer.Exit(1)
    blank = skeleton(doc.name, _record_model(load_settings()))
    _write_or_print(json.dumps(blank, ensure_ascii=False, indent=2) + "\n", out, force)


@app.command("check")
def check(
    directory: Annotated[Path, typer.Argument(help="directory of gold files")],
    corpus: Annotated[
        Path | None, typer.Option(help="corpus directory: each gold's doc must be there")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="table identity breaks fail too")
    ] = False,
) -> None:
    """Check every gold file: keys, paths, types, alternatives, the doc in the corpus,
    table identities. Exit 1 on errors (and on identity breaks with --strict)."""
    problems = gold_problems(directory, corpus, load_settings())
    errors = [p for p in problems if p.severity == "error"]
    breaks = [p for p in problems if p.severity != "error"]
    for p in errors:
        console.print(f"[red]{escape(str(p))}[/red]", highlight=False, soft_wrap=True)
    for p in breaks:
        console.print(f"[yellow]{escape(str(p))}[/yellow]", highlight=False, soft_wrap=True)
    n_files = len(list(directory.glob("*.json"))) if directory.is_dir() else 0
    console.print(
        f"{n_files} gold file(s): {len(errors)} error(s), {len(breaks)} identity break(s)"
    )
    if errors or (strict and breaks):
        raise typer.Exit(1)


@app.command("from-review")
def from_review(
    doc: Annotated[
        str, typer.Argument(help="stored document: id, file name, path or sha256 prefix")
    ],
    out: Annotated[Path | None, typer.Option(help="gold file to write (default: stdout)")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out")] = False,
) -> None:
    """A gold candidate from the newest reviewed record (corrections applied); its notes
    list the fields no person confirmed."""
    from structurer.eval.gold_review import reviewed_gold
    from structurer.eval.run import EvalError

    try:
        gold = reviewed_gold(load_settings(), doc)
    except EvalError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _write_or_print(gold_to_json(gold), out, force)
