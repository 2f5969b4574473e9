"""A checked Label Studio SDK client.

``connect`` uses LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY when set, else the credentials of our
own served instance (``structurer review serve``). The key may be a legacy token (sent as
``Authorization: Token ...``) or a personal access token, a JWT refresh token that the SDK
exchanges for short-lived access tokens; the SDK tells them apart by shape.
Errors are one line and never contain the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from structurer.review.server import ReviewServerError, load_credentials
from structurer.settings import Settings, redact_url

__all__ = ["ReviewServerError", "connect", "label_studio_errors", "resolve"]


def resolve(settings: Settings) -> tuple[str, str]:
    """(url, api key) from the settings, else from our served instance."""
    if settings.label_studio_url:
        if (
            settings.label_studio_api_key is None
            or not settings.label_studio_api_key.get_secret_value()
        ):
            raise ReviewServerError("LABEL_STUDIO_URL is set but LABEL_STUDIO_API_KEY is not")
        return settings.label_studio_url.rstrip(
            "/"
        ), settings.label_studio_api_key.get_secret_value()
    own = load_credentials(settings)
    if own is None or not own.url:
        raise ReviewServerError(
            "no Label Studio server configured: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, "
            "or run `structurer review serve`"
        )
    return own.url, own.token


def connect(settings: Settings, *, check: bool = True, timeout: float = 30.0) -> LabelStudio:
    """An SDK client for the review server. With ``check``, one whoami call proves URL and key."""
    url, key = resolve(settings)
    with label_studio_errors(redact_url(url), hint=True, timeout=timeout):
        client = LabelStudio(base_url=url, api_key=key, timeout=timeout)
        if check:
            client.users.whoami()
    return client


@contextlib.contextmanager
def label_studio_errors(
    shown: str, what: str | None = None, *, hint: bool = False, timeout: float | None = None
) -> Iterator[None]:
    """Turn every failure of a call to Label Studio into a one-line ReviewServerError.

    Never str() an SDK ApiError: it carries the response headers, session cookie included.
    """
    prefix = f"{what}: " if what else ""
    try:
        yield
    except ApiError as exc:
        error = _api_error(exc, shown)
        if what and exc.status_code not in (401, 403):
            error = ReviewServerError(f"{prefix}{error}")
        raise error from None
    except httpx.ConnectError:
        tail = "; is it running? (`structurer review serve` starts ours)" if hint else ""
        raise ReviewServerError(
            f"{prefix}cannot reach Label Studio at {shown} (connection refused){tail}"
        ) from None
    except httpx.TimeoutException:
        within = f"within {timeout:.0f}s" if timeout else "in time"
        raise ReviewServerError(
            f"{prefix}Label Studio at {shown} did not answer {within}"
        ) from None
    except (httpx.HTTPError, ValueError) as exc:
        raise ReviewServerError(
            f"{prefix}talking to Label Studio at {shown} failed: {type(exc).__name__}"
        ) from None


def _api_error(exc: ApiError, shown: str) -> ReviewServerError:
    code = exc.status_code
    if code in (401, 403):
        return ReviewServerError(
            f"Label Studio at {shown} rejected the API key (HTTP {code}); "
            "check LABEL_STUDIO_API_KEY (a legacy token or a personal access token)"
        )
    return ReviewServerError(f"Label Studio at {shown} answered HTTP {code}")
