"""Calls to Label Studio with every failure turned into a one-line ReviewServerError.

Never str() an SDK ApiError: it carries the response headers, session cookie included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from structurer.review.client import _api_error, _redact, connect, resolve
from structurer.review.server import ReviewServerError
from structurer.settings import Settings

PAGE_SIZE = 100


@dataclass
class Remote:
    """A checked client and the server's URL as we may show it."""

    client: LabelStudio
    server: str

    @contextlib.contextmanager
    def calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except ApiError as exc:
            error = _api_error(exc, self.server)
            if exc.status_code not in (401, 403):
                error = ReviewServerError(f"{what}: {error}")
            raise error from None
        except httpx.ConnectError:
            raise ReviewServerError(
                f"{what}: cannot reach Label Studio at {self.server} (connection refused)"
            ) from None
        except httpx.TimeoutException:
            raise ReviewServerError(
                f"{what}: Label Studio at {self.server} did not answer in time"
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise ReviewServerError(
                f"{what}: talking to Label Studio at {self.server} failed: {type(exc).__name__}"
            ) from None

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
    return Remote(connect(settings), _redact(url))


__all__ = ["Remote", "open_remote"]
