"""The embedded default model: pinned weights joined into one checked GGUF file, served by
llama.cpp's OpenAI-compatible server (xllamacpp) in a detached process. No API key needed.

    from structurer.llm.embedded import ensure_running
    base_url = ensure_running(settings)  # e.g. http://127.0.0.1:18080/v1
"""

from structurer.llm.embedded.server import (
    ModelServerInfo,
    ServerError,
    ensure_running,
    serve,
    status,
    stop,
)
from structurer.llm.embedded.weights import (
    MODELS,
    EmbeddedModel,
    WeightsError,
    ensure_weights,
    get_model,
)

__all__ = [
    "MODELS",
    "EmbeddedModel",
    "ServerError",
    "ModelServerInfo",
    "WeightsError",
    "ensure_running",
    "ensure_weights",
    "get_model",
    "serve",
    "status",
    "stop",
]
