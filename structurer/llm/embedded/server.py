"""Start, find and stop the embedded model server (llama.cpp via xllamacpp, OpenAI-compatible).

The server runs in a detached process (`python -m structurer.llm.embedded.serve_main`), so it outlives
the command that started it and is shared by every process using the same host:port. Its pid
file and log live under `<data_dir>/run/`. The server needs no API key (any string works with
the openai client), reports the embedded model name (e.g. "qwen2.5-coder-1.5b") as its model
id, enforces `response_format` JSON schemas by constrained decoding and returns logprobs when
asked (`logprobs=True, top_logprobs=k`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from structurer.llm.embedded.serve_main import PROCESS_MARKER
from structurer.llm.embedded.weights import ensure_weights
from structurer.settings import Settings

# Popen objects of servers started by this process, so that stop() can reap them (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


class ServerError(RuntimeError):
    """The embedded model server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    base_url: str  # OpenAI base URL, e.g. http://127.0.0.1:18080/v1
    pid: int | None  # None when the server was started from another data_dir
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


def threads(settings: Settings) -> int:
    # One core is left free: llama.cpp's threads busy-wait, and on a small machine anything else
    # running (the pipeline, a database, the tests) made decoding 10-20x slower with every core
    # taken (bench/embedded_model.md).
    return settings.embedded_threads or max(1, len(os.sched_getaffinity(0)) - 1)


# ---------------------------------------------------------------- probing


def _port_open(settings: Settings) -> bool:
    try:
        with socket.create_connection((settings.embedded_host, settings.embedded_port), 1.0):
            return True
    except OSError:
        return False


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


# ---------------------------------------------------------------- processes and pid file


def _read_pid_file(settings: Settings) -> dict[str, object] | None:
    try:
        data = json.loads(pid_path(settings).read_text())
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def _is_server_process(pid: int) -> bool:
    """True if pid is alive (not a zombie) and is an embedded model server process."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and PROCESS_MARKER.encode() in cmdline


def _server_pids_on_port(port: int) -> list[int]:
    """Embedded server processes started for this port (from any data_dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if PROCESS_MARKER.encode() in args and b"--port" in args:
            i = args.index(b"--port")
            if i + 1 < len(args) and args[i + 1] == str(port).encode():
                pids.append(int(entry.name))
    return [p for p in pids if _is_server_process(p)]


def _recorded_pid(settings: Settings) -> int | None:
    """Pid from the pid file if that process is still our server on this port; cleans stale files."""
    data = _read_pid_file(settings)
    if data is None:
        pid_path(settings).unlink(missing_ok=True)
        return None
    pid = int(str(data["pid"]))
    if data.get("port") == settings.embedded_port and _is_server_process(pid):
        return pid
    pid_path(settings).unlink(missing_ok=True)  # stale
    return None


def _kill(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)  # llama.cpp's server ignores SIGTERM
    child = _children.pop(pid, None)
    if child is not None:
        child.wait(timeout)
        return
    deadline = time.monotonic() + timeout
    while _is_server_process(pid):
        if time.monotonic() > deadline:
            raise ServerError(f"model server pid {pid} survived SIGKILL for {timeout:.0f}s")
        time.sleep(0.05)


@contextlib.contextmanager
def _start_lock(settings: Settings, timeout: float) -> Iterator[None]:
    """Serialise starts across processes sharing a data_dir and port."""
    run_dir(settings).mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with _run_file(settings, "lock").open("w") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"another process has been starting the model server for {timeout:.0f}s; "
                        f"see {log_path(settings)}"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _log_tail(settings: Settings, lines: int = 15) -> str:
    try:
        text = log_path(settings).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ---------------------------------------------------------------- public API


def status(settings: Settings) -> ServerInfo | None:
    """The healthy embedded server at host:port (whoever started it), else None."""
    model = _served_model(settings)
    if model is None:
        return None
    pid = _recorded_pid(settings)
    if pid is None:
        found = _server_pids_on_port(settings.embedded_port)
        pid = found[0] if len(found) == 1 else None
    return ServerInfo(base_url(settings), pid, model)


def _check_reusable(settings: Settings, info: ServerInfo) -> ServerInfo:
    if info.model != settings.embedded_model:
        raise ServerError(
            f"a model server with {info.model!r} is already running at {info.base_url}, "
            f"but {settings.embedded_model!r} is wanted; run `structurer model stop` first"
        )
    return info


def serve(settings: Settings, timeout: float = 600.0) -> ServerInfo:
    """Reuse the healthy server at host:port, or start one and wait until it is healthy."""
    running = status(settings)
    if running is not None:
        return _check_reusable(settings, running)
    with _start_lock(settings, timeout):
        running = status(settings)  # another process may have started it while we waited
        if running is not None:
            return _check_reusable(settings, running)
        pid = _recorded_pid(settings)
        if pid is None:
            ours = _server_pids_on_port(settings.embedded_port)  # e.g. from another data_dir
            pid = ours[0] if len(ours) == 1 else None
        if pid is None:
            if _port_open(settings):
                raise ServerError(
                    f"port {settings.embedded_port} on {settings.embedded_host} is in use by "
                    "another program (not a structurer model server); free it or set "
                    "STRUCTURER_EMBEDDED_PORT to a free port"
                )
            pid = _spawn(settings)
        return _wait_healthy(settings, pid, timeout)


def _spawn(settings: Settings) -> int:
    model_file = ensure_weights(settings)
    log = log_path(settings)
    if log.exists():
        log.replace(log.with_name(log.name + ".1"))
    cmd = [
        sys.executable,
        "-m",
        PROCESS_MARKER,
        "--model",
        str(model_file),
        "--alias",
        settings.embedded_model,
        "--host",
        settings.embedded_host,
        "--port",
        str(settings.embedded_port),
        "--ctx",
        str(settings.embedded_ctx),
        "--threads",
        str(threads(settings)),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: survives the caller, no Ctrl-C propagation
            close_fds=True,
        )
    _children[proc.pid] = proc
    record = {
        "pid": proc.pid,
        "model": settings.embedded_model,
        "host": settings.embedded_host,
        "port": settings.embedded_port,
        "started_at": time.time(),
    }
    tmp = pid_path(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(pid_path(settings))
    return proc.pid


def _wait_healthy(settings: Settings, pid: int, timeout: float) -> ServerInfo:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = _served_model(settings)
        if model is not None:
            return _check_reusable(settings, ServerInfo(base_url(settings), pid, model))
        child = _children.get(pid)
        dead = child.poll() is not None if child is not None else not _is_server_process(pid)
        if dead:
            _children.pop(pid, None)
            pid_path(settings).unlink(missing_ok=True)
            raise ServerError(
                f"model server (pid {pid}) exited during start-up; log {log_path(settings)}:\n"
                + _log_tail(settings)
            )
        time.sleep(0.25)
    raise ServerError(
        f"model server (pid {pid}) not healthy after {timeout:.0f}s; still running; "
        f"log {log_path(settings)}:\n" + _log_tail(settings)
    )


def ensure_running(settings: Settings, timeout: float = 600.0) -> str:
    """OpenAI base URL of a healthy embedded server, starting one if needed."""
    return serve(settings, timeout).base_url


def stop(settings: Settings) -> list[int]:
    """SIGKILL the embedded server on host:port (and only ours); return the pids killed."""
    pids = set(_server_pids_on_port(settings.embedded_port))
    recorded = _recorded_pid(settings)
    if recorded is not None:
        pids.add(recorded)
    for pid in sorted(pids):
        _kill(pid)
    pid_path(settings).unlink(missing_ok=True)
    return sorted(pids)
