"""Local servers run as detached processes: the embedded model server and Label Studio.

A `Service` names one server instance's pid file, log and start lock, and the argv element that
marks its processes in /proc/<pid>/cmdline (a process without it is never signalled). It spawns the
server in its own session (it outlives the command that started it, Ctrl-C does not reach it),
waits until a readiness check answers, and stops it: SIGTERM, then SIGKILL. Linux only (/proc).
Imports nothing of the project.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from filelock import FileLock, Timeout

T = TypeVar("T")

# Servers started by this process, so that waiting and stopping reap them (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}

KILL_WAIT = 10.0  # seconds a process gets to disappear after SIGKILL


@dataclass(frozen=True)
class ServerInfo:
    """A running server: the URL it answers at and its process (None when it cannot be told)."""

    url: str
    pid: int | None


@dataclass(frozen=True)
class Service:
    name: str  # in messages: "model server", "Label Studio"
    pid_file: Path
    log_file: Path
    lock_file: Path
    marker: str  # an argv element every process of this server has
    error: type[Exception] = RuntimeError  # raised (one message) when something fails
    term_grace: float = 15.0  # seconds from SIGTERM to SIGKILL; 0: SIGKILL at once
    log_tail: int = 0  # log lines quoted in a start-up error

    # ------------------------------------------------------------ pid file and processes

    def record(self) -> dict[str, object] | None:
        """The pid file's contents: {"pid": ..., and what spawn() was told to record}."""
        try:
            data = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        if isinstance(data, int):  # older pid files held the bare pid
            data = {"pid": data}
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None

    def recorded_pid(self, **expect: object) -> int | None:
        """The pid file's pid if that process is alive and ours (and the record has the `expect`
        values); a stale pid file is removed."""
        data = self.record()
        if data is not None:
            pid = int(str(data["pid"]))
            if all(data.get(k) == v for k, v in expect.items()) and self.is_ours(pid):
                return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def is_ours(self, pid: int) -> bool:
        """Alive (not a zombie) and carrying the marker."""
        argv = _argv(pid)
        return argv is not None and self.marker in argv and _alive(pid)

    def processes(self, *args: str) -> list[int]:
        """Our live processes (from any data dir) whose argv also holds `args` in a row."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            argv = _argv(int(entry.name))
            if argv and self.marker in argv and _holds(argv, args) and _alive(int(entry.name)):
                found.append(int(entry.name))
        return sorted(found)

    # ------------------------------------------------------------ start

    @contextlib.contextmanager
    def lock(self, timeout: float = -1) -> Iterator[None]:
        """One starter at a time across processes (timeout < 0: wait as long as it takes)."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.lock_file, timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise self.error(
                f"another process has been starting the {self.name} for {timeout:.0f}s; "
                f"see {self.log_file}"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def spawn(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        fresh_log: bool = False,
        **record: object,
    ) -> int:
        """Start the server detached, its output in the log (fresh_log: the old one becomes .1),
        and record its pid (with `record`) in the pid file."""
        if self.marker not in argv:
            raise ValueError(
                f"{self.name}: {self.marker!r} must be in argv, else it cannot be stopped"
            )
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        if fresh_log and self.log_file.exists():
            self.log_file.replace(self.log_file.with_name(self.log_file.name + ".1"))
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                list(argv),
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        _children[process.pid] = process
        tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
        tmp.write_text(json.dumps({"pid": process.pid, **record, "started_at": time.time()}))
        tmp.replace(self.pid_file)
        return process.pid

    def wait_ready(
        self,
        pid: int,
        ready: Callable[[], T | None],
        timeout: float,
        *,
        stop_on_timeout: bool = False,
        interval: float = 0.25,
    ) -> T:
        """Poll `ready` until it returns a value; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = ready()
            if result is not None:
                return result
            if _exited(pid):
                self.pid_file.unlink(missing_ok=True)
                raise self.error(
                    f"{self.name} (pid {pid}) exited during start-up; see {self.log_file}"
                    + self._tail()
                )
            time.sleep(interval)
        if stop_on_timeout:
            self.stop([pid])
        raise self.error(
            f"{self.name} (pid {pid}) not ready after {timeout:.0f}s; "
            f"{'stopped' if stop_on_timeout else 'still running'}; see {self.log_file}"
            + self._tail()
        )

    def _tail(self) -> str:
        if self.log_tail <= 0:
            return ""
        try:
            lines = self.log_file.read_text(errors="replace").rstrip().splitlines()
        except OSError:
            return ":\n(no log)"
        return ":\n" + "\n".join(lines[-self.log_tail :])

    # ------------------------------------------------------------ stop

    def stop(self, pids: Iterable[int]) -> list[int]:
        """Stop these processes of ours (SIGTERM, then SIGKILL after term_grace) and remove the
        pid file. Returns the pids that were signalled."""
        stopped = []
        for pid in sorted(set(pids)):
            if self.is_ours(pid) or pid in _children:
                self._terminate(pid)
                stopped.append(pid)
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def _terminate(self, pid: int) -> None:
        steps = [(signal.SIGTERM, self.term_grace)] if self.term_grace > 0 else []
        for sig, wait in [*steps, (signal.SIGKILL, KILL_WAIT)]:
            try:
                _signal(pid, sig)
            except ProcessLookupError:
                _exited(pid)  # reap it if it was our child
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if _exited(pid):
                    return
                time.sleep(0.05)
        raise self.error(f"{self.name} pid {pid} survived SIGKILL for {KILL_WAIT:.0f}s")


def port_in_use(host: str, port: int) -> bool:
    """Something answers at host:port, or the port cannot be bound there."""
    try:
        with socket.create_connection((host, port), 1.0):
            return True
    except OSError:
        pass
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _argv(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


def _holds(argv: list[str], args: Sequence[str]) -> bool:
    n = len(args)
    return n == 0 or any(argv[i : i + n] == list(args) for i in range(len(argv) - n + 1))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _exited(pid: int) -> bool:
    child = _children.get(pid)
    if child is None:
        return not _alive(pid)
    if child.poll() is None:
        return False
    del _children[pid]
    return True


def _signal(pid: int, sig: int) -> None:
    """The whole process group when the server leads it (it was spawned in its own session)."""
    if os.getpgid(pid) == pid:
        os.killpg(pid, sig)
    else:
        os.kill(pid, sig)
