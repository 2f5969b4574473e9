"""One redaction for every credential shape, used wherever an error is printed or stored.

`redact(text)` removes: the user:password (or token) part of any URL (an endpoint URL, a
DATABASE_URL), the values of the credential variables set in the environment (API keys, the
Label Studio token, the database password) plus any `extra` secrets given, and secret-looking
tokens (`sk-...`, `Authorization: Bearer/Token ...`, `api_key=...`, `password=...`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
# Variables whose value is a secret, and variables holding a URL that may carry one.
SECRET_VARIABLES = (
    "OPENAI_API_KEY",
    "STRUCTURER_OPENAI_API_KEY",
    "LABEL_STUDIO_API_KEY",
    "STRUCTURER_LABEL_STUDIO_API_KEY",
)
URL_VARIABLES = (
    "DATABASE_URL",
    "STRUCTURER_DATABASE_URL",
    "OPENAI_BASE_URL",
    "STRUCTURER_OPENAI_BASE_URL",
    "LABEL_STUDIO_URL",
    "STRUCTURER_LABEL_STUDIO_URL",
)
_MIN_SECRET = 4  # shorter values would mask ordinary words

_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s/@]+)@")
_TOKENS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?i)\b(authorization\s*[:=]\s*)?(bearer|token)\s+[A-Za-z0-9._\-+/=]{8,}"),
    re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|password|passwd|pwd)(\s*[=:]\s*)[^\s&,;'\"]+"),
)


def redact_url(url: str) -> str:
    """A URL without its user:password@ part (used to describe an endpoint in run settings)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=host))


def _url_secrets(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    out = []
    for value in (parts.password, parts.username if parts.password is None else None):
        if value:
            out += [value, unquote(value)]
    return out


def environment_secrets() -> list[str]:
    """Secret values set in this process's environment (keys, URL passwords)."""
    found = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    for name in URL_VARIABLES:
        found += _url_secrets(os.environ.get(name, ""))
    return [s for s in found if len(s) >= _MIN_SECRET]


def redact(text: str | None, extra: Iterable[str | None] = ()) -> str:
    """`text` with every credential it may carry replaced by ***."""
    if not text:
        return text or ""
    secrets = [*environment_secrets(), *(s for s in extra if s and len(s) >= _MIN_SECRET)]
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _TOKENS[0].sub(MASK, text)
    text = _TOKENS[1].sub(lambda m: f"{m.group(1) or ''}{m.group(2)} {MASK}", text)
    text = _TOKENS[2].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return text


def settings_secrets(settings: object) -> list[str]:
    """Secret values held by a Settings object (it may have been built from arguments)."""
    out: list[str] = []
    for name in ("openai_api_key", "label_studio_api_key"):
        value = getattr(settings, name, None)
        if value is not None and hasattr(value, "get_secret_value"):
            out.append(value.get_secret_value())
    for name in ("database_url", "openai_base_url", "label_studio_url"):
        url = getattr(settings, name, None)
        if isinstance(url, str):
            out += _url_secrets(url)
    return out
