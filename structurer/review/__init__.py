"""Human review in Label Studio: our own server (`server`) and a checked SDK client (`client`)."""

from structurer.review.client import connect
from structurer.review.server import (
    LABEL_STUDIO_VERSION,
    LabelStudioInfo,
    ReviewServerError,
    serve,
    status,
    stop,
)

__all__ = [
    "LABEL_STUDIO_VERSION",
    "ReviewServerError",
    "LabelStudioInfo",
    "connect",
    "serve",
    "status",
    "stop",
]
