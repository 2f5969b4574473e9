"""The service helper under the model server and Label Studio, with real detached processes."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from structurer.service import Service, port_in_use

# A toy server: answers HTTP on --port; --ignore-term makes it shrug off SIGTERM, --fail exits
# at once with a message in its log.
TOY = textwrap.dedent(
    """
    import argparse, http.server, signal, sys
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ignore-term", action="store_true")
    ap.add_argument("--fail", action="store_true")
    args = ap.parse_args()
    if args.fail:
        print("toy: cannot load the widget", flush=True)
        sys.exit(3)
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("toy: up", flush=True)
    http.server.ThreadingHTTPServer(
        ("127.0.0.1", args.port), http.server.SimpleHTTPRequestHandler
    ).serve_forever()
    """
)


class ToyError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def toy(tmp_path: Path) -> Service:
    script = tmp_path / "toy_server.py"
    script.write_text(TOY)
    return Service(
        name="toy server",
        pid_file=tmp_path / "run" / "toy.pid",
        log_file=tmp_path / "run" / "toy.log",
        lock_file=tmp_path / "run" / "toy.lock",
        marker=str(script),
        error=ToyError,
        term_grace=5.0,
        log_tail=3,
    )


def answers(port: int) -> str | None:
    try:
        return "up" if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code else None
    except httpx.HTTPError:
        return None


def start(toy: Service, port: int, *extra: str) -> int:
    return toy.spawn([sys.executable, toy.marker, "--port", str(port), *extra], port=port)


def test_spawn_wait_find_and_stop(toy: Service) -> None:
    port = free_port()
    pid = start(toy, port)
    try:
        assert toy.wait_ready(pid, lambda: answers(port), timeout=30) == "up"
        record = json.loads(toy.pid_file.read_text())
        assert record["pid"] == pid and record["port"] == port
        assert toy.recorded_pid(port=port) == pid
        assert toy.recorded_pid(port=port + 1) is None  # a record for another port is stale
        assert not toy.pid_file.exists()
        assert toy.processes("--port", str(port)) == [pid]
        assert toy.processes("--port", str(port + 1)) == []
        assert os.getpgid(pid) == pid  # detached: it leads its own session
        assert port_in_use("127.0.0.1", port)
    finally:
        assert toy.stop([pid]) == [pid]
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    assert answers(port) is None
    assert toy.stop([pid]) == []


def test_sigterm_ignored_means_sigkill_after_the_grace(toy: Service) -> None:
    port = free_port()
    quick = dataclasses.replace(toy, term_grace=0.5)
    pid = start(quick, port, "--ignore-term")
    quick.wait_ready(pid, lambda: answers(port), timeout=30)
    t0 = time.monotonic()
    assert quick.stop([pid]) == [pid]
    assert time.monotonic() - t0 >= 0.5
    assert not Path(f"/proc/{pid}").exists()


def test_exit_during_start_up_is_an_error_with_the_log(toy: Service) -> None:
    pid = start(toy, free_port(), "--fail")
    with pytest.raises(ToyError, match="toy server .* exited during start-up") as caught:
        toy.wait_ready(pid, lambda: None, timeout=30)
    assert "toy: cannot load the widget" in str(caught.value)
    assert not toy.pid_file.exists()


def test_not_ready_in_time_is_stopped_when_asked(toy: Service) -> None:
    pid = start(toy, free_port())
    with pytest.raises(ToyError, match=r"not ready after 1s; stopped"):
        toy.wait_ready(pid, lambda: None, timeout=1, stop_on_timeout=True)
    assert not Path(f"/proc/{pid}").exists()


def test_never_signals_a_process_that_is_not_ours(toy: Service) -> None:
    toy.pid_file.parent.mkdir(parents=True)
    toy.pid_file.write_text(f"{os.getpid()}\n")  # the older bare-pid format, and not a toy
    assert toy.record() == {"pid": os.getpid()}
    assert toy.recorded_pid() is None
    assert not toy.pid_file.exists()
    assert toy.stop([os.getpid()]) == []
    with pytest.raises(ValueError, match="must be in argv"):
        toy.spawn([sys.executable, "-c", "pass"])


def test_one_starter_at_a_time(toy: Service) -> None:
    toy.lock_file.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock\n"
            f"with FileLock({str(toy.lock_file)!r}):\n"
            "    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(ToyError, match="another process has been starting the toy server"),
            toy.lock(timeout=0.5),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with toy.lock(timeout=5):  # released when its holder died
        pass


def test_port_in_use() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        assert port_in_use("127.0.0.1", port)  # bound, not even listening
    assert not port_in_use("127.0.0.1", port)
