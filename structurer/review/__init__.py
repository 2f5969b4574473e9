"""Human review in Label Studio: our own server (`server`) and a checked SDK client (`client`)."""

from structurer.review.client import connect
from structurer.review.server import (
    LABEL_STUDIO_VERSION,
    ReviewServerError,
    ServerInfo,
    serve,
    status,
    stop,
)

__all__ = [
    "LABEL_STUDIO_VERSION",
    "ReviewServerError",
    "ServerInfo",
    "connect",
    "serve",
    "status",
    "stop",
]
