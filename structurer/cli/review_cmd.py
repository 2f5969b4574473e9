"""`structurer review ...`: the Label Studio review loop (serve; push, pull, listen to come)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from structurer.review.server import (
    DEFAULT_PORT,
    ReviewServerError,
    ServerInfo,
    serve,
    status,
    stop,
)
from structurer.settings import Settings

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


def _show(info: ServerInfo) -> None:
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
    settings = Settings()
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
