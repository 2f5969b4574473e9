"""Start, find and stop the embedded model server (llama.cpp via xllamacpp, OpenAI-compatible).

The server runs in a detached process (`python -m structurer.llm.embedded.serve_main`), so it outlives
the command that started it and is shared by every process using the same host:port. Its pid
file and log live under `<data_dir>/run/`. The server needs no API key (any string works with
the openai client), reports the embedded model name (e.g. "qwen2.5-coder-1.5b") as its model
id, enforces `response_format` JSON schemas by constrained decoding and returns logprobs when
asked (`logprobs=True, top_logprobs=k`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from structurer.llm.embedded.serve_main import PROCESS_MARKER
from structurer.llm.embedded.weights import ensure_weights
from structurer.service import ServerInfo, Service, port_in_use
from structurer.settings import Settings


class ServerError(RuntimeError):
    """The embedded model server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ModelServerInfo(ServerInfo):
    """The embedded server: `url` is its OpenAI base URL (http://127.0.0.1:18080/v1); `pid` is
    None when it was started from another data_dir."""

    model: str  # model id the server reports


def run_dir(settings: Settings) -> Path:
    return settings.data_dir / "run"


def _run_file(settings: Settings, suffix: str) -> Path:
    """Run files are per port, so servers on different ports never touch each other's."""
    return run_dir(settings) / f"model-server-{settings.embedded_port}.{suffix}"


def pid_path(settings: Settings) -> Path:
    return _run_file(settings, "pid")


def log_path(settings: Settings) -> Path:
    return _run_file(settings, "log")


def root_url(settings: Settings) -> str:
    host = settings.embedded_host
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.embedded_port}"


def base_url(settings: Settings) -> str:
    return root_url(settings) + "/v1"


# Below this many cores kept busy by others (sampled over QUIET_SAMPLE_S as the server starts)
# the box counts as quiet. A sample, not the 1-minute load average: right after setup or
# another run the load average stays high for a minute while the box is already idle.
QUIET_BUSY_CORES = 0.5
QUIET_SAMPLE_S = 0.5


def busy_cores() -> float:
    """Cores kept busy by everything on the box, sampled now over QUIET_SAMPLE_S."""
    return psutil.cpu_percent(interval=QUIET_SAMPLE_S) / 100 * psutil.cpu_count()


def box_is_quiet() -> bool:
    return busy_cores() < QUIET_BUSY_CORES


def threads(settings: Settings) -> int:
    """Decode threads: the setting, else every core on a quiet box and one core left free on a
    busy one. llama.cpp's threads busy-wait: with every core taken, anything else running (the
    pipeline, a database, the tests) made decoding 10-20x slower (bench/embedded_model.md),
    while on a quiet 2-core box the second thread is worth x1.65 (issue 12, bench/README.md).
    Decided when the server starts (a running server keeps its threads)."""
    if settings.embedded_threads:
        return settings.embedded_threads
    cores = len(os.sched_getaffinity(0))
    return cores if box_is_quiet() else max(1, cores - 1)


def batch_threads(settings: Settings, decode_threads: int | None = None) -> int:
    return settings.embedded_batch_threads or decode_threads or threads(settings)


def server_config(settings: Settings) -> dict[str, Any]:
    """The settings a running server was started with, beyond its model, host and port: a
    server of ours whose config differs is restarted by `serve`."""
    spec = settings.embedded_speculative
    config: dict[str, Any] = {
        "ctx": settings.embedded_ctx,
        # the settings, not the threads chosen from the load: a running server is not
        # restarted because the load changed
        "threads": settings.embedded_threads or "auto",
        "threads_batch": settings.embedded_batch_threads or "same",
        "poll": settings.embedded_poll,
        "parallel": settings.embedded_parallel,
        "cache_prompt": settings.embedded_cache_prompt,
        "cache_ram_mib": settings.embedded_cache_ram_mib,
        "speculative": spec,
    }
    if spec in ("ngram_simple", "ngram_map_k", "ngram_map_k4v"):
        config.update(
            spec_n=settings.embedded_spec_ngram_n,
            spec_m=settings.embedded_spec_ngram_m,
            spec_min_hits=settings.embedded_spec_min_hits,
        )
    if spec == "draft":
        config.update(
            draft_model=settings.embedded_draft_model, draft_max=settings.embedded_draft_max
        )
    return config


def config_id(settings: Settings) -> str:
    blob = json.dumps(server_config(settings), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def server_args(settings: Settings, model_file: Path, draft_file: Path | None) -> list[str]:
    """serve_main's arguments for these settings."""
    c = server_config(settings)
    decode_threads = threads(settings)
    args = [
        "--model",
        str(model_file),
        "--alias",
        settings.embedded_model,
        "--host",
        settings.embedded_host,
        "--port",
        str(settings.embedded_port),
        "--ctx",  # llama.cpp splits its context among the slots: each slot gets embedded_ctx
        str(c["ctx"] * c["parallel"]),
        "--threads",
        str(decode_threads),
        "--threads-batch",
        str(batch_threads(settings, decode_threads)),
        "--poll",
        str(c["poll"]),
        "--parallel",
        str(c["parallel"]),
        "--cache-ram-mib",
        str(c["cache_ram_mib"]),
        "--speculative",
        c["speculative"],
    ]
    if not c["cache_prompt"]:
        args.append("--no-cache-prompt")
    if "spec_n" in c:
        args += ["--spec-n", str(c["spec_n"]), "--spec-m", str(c["spec_m"])]
        args += ["--spec-min-hits", str(c["spec_min_hits"])]
    if draft_file is not None:
        args += ["--draft-model", str(draft_file)]
        if c["draft_max"]:
            args += ["--draft-max", str(c["draft_max"])]
    return [*args, "--config-id", config_id(settings)]


def _service(settings: Settings) -> Service:
    return Service(
        name="model server",
        pid_file=pid_path(settings),
        log_file=log_path(settings),
        lock_file=_run_file(settings, "lock"),
        marker=PROCESS_MARKER,
        error=ServerError,
        term_grace=0,  # llama.cpp's server ignores SIGTERM
        log_tail=15,
    )


def _served_model(settings: Settings) -> str | None:
    """Model id of a healthy llama.cpp server at host:port, else None."""
    try:
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            health = client.get(root_url(settings) + "/health")
            if health.status_code != 200:
                return None
            models = client.get(base_url(settings) + "/models").json()
        model = models["data"][0]
        if model.get("owned_by") != "llamacpp":
            return None
        return str(model["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None


def _server_pids_on_port(settings: Settings) -> list[int]:
    """Embedded server processes started for this port (from any data_dir)."""
    return _service(settings).processes("--port", str(settings.embedded_port))


def _recorded_pid(settings: Settings) -> int | None:
    return _service(settings).recorded_pid(port=settings.embedded_port)


# ---------------------------------------------------------------- public API


def status(settings: Settings) -> ModelServerInfo | None:
    """The healthy embedded server at host:port (whoever started it), else None."""
    model = _served_model(settings)
    if model is None:
        return None
    pid = _recorded_pid(settings)
    if pid is None:
        found = _server_pids_on_port(settings)
        pid = found[0] if len(found) == 1 else None
    return ModelServerInfo(base_url(settings), pid, model)


def _check_reusable(settings: Settings, info: ModelServerInfo) -> ModelServerInfo:
    if info.model != settings.embedded_model:
        raise ServerError(
            f"a model server with {info.model!r} is already running at {info.url}, "
            f"but {settings.embedded_model!r} is wanted; run `structurer model stop` first"
        )
    return info


def _stale_config(settings: Settings) -> list[int]:
    """Our servers on this port started with other settings (see server_config)."""
    ours = _server_pids_on_port(settings)
    current = set(_service(settings).processes("--config-id", config_id(settings)))
    return [pid for pid in ours if pid not in current]


def serve(settings: Settings, timeout: float = 600.0) -> ModelServerInfo:
    """Reuse the healthy server at host:port, or start one and wait until it is healthy. A server
    of ours started with other settings (threads, slots, speculation...) is restarted; a foreign
    llama.cpp server is reused as it is."""
    running = status(settings)
    if running is not None and not _stale_config(settings):
        return _check_reusable(settings, running)
    service = _service(settings)
    with service.lock(timeout):
        running = status(settings)  # another process may have started it while we waited
        if running is not None:
            _check_reusable(settings, running)
        stale = _stale_config(settings)  # healthy or still starting
        if stale:
            service.stop(stale)
            _wait_port_free(settings)
        elif running is not None:
            return running
        pid = _recorded_pid(settings)
        if pid is None:
            ours = _server_pids_on_port(settings)  # e.g. from another data_dir
            pid = ours[0] if len(ours) == 1 else None
        if pid is None:
            if port_in_use(settings.embedded_host, settings.embedded_port):
                raise ServerError(
                    f"port {settings.embedded_port} on {settings.embedded_host} is in use by "
                    "another program (not a structurer model server); free it or set "
                    "STRUCTURER_EMBEDDED_PORT to a free port"
                )
            pid = _spawn(settings, service)

        def ready() -> ModelServerInfo | None:
            model = _served_model(settings)
            return None if model is None else ModelServerInfo(base_url(settings), pid, model)

        return _check_reusable(settings, service.wait_ready(pid, ready, timeout))


def _wait_port_free(settings: Settings, seconds: float = 15.0) -> None:
    """After stopping a server: the port is released once its last process has closed it."""
    deadline = time.monotonic() + seconds
    while port_in_use(settings.embedded_host, settings.embedded_port):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)


def _launcher() -> list[str]:
    return [sys.executable, "-m", PROCESS_MARKER]


def _spawn(settings: Settings, service: Service) -> int:
    model_file = ensure_weights(settings)
    draft_file = None
    if settings.embedded_speculative == "draft":
        draft_file = ensure_weights(settings, settings.embedded_draft_model)
    return service.spawn(
        [*_launcher(), *server_args(settings, model_file, draft_file)],
        fresh_log=True,
        model=settings.embedded_model,
        host=settings.embedded_host,
        port=settings.embedded_port,
        config=server_config(settings),
    )


def ensure_running(settings: Settings, timeout: float = 600.0) -> str:
    """OpenAI base URL of a healthy embedded server, starting one if needed."""
    return serve(settings, timeout).url


def stop(settings: Settings) -> list[int]:
    """SIGKILL the embedded server on host:port (and only ours); return the pids killed."""
    pids = set(_server_pids_on_port(settings))
    recorded = _recorded_pid(settings)
    if recorded is not None:
        pids.add(recorded)
    return _service(settings).stop(pids)
