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
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from structurer.service import ServerInfo, Service, port_in_use
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
class LabelStudioInfo(ServerInfo):
    """Our Label Studio and its admin credentials (`pid` None: known from the credentials file
    only, not seen running)."""

    username: str
    password: str
    token: str

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return f"LabelStudioInfo(url={self.url!r}, username={self.username!r}, pid={self.pid})"

    def at(self, url: str, pid: int | None = None) -> LabelStudioInfo:
        return LabelStudioInfo(url, pid, self.username, self.password, self.token)


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


def _service(paths: Paths) -> Service:
    return Service(
        name="Label Studio",
        pid_file=paths.pid_file,
        log_file=paths.log,
        lock_file=paths.root / ".lock",
        marker=str(paths.executable),
        error=ReviewServerError,
        term_grace=15.0,
    )


@contextlib.contextmanager
def _locked(paths: Paths) -> Iterator[None]:
    """One installer/starter at a time per data dir."""
    paths.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _service(paths).lock():
        yield


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


def _create_instance(paths: Paths, echo: Echo) -> LabelStudioInfo:
    """Copy the template into data/ and create the admin user with a fresh token."""
    template = _template(paths, echo)
    shutil.rmtree(paths.data, ignore_errors=True)
    shutil.copytree(template, paths.data)
    info = LabelStudioInfo(
        url="",
        pid=None,
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


def _save_credentials(paths: Paths, info: LabelStudioInfo) -> None:
    tmp = paths.credentials.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {
                "url": info.url,
                "username": info.username,
                "password": info.password,
                "token": info.token,
            },
            handle,
        )
    os.chmod(tmp, 0o600)
    tmp.replace(paths.credentials)


def load_credentials(settings: Settings) -> LabelStudioInfo | None:
    """The credentials of our own served instance, if it was ever set up."""
    path = Paths.of(settings).credentials
    try:
        raw = json.loads(path.read_text())
        return LabelStudioInfo(
            url=raw["url"],
            pid=None,
            username=raw["username"],
            password=raw["password"],
            token=raw["token"],
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ReviewServerError(f"unreadable Label Studio credentials file {path}") from exc


# --- start / stop / status -----------------------------------------------------------------


def _is_ours(url: str, info: LabelStudioInfo) -> bool:
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


def status(settings: Settings) -> LabelStudioInfo | None:
    """The running instance (with credentials), or None when it is not running."""
    pid = _service(Paths.of(settings)).recorded_pid()
    info = load_credentials(settings)
    if pid is None or info is None or not info.url or not _is_ours(info.url, info):
        return None
    return info.at(info.url, pid)


def serve(settings: Settings, port: int = DEFAULT_PORT, echo: Echo = _stderr) -> LabelStudioInfo:
    """Start our Label Studio (installing it first if needed), or reuse the running one."""
    paths = Paths.of(settings)
    with _locked(paths):
        running = status(settings)
        if running is not None:
            if not running.url.endswith(f":{port}"):
                echo(f"Label Studio is already running at {running.url}; reusing it.")
            return running
        stale = _service(paths).recorded_pid()
        if stale is not None:
            raise ReviewServerError(
                f"Label Studio (pid {stale}) is running but not answering as ours; "
                "stop it with `structurer review serve --stop`"
            )
        if port_in_use(HOST, port):
            raise ReviewServerError(
                f"port {port} on {HOST} is already in use; choose another with --port"
            )
        _install(paths, echo)
        info = load_credentials(settings)
        if info is None or not (paths.data / "label_studio.sqlite3").is_file():
            info = _create_instance(paths, echo)
        url = f"http://{HOST}:{port}"
        info = info.at(url)
        _save_credentials(paths, info)
        pid = _start(paths, port, echo)
        _service(paths).wait_ready(
            pid, lambda: _is_ours(url, info) or None, START_TIMEOUT, stop_on_timeout=True
        )
        return info.at(url, pid)


def _start(paths: Paths, port: int, echo: Echo) -> int:
    echo(f"Starting Label Studio on http://{HOST}:{port} (log: {paths.log})...")
    return _service(paths).spawn(
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
        port=port,
    )


def stop(settings: Settings) -> bool:
    """Stop our running server. True if one was running."""
    service = _service(Paths.of(settings))
    pid = service.recorded_pid()
    return bool(service.stop([] if pid is None else [pid]))
