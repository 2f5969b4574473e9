"""A real PostgreSQL server for tests, started from Debian's postgresql package.

initdb into a fresh directory (as the `postgres` user via runuser when we are root: the server
refuses to run as root), pg_ctl start on a free port on 127.0.0.1, one database per test.
Missing binaries skip the test, or FAIL it when STRUCTURER_REQUIRE_SERVICES=1.
Install the binaries with scripts/install_test_services.sh.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def require_services() -> bool:
    return os.environ.get("STRUCTURER_REQUIRE_SERVICES") == "1"


def missing_service(reason: str) -> None:
    """Skip, or fail when the services are required (CI)."""
    if require_services():
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def pg_bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bindir: Path
    datadir: Path
    port: int
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], check=check, capture_output=True, text=True, timeout=120
        )

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )
        return self.url(name)

    def stop(self) -> None:
        self.run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-m",
            "immediate",
            "stop",
            check=False,
        )


def start_postgres() -> Iterator[PgServer]:
    bindir = pg_bindir()
    if bindir is None:
        missing_service("PostgreSQL binaries not installed (scripts/install_test_services.sh)")
        return
    as_user: list[str] = []
    root = tempfile.mkdtemp(prefix="structurer-pg-")
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            missing_service("running as root without runuser")
            return
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    datadir = Path(root) / "data"
    server = PgServer(bindir, datadir, free_port(), as_user)
    try:
        server.run(
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c max_connections=200"
        server.run(
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-o",
            options,
            "-l",
            f"{root}/log",
            "-w",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        log = Path(root, "log")
        detail = log.read_text()[-2000:] if log.exists() else ""
        pytest.fail(f"PostgreSQL did not start: {exc.stderr}\n{detail}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    yield from start_postgres()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the test server."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's database, once on SQLite and once on a fresh PostgreSQL database."""
    from structurer.store.session import dispose_engines

    if request.param == "postgres":
        yield request.getfixturevalue("pg_url")
    else:
        yield f"sqlite:///{tmp_path / 'data' / 'structurer.db'}"
    dispose_engines()
