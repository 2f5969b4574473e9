"""A real Label Studio server one command away: install, start, reuse, stop.

Label Studio pins openai<2, which conflicts with our own dependencies, so it lives in its
own virtualenv under ``<data_dir>/labelstudio/venv``. Everything else sits beside it:

    <data_dir>/labelstudio/
        venv/                 the server's virtualenv (label-studio==LABEL_STUDIO_VERSION)
        template-<version>/   a pristine migrated data dir; copies start in seconds
        data/                 the served instance (SQLite + media)
        credentials.json      url, admin user, password, API token (mode 0600)
        server.pid, server.log

The admin user gets a legacy API token (``Authorization: Token ...``), enabled when the
organisation is first created; the SDK sends non-JWT keys that way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from structurer.settings import Settings

LABEL_STUDIO_VERSION = "1.23.2"
DEFAULT_PORT = 8089
HOST = "127.0.0.1"
ADMIN_USERNAME = "admin@structurer.local"
START_TIMEOUT = 180.0

Echo = Callable[[str], None]


class ReviewServerError(RuntimeError):
    """The review server could not be installed, started, reached or used. One line, no secrets."""


@dataclass(frozen=True)
class ServerInfo:
    url: str
    username: str
    password: str
    token: str
    pid: int | None = None

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return f"ServerInfo(url={self.url!r}, username={self.username!r}, pid={self.pid})"


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        return cls(Path(settings.data_dir).expanduser() / "labelstudio")

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "label-studio"

    @property
    def marker(self) -> Path:
        return self.venv / ".structurer-installed"

    @property
    def template(self) -> Path:
        return self.root / f"template-{LABEL_STUDIO_VERSION}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.json"

    @property
    def pid_file(self) -> Path:
        return self.root / "server.pid"

    @property
    def log(self) -> Path:
        return self.root / "server.log"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(paths: Paths) -> Iterator[None]:
    """One installer/starter at a time per data dir."""
    paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(paths.root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- install -------------------------------------------------------------------------------


def ensure_installed(settings: Settings, echo: Echo = _stderr) -> Path:
    """Install label-studio into its own virtualenv on first use. Idempotent."""
    paths = Paths.of(settings)
    with _locked(paths):
        return _install(paths, echo)


def _install(paths: Paths, echo: Echo) -> Path:
    if paths.marker.is_file() and paths.marker.read_text().strip() == LABEL_STUDIO_VERSION:
        return paths.venv
    if paths.venv.exists():
        shutil.rmtree(paths.venv)
    echo(
        f"Installing Label Studio {LABEL_STUDIO_VERSION} into {paths.venv} (first use, a few minutes)..."
    )
    started = time.monotonic()
    log = paths.root / "install.log"
    with open(log, "w") as out:
        steps = [
            [sys.executable, "-m", "venv", str(paths.venv)],
            [
                str(paths.venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                f"label-studio=={LABEL_STUDIO_VERSION}",
            ],
        ]
        for step in steps:
            if subprocess.run(
                step, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            ).returncode:
                raise ReviewServerError(f"installing Label Studio failed; see {log}")
    paths.marker.write_text(LABEL_STUDIO_VERSION + "\n")
    echo(f"Label Studio installed in {time.monotonic() - started:.0f}s.")
    return paths.venv


def _server_env(paths: Paths, data: Path, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of ours (USERNAME, DATABASE_URL, HOST, PORT...) leaks in."""
    env = {
        key: os.environ[key]
        for key in ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
        if key in os.environ
    }
    env.update(
        PATH=f"{paths.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        LABEL_STUDIO_BASE_DATA_DIR=str(data),
        DJANGO_DB="sqlite",
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        LATEST_VERSION_CHECK="false",
        SSRF_PROTECTION_ENABLED="false",
        DISABLE_SIGNUP_WITHOUT_LINK="true",
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _run_label_studio(paths: Paths, data: Path, args: list[str], log: Path, **env: str) -> None:
    with open(log, "a") as out:
        code = subprocess.run(
            [str(paths.executable), *args],
            env=_server_env(paths, data, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        ).returncode
    if code:
        raise ReviewServerError(f"label-studio {args[0]} failed (exit {code}); see {log}")


def ensure_template(settings: Settings, echo: Echo = _stderr) -> Path:
    """A migrated, user-less data dir to copy from. The migrations run once (about a minute)."""
    paths = Paths.of(settings)
    with _locked(paths):
        _install(paths, echo)
        return _template(paths, echo)


def _template(paths: Paths, echo: Echo) -> Path:
    if (paths.template / "label_studio.sqlite3").is_file():
        return paths.template
    building = paths.root / f".template-building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    echo("Preparing the Label Studio database (first time only, about a minute)...")
    started = time.monotonic()
    _run_label_studio(paths, building, ["init", "-q"], paths.root / "template.log")
    (building / ".env").unlink(missing_ok=True)  # holds a SECRET_KEY: each copy makes its own
    building.rename(paths.template)
    echo(f"Database prepared in {time.monotonic() - started:.0f}s.")
    return paths.template


def _create_instance(paths: Paths, echo: Echo) -> ServerInfo:
    """Copy the template into data/ and create the admin user with a fresh token."""
    template = _template(paths, echo)
    shutil.rmtree(paths.data, ignore_errors=True)
    shutil.copytree(template, paths.data)
    info = ServerInfo(
        url="",
        username=ADMIN_USERNAME,
        password=secrets.token_urlsafe(18),
        token=secrets.token_hex(20),
    )
    echo("Creating the admin user and API token...")
    # Secrets go through the environment, not argv: argv is visible to everyone in `ps`.
    _run_label_studio(
        paths,
        paths.data,
        ["init", "-q", "--enable-legacy-api-token"],
        paths.log,
        LABEL_STUDIO_USERNAME=info.username,
        LABEL_STUDIO_PASSWORD=info.password,
        LABEL_STUDIO_USER_TOKEN=info.token,
    )
    _save_credentials(paths, info)
    return info


# --- credentials and pid -------------------------------------------------------------------


def _save_credentials(paths: Paths, info: ServerInfo) -> None:
    tmp = paths.credentials.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({k: v for k, v in asdict(info).items() if k != "pid"}, handle)
    os.chmod(tmp, 0o600)
    tmp.replace(paths.credentials)


def load_credentials(settings: Settings) -> ServerInfo | None:
    """The credentials of our own served instance, if it was ever set up."""
    path = Paths.of(settings).credentials
    try:
        raw = json.loads(path.read_text())
        return ServerInfo(
            url=raw["url"], username=raw["username"], password=raw["password"], token=raw["token"]
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ReviewServerError(f"unreadable Label Studio credentials file {path}") from exc


def _read_pid(paths: Paths) -> int | None:
    """The pid in server.pid if that process is alive and is our label-studio."""
    try:
        pid = int(paths.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid if str(paths.executable).encode() in cmdline else None


# --- start / stop / status -----------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex((HOST, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _is_ours(url: str, info: ServerInfo) -> bool:
    """Healthy, and answering our token with our user: not some other server on that port."""
    try:
        health = httpx.get(f"{url}/health", timeout=3)
        if health.status_code != 200 or health.json().get("status") != "UP":
            return False
        me = httpx.get(
            f"{url}/api/current-user/whoami",
            timeout=5,
            headers={"Authorization": f"Token {info.token}"},
        )
        return me.status_code == 200 and me.json().get("email") == info.username
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def status(settings: Settings) -> ServerInfo | None:
    """The running instance (with credentials), or None when it is not running."""
    paths = Paths.of(settings)
    pid = _read_pid(paths)
    info = load_credentials(settings)
    if pid is None or info is None or not info.url or not _is_ours(info.url, info):
        return None
    return ServerInfo(info.url, info.username, info.password, info.token, pid)


def serve(settings: Settings, port: int = DEFAULT_PORT, echo: Echo = _stderr) -> ServerInfo:
    """Start our Label Studio (installing it first if needed), or reuse the running one."""
    paths = Paths.of(settings)
    with _locked(paths):
        running = status(settings)
        if running is not None:
            if not running.url.endswith(f":{port}"):
                echo(f"Label Studio is already running at {running.url}; reusing it.")
            return running
        stale = _read_pid(paths)
        if stale is not None:
            raise ReviewServerError(
                f"Label Studio (pid {stale}) is running but not answering as ours; "
                "stop it with `structurer review serve --stop`"
            )
        if not _port_is_free(port):
            raise ReviewServerError(
                f"port {port} on {HOST} is already in use; choose another with --port"
            )
        _install(paths, echo)
        info = load_credentials(settings)
        if info is None or not (paths.data / "label_studio.sqlite3").is_file():
            info = _create_instance(paths, echo)
        url = f"http://{HOST}:{port}"
        info = ServerInfo(url, info.username, info.password, info.token)
        _save_credentials(paths, info)
        pid = _start(paths, port, echo)
        _wait_until_up(paths, pid, info)
        return ServerInfo(url, info.username, info.password, info.token, pid)


def _start(paths: Paths, port: int, echo: Echo) -> int:
    echo(f"Starting Label Studio on http://{HOST}:{port} (log: {paths.log})...")
    with open(paths.log, "a") as out:
        process = subprocess.Popen(
            [
                str(paths.executable),
                "start",
                "--internal-host",
                HOST,
                "--port",
                str(port),
                "--host",
                f"http://{HOST}:{port}",
                "--no-browser",
            ],
            env=_server_env(paths, paths.data),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # detached: survives the command that started it
        )
    paths.pid_file.write_text(f"{process.pid}\n")
    return process.pid


def _wait_until_up(paths: Paths, pid: int, info: ServerInfo) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _exited(pid):  # not _read_pid: /proc/<pid>/cmdline is empty for a moment after spawn
            paths.pid_file.unlink(missing_ok=True)
            raise ReviewServerError(f"Label Studio exited while starting; see {paths.log}")
        if _is_ours(info.url, info):
            return
        time.sleep(0.3)
    _terminate(pid)
    paths.pid_file.unlink(missing_ok=True)
    raise ReviewServerError(
        f"Label Studio did not answer at {info.url} within {START_TIMEOUT:.0f}s; see {paths.log}"
    )


def _exited(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        return finished == pid
    except ChildProcessError:
        return not Path(f"/proc/{pid}").exists()


def _terminate(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the server's process group (it leads its own session), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if _exited(pid):
                return
            time.sleep(0.1)


def stop(settings: Settings) -> bool:
    """Stop our running server. True if one was running."""
    paths = Paths.of(settings)
    pid = _read_pid(paths)
    paths.pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    _terminate(pid)
    return True
