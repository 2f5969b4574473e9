"""Settings for a command: a bad value (environment or option) is a clear error, not a traceback."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import AliasChoices, ValidationError
from rich.console import Console
from rich.markup import escape

from structurer.settings import Settings

err = Console(stderr=True)


def variable_names(field: str) -> str:
    """The environment variable(s) a setting is read from."""
    info = Settings.model_fields.get(field)
    if info is None:  # an error located at the alias it was read from (OPENAI_BASE_URL)
        for candidate in Settings.model_fields.values():
            choices = candidate.validation_alias
            if isinstance(choices, AliasChoices) and field in choices.choices:
                info = candidate
                break
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices):
        return " / ".join(str(choice) for choice in alias.choices)
    if isinstance(alias, str):
        return alias
    return f"STRUCTURER_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus these overrides; exit 2 with one line per problem.
    The offending values are not echoed: a setting may hold a secret."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                field = ".".join(str(part) for part in error["loc"])
                message = f"invalid setting {variable_names(field)}: {message}"
            else:
                message = f"invalid settings: {message}"
            err.print(f"[red]{escape(message)}[/red]")
        raise typer.Exit(2) from None
