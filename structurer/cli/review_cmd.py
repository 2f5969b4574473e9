"""`structurer review ...`: the Label Studio review loop: serve, push, pull, listen."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from structurer.cli.settings_cli import load_settings
from structurer.review.labeling import ReviewConfigError
from structurer.review.server import (
    DEFAULT_PORT,
    LabelStudioInfo,
    ReviewServerError,
    serve,
    status,
    stop,
)

app = typer.Typer(
    help="Human review of low-confidence fields in Label Studio.", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@app.callback()
def review() -> None:
    """Human review of low-confidence fields in Label Studio."""


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    return typer.Exit(1)


def _show(info: LabelStudioInfo) -> None:
    """The one place credentials are shown: to the user who owns the server."""
    console.print(f"Label Studio is running at {info.url} (pid {info.pid})", highlight=False)
    console.print(f"  username: {info.username}", highlight=False)
    console.print(f"  password: {info.password}", highlight=False)
    console.print(f"  API token: {info.token}", highlight=False)
    console.print("Stop it with `structurer review serve --stop`.", highlight=False)


@app.command("serve")
def serve_cmd(
    port: Annotated[int, typer.Option("--port", "-p", help="port on 127.0.0.1")] = DEFAULT_PORT,
    stop_server: Annotated[bool, typer.Option("--stop", help="stop our running server")] = False,
    show_status: Annotated[
        bool, typer.Option("--status", help="tell whether it is running")
    ] = False,
) -> None:
    """Start our own Label Studio server (installed on first use), or reuse the running one."""
    settings = load_settings()
    try:
        if stop_server:
            console.print(
                "Label Studio stopped." if stop(settings) else "Label Studio was not running."
            )
            return
        if show_status:
            running = status(settings)
            if running is None:
                console.print("Label Studio is not running.")
                raise typer.Exit(1)
            console.print(
                f"Label Studio is running at {running.url} (pid {running.pid})", highlight=False
            )
            return
        _show(serve(settings, port=port))
    except ReviewServerError as exc:
        raise _fail(exc) from None


@app.command("push")
def push_cmd(
    run: Annotated[
        str | None, typer.Option(help="run id (default: newest extraction of every document)")
    ] = None,
    review_budget: Annotated[
        float | None,
        typer.Option(
            help="first re-route the batch: its least confident share of fields, e.g. 0.10"
        ),
    ] = None,
    audit: Annotated[
        float | None,
        typer.Option(
            help="also send a random share of the auto-accepted fields (e.g. 0.02), "
            "to estimate their error rate (`review stats`); once per report"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="seed of the audit sample (default: drawn and recorded)")
    ] = None,
) -> None:
    """Send the fields to check to Label Studio, one task per report (again: only the new ones)."""
    from structurer.review.push import push

    settings = load_settings()
    if review_budget is not None:
        from structurer.confidence.rescore import rescore_run
        from structurer.store.session import session_scope

        with session_scope(settings) as session:
            summary = rescore_run(session, settings, run, review_budget=review_budget)
        err.print(
            f"re-routed: {summary.n_review} of {summary.n_fields} fields to review ({summary.policy})",
            highlight=False,
        )
    if audit is not None and not 0 < audit <= 1:
        raise typer.BadParameter("--audit must be a share in (0, 1], e.g. 0.02")
    try:
        result = push(
            settings,
            run,
            echo=lambda m: console.print(m, highlight=False, soft_wrap=True),
            audit=audit,
            seed=seed,
        )
    except (ReviewServerError, ReviewConfigError) as exc:
        raise _fail(exc) from None
    if result.audit is not None:
        a = result.audit
        err.print(
            f"audit {a.id}: {a.sampled} of {a.population} auto-accepted field(s) "
            f"(rate {a.rate:g}, seed {a.seed})",
            highlight=False,
        )
    elif audit is not None:
        err.print("audit: every report here was audited by an earlier push", highlight=False)
    console.print(
        f"project {result.project_id} at {result.server}: {result.created} new task(s) "
        f"with {result.fields} field(s), {result.already} field(s) already pushed"
        + (f", {result.adopted} task(s) found on the server" if result.adopted else "")
        + (f", {result.unknown_paths} field(s) not in the schema" if result.unknown_paths else ""),
        highlight=False,
    )
    if result.webhook_registered:
        console.print("registered the listener's webhook", highlight=False)


@app.command("pull")
def pull_cmd() -> None:
    """Read submitted annotations, check each correction, apply the valid ones."""
    from structurer.review.pull import pull

    settings = load_settings()
    try:
        result = pull(settings)
    except (ReviewServerError, ReviewConfigError) as exc:
        raise _fail(exc) from None
    for c in result.corrections:
        colour = "green" if c.accepted else "red"
        colour = "yellow" if c.conflict else colour
        err.print(f"[{colour}]{escape(c.describe())}[/{colour}]", highlight=False)
        for warning in c.warnings:
            err.print(f"  [yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    console.print(
        f"project {result.project_id}: {len(result.accepted)} correction(s) applied, "
        f"{len(result.rejected)} rejected (kept as typed)"
        + (f", {len(result.conflicts)} conflict(s) between annotators" if result.conflicts else ""),
        highlight=False,
    )
    if result.rejected:
        raise typer.Exit(1)


@app.command("stats")
def stats_cmd() -> None:
    """Estimated error rate of auto-accepted fields (from the audit), share of flagged fields
    really wrong, and conflicts between annotators."""
    from rich.table import Table

    from structurer.core.report_type import load_report_type
    from structurer.review.labeling import load_review_config
    from structurer.review.stats import Estimate, review_stats
    from structurer.store.session import session_scope

    settings = load_settings()
    try:
        rtype = load_report_type(settings.report_type)
        config = load_review_config(rtype)
    except ReviewConfigError as exc:
        raise _fail(exc) from None
    with session_scope(settings) as session:
        stats = review_stats(session, rtype.name, config)

    def table(title: str, overall: Estimate, sections: list[Estimate]) -> Table:
        out = Table(title=title, title_justify="left")
        for column in ("", "reviewed", "wrong", "error rate", "95% interval (Clopper–Pearson)"):
            out.add_column(column, justify="left" if not column else "right")
        for e in [overall, *sections]:
            low, high = e.interval or (None, None)
            out.add_row(
                "all" if e is overall else e.label,
                str(e.n),
                str(e.wrong),
                "-" if e.rate is None else f"{e.rate:.1%}",
                "-" if low is None else f"{low:.1%} – {high:.1%}",
            )
        return out

    console.print(stats.audit.describe(), highlight=False)
    if stats.audit_sampled:
        estimated = stats.estimated_wrong
        console.print(
            f"  audit sample: {stats.audit_sampled} of {stats.audited_population} auto-accepted "
            f"field(s), seed(s) {', '.join(map(str, stats.audit_seeds))}"
            + ("" if estimated is None else f"; about {estimated:.0f} of them wrong"),
            highlight=False,
        )
        if len(stats.audit_rates) > 1:
            rates = ", ".join(f"{r:g}" for r in stats.audit_rates)
            console.print(
                f"  [yellow]note:[/yellow] the audits used different rates ({rates}); the pooled "
                "figure over-weights the batches audited at a higher rate",
                highlight=False,
            )
        console.print(table("audit per section", stats.audit, stats.audit_sections))
    else:
        console.print("  no audit sample yet: `structurer review push --audit 0.02`")
    console.print(stats.flagged.describe(), highlight=False)
    if stats.flagged.n:
        console.print(table("flagged per section", stats.flagged, stats.flagged_sections))
    console.print(f"{stats.pending} field(s) pushed and not reviewed yet", highlight=False)
    console.print(f"{len(stats.conflicts)} conflict(s) between annotators", highlight=False)
    for conflict in stats.conflicts:
        console.print(f"  {escape(conflict.describe())}", highlight=False)


@app.command("listen")
def listen_cmd(
    port: Annotated[int, typer.Option("--port", "-p", help="port to listen on")] = 8090,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    url: Annotated[
        str | None,
        typer.Option(help="the URL Label Studio calls (default http://HOST:PORT/webhook)"),
    ] = None,
) -> None:
    """Receive Label Studio webhooks and pull on every submitted or updated annotation."""
    from structurer.review.listen import Listener

    try:
        Listener(
            load_settings(), host, port, url, echo=lambda m: err.print(escape(m), highlight=False)
        ).serve()
    except (ReviewServerError, ReviewConfigError) as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise _fail(OSError(f"cannot listen on {host}:{port}: {exc.strerror}")) from None
