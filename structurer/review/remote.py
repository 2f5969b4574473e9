"""Calls to Label Studio with every failure turned into a one-line ReviewServerError.

Never str() an SDK ApiError: it carries the response headers, session cookie included.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from label_studio_sdk.client import LabelStudio

from structurer.review.client import connect, label_studio_errors, resolve
from structurer.settings import Settings, redact_url

PAGE_SIZE = 100


@dataclass
class Remote:
    """A checked client and the server's URL as we may show it."""

    client: LabelStudio
    server: str

    def calling(self, what: str) -> contextlib.AbstractContextManager[None]:
        return label_studio_errors(self.server, what)

    def tasks(self, project_id: int, *, with_annotations: bool) -> list[Any]:
        """Every task of the project (annotations included when asked)."""
        with self.calling(f"listing the tasks of project {project_id}"):
            pager: Any = self.client.tasks.list(
                project=project_id,
                fields="all" if with_annotations else "task_only",
                page_size=PAGE_SIZE,
            )
            return list(pager)

    def annotators(self) -> dict[int, str]:
        """User id -> email, to name who annotated."""
        with self.calling("listing the users"):
            return {u.id: (u.email or u.username or str(u.id)) for u in self.client.users.list()}


def open_remote(settings: Settings) -> Remote:
    """Connect (one whoami call proves URL and key) and remember the URL to show."""
    url, _ = resolve(settings)
    return Remote(connect(settings), redact_url(url))


__all__ = ["Remote", "open_remote"]
