"""The structurer command line: thin commands over small functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from structurer.cli import calibrate_cmd, eval_cmd, gold_cmd, model_cmd, review_cmd
from structurer.cli.settings_cli import load_settings

app = typer.Typer(
    help="Structure government information-disclosure annual reports into validated records.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()
err = Console(stderr=True)


app.add_typer(model_cmd.app, name="model", help="The embedded local model server.")
app.add_typer(review_cmd.app, name="review", help="Human review in Label Studio.")
app.add_typer(eval_cmd.app, name="eval", help="Score extractions against a gold set; compare runs.")
app.add_typer(gold_cmd.app, name="gold", help="Gold records: new, check, from-review.")
app.add_typer(calibrate_cmd.app, name="calibrate", help="Fit field confidence on gold data.")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one red line (redacted, markup-safe) and return the Exit to raise."""
    from structurer.redact import redact

    err.print(f"[red]{escape(redact(message))}[/red]", highlight=False)
    return typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    """The console entry point: a database that cannot be reached, or any other error that
    is not a bug of the command, is one line naming what to do, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from structurer.redact import redact

    try:
        app(args=argv, prog_name="structurer", standalone_mode=True)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        line = reason[0] if reason else type(exc).__name__
        err.print(
            f"[red]database error: {escape(redact(line))}[/red]\n"
            "check DATABASE_URL (server running, reachable, credentials) and try again",
            highlight=False,
        )
        sys.exit(1)
    except OSError as exc:
        err.print(f"[red]{escape(redact(str(exc)))}[/red]", highlight=False)
        sys.exit(1)


class WaitingColumn(ProgressColumn):
    """How long the oldest model call in flight has waited (shown after a second)."""

    def render(self, task: Any) -> Text:
        from structurer.llm.client import WAITING

        n, seconds = WAITING.longest()
        if n == 0 or seconds < 1:
            return Text("")
        return Text(f"{n} call(s) waiting, longest {seconds:.0f} s", style="yellow")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically on first use)."""
    from structurer.store.session import upgrade

    settings = load_settings()
    upgrade(settings)
    console.print("database is at the latest revision")


@app.command()
def extract(
    paths: Annotated[list[str], typer.Argument(help="files, directories or globs")],
    name: Annotated[str | None, typer.Option(help="a name for this run")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="requests in flight at the endpoint (documents and their parts)"),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option(help="prompt version (prompts/<type>/<version>)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="model name at the endpoint")] = None,
    table_reader: Annotated[str | None, typer.Option(help="llm | table | both")] = None,
    no_reuse: Annotated[
        bool, typer.Option("--no-reuse", help="extract again even if done with these settings")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="do not reuse cached model replies")
    ] = False,
    engine: Annotated[
        str, typer.Option(help="threads | ray (a local or running Ray cluster)")
    ] = "threads",
    resume: Annotated[
        str | None,
        typer.Option(
            help="continue this run id (or 'last': the newest unfinished run with these settings)"
        ),
    ] = None,
    review_budget: Annotated[
        float | None,
        typer.Option(help="send the least confident share of fields to review, e.g. 0.10"),
    ] = None,
    target_accuracy: Annotated[
        float | None,
        typer.Option(help="auto-accept only above the threshold that meets this accuracy on gold"),
    ] = None,
) -> None:
    """Extract records from report files and store them.

    Ctrl-C stops taking documents and finishes the ones in flight; a second Ctrl-C abandons
    them. Either way the run is marked interrupted, and running the command again resumes.
    """
    import os

    from structurer.api import extract_many
    from structurer.batch.accounting import BatchStats
    from structurer.batch.run import DocResult, ResumeError

    if engine not in ("threads", "ray"):
        raise fail("--engine must be threads or ray", 2)
    overrides: dict[str, object] = {}
    if concurrency is not None:
        overrides["concurrency"] = concurrency
    if prompt:
        overrides["prompt_version"] = prompt
    if model:
        overrides["model"] = model
    if table_reader:
        overrides["table_reader"] = table_reader
    if review_budget is not None:
        overrides["review_budget"] = review_budget
    if target_accuracy is not None:
        overrides["target_accuracy"] = target_accuracy
    settings = load_settings(**overrides)
    from structurer.confidence.policy import PolicyError
    from structurer.confidence.route import review_policy

    try:
        policy = review_policy(settings)
    except PolicyError as exc:
        raise fail(str(exc), 2) from None
    err.print(f"review policy: {escape(policy.describe())}", highlight=False)
    stats = BatchStats()
    with Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        WaitingColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task("extract", total=None, status="")

        def on_start(n: int) -> None:
            stats.total = n
            progress.update(task, total=n)

        def on_result(r: DocResult) -> None:
            stats.add(r.status, r.tokens_in, r.tokens_out, r.cost, r.calls, r.cached_calls)
            progress.update(task, advance=1, status=stats.line())
            if r.status == "failed":
                progress.console.print(
                    f"[red]failed[/red] {escape(r.name)}: {escape(r.error or '')}",
                    highlight=False,
                )
            for note in r.notes:
                progress.console.print(
                    f"[yellow]note[/yellow] {escape(r.name)}: {escape(note)}", highlight=False
                )

        try:
            batch = extract_many(
                paths,
                settings,
                name=name,
                reuse=not no_reuse,
                use_cache=not no_cache,
                engine=engine,  # type: ignore[arg-type]
                resume=resume,
                on_result=on_result,
                on_start=on_start,
            )
            summary = batch.summary
        except ResumeError as exc:
            raise fail(str(exc), 2) from None

    if len(summary.results) <= 30:
        table = Table(title=f"run {summary.run_id}")
        for column in (
            "document",
            "status",
            "fields",
            "to review",
            "invented",
            "tokens in/out",
            "seconds",
            "error",
        ):
            table.add_column(column)
        for r in summary.results:
            colour = {"ok": "green", "failed": "red", "skipped": "cyan"}.get(r.status, "yellow")
            detail = r.error or (f"same bytes as {r.duplicate_of}" if r.duplicate_of else "")
            table.add_row(
                Text(r.name),
                f"[{colour}]{r.status}[/{colour}]",
                str(r.n_fields),
                str(r.n_review),
                f"{r.n_invented}" + (f" ({r.n_rejected} rejected)" if r.n_rejected else ""),
                f"{r.tokens_in}/{r.tokens_out}",
                f"{r.seconds:.1f}",
                Text(detail),
            )
        console.print(table)
    totals = Table(
        title=f"run {summary.run_id}" + (" (resumed)" if summary.resumed else ""), show_header=False
    )
    totals.add_column("what")
    totals.add_column("value", justify="right")
    for label, value in (
        ("documents", f"{stats.done} of {stats.total}"),
        ("ok / failed / skipped", f"{stats.ok} / {stats.failed} / {stats.skipped}"),
        ("duplicates (same bytes, read once)", str(stats.duplicate)),
        ("documents per minute", f"{stats.docs_per_minute():.1f}"),
        ("model calls (cached)", f"{stats.calls} ({stats.cached_calls})"),
        ("tokens in / out", f"{stats.tokens_in:,} / {stats.tokens_out:,}"),
        ("cost", "no price set" if stats.cost is None else f"{stats.cost:.4f}"),
        ("wall time", f"{stats.elapsed:.1f} s"),
    ):
        totals.add_row(label, value)
    console.print(totals)
    if batch.cross_report:
        err.print(
            f"[yellow]{len(batch.cross_report)} break(s) with the same bodies' reports of other "
            f"years: fields sent to review; `structurer check {summary.run_id}` lists them[/yellow]"
        )
    if summary.failed:
        failures = Table(title=f"{len(summary.failed)} failed document(s)")
        failures.add_column("document")
        failures.add_column("error", overflow="fold")
        for r in summary.failed:
            failures.add_row(Text(r.path), Text(r.error or ""))
        console.print(failures)
    if summary.duplicates:
        copies = Table(title=f"{len(summary.duplicates)} duplicate file(s) skipped (same bytes)")
        copies.add_column("file")
        copies.add_column("same bytes as", overflow="fold")
        for r in summary.duplicates[:50]:
            copies.add_row(Text(r.path), Text(r.duplicate_of or ""))
        if len(summary.duplicates) > 50:
            copies.add_row(f"… {len(summary.duplicates) - 50} more", "")
        console.print(copies)
    if summary.interrupted:
        err.print(
            "[yellow]interrupted: finished documents are stored; run the same command again to finish (stored documents are reused)[/yellow]"
        )
        if summary.abandoned:
            console.file.flush()
            err.file.flush()
            os._exit(130)  # threads still waiting on the endpoint are abandoned, not joined
        raise typer.Exit(130)
    if summary.failed:
        raise typer.Exit(1)


def _database_exists(settings: Any) -> bool:
    """False when the SQLite file does not exist yet (reading must not create it)."""
    url = settings.db_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).is_file()
    return True


@app.command()
def show(
    doc: Annotated[str, typer.Argument(help="document id, file name, path or sha256 prefix")],
    run: Annotated[str | None, typer.Option(help="run id")] = None,
    html_out: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="write one self-contained page: the text with every field's evidence "
            "highlighted by confidence, the fields beside it",
        ),
    ] = None,
) -> None:
    """Print one record by section, with each field's confidence, status and evidence."""
    from structurer.core.records import flatten
    from structurer.store.claims import duplicates_of
    from structurer.store.outcomes import field_rows, latest_extraction
    from structurer.store.session import session_scope

    settings = load_settings()
    if not _database_exists(settings):
        raise fail(f"no extraction found for {doc!r} (no database yet: run structurer extract)")
    with session_scope(settings) as session:
        found = latest_extraction(session, doc, run)
        if found is None:
            raise fail(f"no extraction found for {doc!r}")
        document, extraction = found
        rows = {fv.path: fv for fv in field_rows(session, extraction.id or 0)}
        copies = duplicates_of(session, document.id or 0)
        if html_out is not None:
            _write_show_html(html_out, document, extraction, list(rows.values()), settings)
            console.print(f"wrote {html_out}")
            return
    console.print(
        f"[bold]{escape(document.name)}[/bold]  run {escape(extraction.run_id)}  "
        f"status {escape(extraction.status)}",
        highlight=False,
    )
    if extraction.error:
        console.print(Text(extraction.error, style="red"))
    if copies:
        console.print(
            f"{len(copies)} duplicate file(s) skipped (same bytes as {escape(document.source_path)}):",
            highlight=False,
        )
        for c in dict.fromkeys(c.path for c in copies):
            console.print(Text(f"  {c}"))
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
            path.split(".", 1)[1],
            Text(shown),
            f"{fv.confidence:.2f}" if fv and fv.confidence is not None else "",
            fv.status if fv else "",
            Text(evidence),
        )
    for table in sections.values():
        console.print(table)
    for key, what in (
        ("doubt", "field(s) the table reader doubts"),
        ("cross_report", "field(s) breaking a check with the body's report of another year"),
        ("rejected_reason", "model proposal(s) not in the report as stated (left null, in review)"),
    ):
        marked = {p: fv.signals[key] for p, fv in rows.items() if (fv.signals or {}).get(key)}
        if marked:
            console.print(f"[yellow]{len(marked)} {what}[/yellow]")
            for path, why in marked.items():
                console.print(f"  {path}: {why}")
    if extraction.identity_breaks:
        console.print(f"[yellow]{len(extraction.identity_breaks)} table identity break(s)[/yellow]")
        for b in extraction.identity_breaks:
            console.print(Text(f"  {b['name']}: expected {b['expected']}, got {b['actual']}"))


def _write_show_html(
    out: Path, document: Any, extraction: Any, rows: list[Any], settings: Any
) -> None:
    from structurer.cli.show_html import FieldView, render_document
    from structurer.core.records import leaf_paths
    from structurer.core.report_type import load_report_type

    rtype = load_report_type(settings.report_type)
    views = [
        FieldView(
            path=fv.path,
            value=fv.value,
            reader=fv.reader,
            confidence=fv.confidence,
            status=fv.status,
            start=fv.evidence_start,
            end=fv.evidence_end,
            signals=dict(fv.signals or {}),
        )
        for fv in rows
    ]
    page = render_document(
        title=document.name,
        subtitle=f"run {extraction.run_id} · status {extraction.status} · "
        f"{len(views)} fields · {len(extraction.identity_breaks or [])} identity break(s)",
        text=document.text,
        fields=views,
        order=leaf_paths(rtype.record_model),
        labels=rtype.labels,
    )
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]cannot write {out}: {exc.strerror or exc}[/red]")
        raise typer.Exit(1) from None


@app.command()
def check(
    run: Annotated[
        str | None, typer.Argument(help="run id (default: the newest extraction of every document)")
    ] = None,
) -> None:
    """Cross-report checks: each body's report against its report of the year before (e.g.
    上年结转 = last year's 结转下年度). Lists every break and sends the fields involved, on both
    records, to review. Exit 1 when there is a break."""
    from structurer.confidence.cross_report import check_reports
    from structurer.core.report_type import load_report_type
    from structurer.store.session import session_scope

    settings = load_settings()
    rtype = load_report_type(settings.report_type)
    with session_scope(settings) as session:
        breaks = check_reports(session, rtype, run)
    for b in breaks:
        console.print(
            f"{b.body} {b.previous_year}→{b.current_year}: {b.name}: {b.reason} "
            f"[{b.previous} → {b.current}]"
        )
    console.print(f"{len(breaks)} cross-report break(s)")
    if breaks:
        raise typer.Exit(1)


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="output file")],
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl | csv | wide-csv | parquet")
    ] = "jsonl",
    run: Annotated[
        str | None, typer.Option(help="run id (default: newest extraction of every document)")
    ] = None,
    include_failed: Annotated[
        bool,
        typer.Option(
            "--include-failed",
            help="also write failed documents (their nulls are not 'not stated')",
        ),
    ] = False,
) -> None:
    """Write records: JSONL in the spec's export format, CSV with one row per field, or a wide
    table (one row per report, one column per field path) as CSV or Parquet."""
    from structurer.batch.export import (
        FORMATS,
        ExportError,
        check_output,
        write_csv,
        write_jsonl,
        write_parquet,
        write_wide_csv,
    )
    from structurer.store.session import session_scope

    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}", 2)
    try:
        check_output(out)
    except ExportError as exc:
        raise fail(str(exc), 2) from None
    settings = load_settings()
    if not _database_exists(settings):
        raise fail("nothing to export: no database yet (run structurer extract first)")
    try:
        with session_scope(settings) as session:
            if fmt in ("wide-csv", "parquet"):
                from structurer.core.records import iter_leaf_fields
                from structurer.core.report_type import load_report_type

                rtype = load_report_type(settings.report_type)
                paths = [p for p, _, _ in iter_leaf_fields(rtype.record_model)]
                writer = write_wide_csv if fmt == "wide-csv" else write_parquet
                n = writer(session, out, run, paths, include_failed)
            elif fmt == "jsonl":
                n = write_jsonl(session, out, run, include_failed)
            else:
                n = write_csv(session, out, run, include_failed)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    console.print(Text(f"wrote {n} record(s) to {out}"))


if __name__ == "__main__":
    main()
