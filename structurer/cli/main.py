"""The structurer command line: thin commands over small functions."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from structurer.settings import Settings

app = typer.Typer(help="Structure government information-disclosure annual reports into validated records.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


def _mount(module: str, name: str, help_text: str) -> None:
    """Mount a sub-app if its module is present (each lives in its own file)."""
    try:
        sub = importlib.import_module(module).app
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    app.add_typer(sub, name=name, help=help_text)


_mount("structurer.cli.model_cmd", "model", "The embedded local model server.")
_mount("structurer.cli.review_cmd", "review", "Human review in Label Studio.")
_mount("structurer.cli.eval_cmd", "eval", "Score extractions against a gold set.")
_mount("structurer.cli.gold_cmd", "gold", "Gold records: new, check, from-review.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically on first use)."""
    from structurer.db.session import upgrade

    settings = Settings()
    upgrade(settings)
    console.print("database is at the latest revision")


@app.command()
def extract(
    paths: Annotated[list[str], typer.Argument(help="files, directories or globs")],
    name: Annotated[str | None, typer.Option(help="a name for this run")] = None,
    concurrency: Annotated[int | None, typer.Option(help="documents in flight at once")] = None,
    prompt: Annotated[str | None, typer.Option(help="prompt version (prompts/<type>/<version>)")] = None,
    model: Annotated[str | None, typer.Option(help="model name at the endpoint")] = None,
    table_reader: Annotated[str | None, typer.Option(help="llm | table | both")] = None,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="extract again even if done with these settings")] = False,
) -> None:
    """Extract records from report files and store them."""
    from structurer.extract.runner import DocResult, run_extraction

    overrides: dict[str, object] = {}
    if concurrency:
        overrides["concurrency"] = concurrency
    if prompt:
        overrides["prompt_version"] = prompt
    if model:
        overrides["model"] = model
    if table_reader:
        overrides["table_reader"] = table_reader
    settings = Settings(**overrides)  # type: ignore[arg-type]
    started = time.perf_counter()
    tokens = [0, 0]
    with Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("extract", total=None, status="")
        counts = {"ok": 0, "failed": 0, "skipped": 0}

        def on_start(n: int) -> None:
            progress.update(task, total=n)

        def on_result(r: DocResult) -> None:
            counts[r.status] = counts.get(r.status, 0) + 1
            tokens[0] += r.tokens_in
            tokens[1] += r.tokens_out
            minutes = max(time.perf_counter() - started, 1e-6) / 60
            progress.update(
                task,
                advance=1,
                status=f"ok {counts['ok']} failed {counts['failed']} skipped {counts['skipped']} · "
                f"{(counts['ok'] + counts['failed']) / minutes:.1f} docs/min · tokens {tokens[0]}+{tokens[1]}",
            )
            if r.status == "failed":
                progress.console.print(f"[red]failed[/red] {r.name}: {r.error}")

        summary = run_extraction(paths, settings, name=name, on_result=on_result, on_start=on_start)

    table = Table(title=f"run {summary.run_id}")
    for column in ("document", "status", "fields", "to review", "tokens in/out", "seconds", "error"):
        table.add_column(column)
    for r in summary.results:
        colour = {"ok": "green", "failed": "red", "skipped": "cyan"}.get(r.status, "white")
        table.add_row(
            r.name, f"[{colour}]{r.status}[/{colour}]", str(r.n_fields), str(r.n_review),
            f"{r.tokens_in}/{r.tokens_out}", f"{r.seconds:.1f}", r.error or "",
        )
    console.print(table)
    if summary.interrupted:
        err.print("[yellow]interrupted: finished documents are stored; run again to resume[/yellow]")
        raise typer.Exit(130)
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def show(
    doc: Annotated[str, typer.Argument(help="document id, file name, path or sha256 prefix")],
    run: Annotated[str | None, typer.Option(help="run id")] = None,
) -> None:
    """Print one record by section, with each field's confidence, status and evidence."""
    from structurer.db.session import session_scope
    from structurer.records import flatten
    from structurer.store import field_rows, latest_extraction

    settings = Settings()
    with session_scope(settings) as session:
        found = latest_extraction(session, doc, run)
        if found is None:
            err.print(f"[red]no extraction found for {doc!r}[/red]")
            raise typer.Exit(1)
        document, extraction = found
        rows = {fv.path: fv for fv in field_rows(session, extraction.id or 0)}
    console.print(f"[bold]{document.name}[/bold]  run {extraction.run_id}  status {extraction.status}")
    if extraction.error:
        console.print(f"[red]{extraction.error}[/red]")
    if extraction.record is None:
        raise typer.Exit(1)
    flat = flatten(extraction.record)
    sections: dict[str, Table] = {}
    for path, value in flat.items():
        if value is None or value == []:
            continue
        section = path.split(".", 1)[0]
        table = sections.get(section)
        if table is None:
            table = Table(title=section, show_lines=False)
            for column in ("field", "value", "conf", "status", "evidence"):
                table.add_column(column, overflow="fold")
            sections[section] = table
        fv = rows.get(path)
        evidence = ""
        if fv is not None and fv.evidence_start is not None:
            evidence = f"[{fv.evidence_start}:{fv.evidence_end}] {(fv.quote or '')[:40]}"
        shown = "\n".join(f"• {v}" for v in value) if isinstance(value, list) else str(value)
        table.add_row(
            path.split(".", 1)[1], shown,
            f"{fv.confidence:.2f}" if fv and fv.confidence is not None else "",
            fv.status if fv else "", evidence,
        )
    for table in sections.values():
        console.print(table)
    if extraction.identity_breaks:
        console.print(f"[yellow]{len(extraction.identity_breaks)} table identity break(s)[/yellow]")
        for b in extraction.identity_breaks:
            console.print(f"  {b['name']}: expected {b['expected']}, got {b['actual']}")


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="output file")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl | csv")] = "jsonl",
    run: Annotated[str | None, typer.Option(help="run id (default: newest extraction of every document)")] = None,
) -> None:
    """Write records: JSONL in the spec's export format, or CSV with one row per field."""
    from structurer.db.session import session_scope
    from structurer.export import write_csv, write_jsonl

    if fmt not in ("jsonl", "csv"):
        err.print("[red]--format must be jsonl or csv[/red]")
        raise typer.Exit(2)
    settings = Settings()
    with session_scope(settings) as session:
        n = write_jsonl(session, out, run) if fmt == "jsonl" else write_csv(session, out, run)
    console.print(f"wrote {n} record(s) to {out}")


if __name__ == "__main__":
    app()
