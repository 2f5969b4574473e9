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
) -> None:
    """Send every `needs_review` field to Label Studio as a task (again: only the new ones)."""
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
    try:
        result = push(settings, run, echo=lambda m: err.print(m, highlight=False))
    except (ReviewServerError, ReviewConfigError) as exc:
        raise _fail(exc) from None
    console.print(
        f"project {result.project_id} at {result.server}: {result.created} new task(s), "
        f"{result.already} already pushed"
        + (f", {result.adopted} found on the server" if result.adopted else "")
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
        err.print(f"[{colour}]{escape(c.describe())}[/{colour}]", highlight=False)
        for warning in c.warnings:
            err.print(f"  [yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    console.print(
        f"project {result.project_id}: {len(result.accepted)} correction(s) applied, "
        f"{len(result.rejected)} rejected (kept as typed)",
        highlight=False,
    )
    if result.rejected:
        raise typer.Exit(1)


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
