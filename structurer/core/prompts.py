"""Versioned prompt templates (jinja2) under <prompts_dir>/<report type name>/<version>/."""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2

from structurer.core.report_type import load_report_type
from structurer.settings import Settings


class PromptError(LookupError):
    pass


def fence_for(text: str) -> tuple[str, str]:
    """Markers around the report text that the text itself does not contain, so a line in
    the report (">>>", an injected "end of text") cannot close its own block."""
    opening, closing = "<<<", ">>>"
    n = 0
    while opening in text or closing in text:
        n += 1
        opening, closing = f"<<<TEXT{n}", f"TEXT{n}>>>"
    return opening, closing


def safe_name(name: str, limit: int = 120) -> str:
    """A file name as shown to the model: one line, no fence characters, bounded."""
    cleaned = "".join(" " if (ch.isspace() or ch in "<>`") else ch for ch in name)
    return " ".join(cleaned.split())[:limit]


class PromptSet:
    def __init__(self, prompts_dir: Path, report_type: str, version: str) -> None:
        self.dir = prompts_dir / report_type / version
        if not self.dir.is_dir():
            raise PromptError(
                f"no prompt version {version!r} for {report_type!r} (looked in {self.dir})"
            )
        self.version = version
        # Templates are read once: what is rendered is exactly what the fingerprint hashes, even
        # if a file is edited while a batch runs.
        self._sources = {
            str(path.relative_to(self.dir)): path.read_text(encoding="utf-8")
            for path in sorted(self.dir.rglob("*.j2"))
        }
        self._env = jinja2.Environment(
            loader=jinja2.DictLoader(self._sources),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    @cached_property
    def fingerprint(self) -> str:
        """version + a hash of every template, so an edited template is a different prompt."""
        digest = hashlib.sha256()
        for name, source in self._sources.items():
            digest.update(name.encode())
            digest.update(source.encode("utf-8"))
        return f"{self.version}+{digest.hexdigest()[:8]}"

    def render(self, name: str, **context: Any) -> str:
        if isinstance(context.get("text"), str) and "fence_open" not in context:
            context["fence_open"], context["fence_close"] = fence_for(context["text"])
        try:
            return self._env.get_template(name).render(**context).strip()
        except jinja2.TemplateNotFound as exc:
            raise PromptError(f"prompt template {name!r} missing in {self.dir}") from exc

    def has(self, name: str) -> bool:
        return name in self._sources

    @cached_property
    def asks_item_starts(self) -> bool:
        """Whether this version's words ask for the first words of list items when
        `item_max_chars` is set (the only versions the cap is applied with: under an older
        prompt the grammar would cut whole items short)."""
        return any("item_max_chars" in source for source in self._sources.values())


def load_prompts(settings: Settings) -> PromptSet:
    """The configured report type's prompts: ``<prompts_dir>/<REPORT_TYPE.name>/<prompt_version>/``
    (the type's declared name, not its import path: a type under tests/ keeps its prompts there
    with ``prompts_dir``)."""
    name = load_report_type(settings.report_type).name
    return PromptSet(settings.prompts_dir, name, settings.prompt_version)
