"""A throwaway real Label Studio server for tests.

Register it once in tests/conftest.py with ``pytest_plugins = ["tests.labelstudio_fixture"]``
so that every module shares one server (a module that imports ``label_studio`` instead gets its
own). The fixture is session-scoped: one server on a free port, started from a copy of the
migrated template of the shared install under the default data dir
(``scripts/install_label_studio.sh`` pre-installs it; else the first use installs it).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from structurer.review.server import Paths, ensure_template, serve, stop
from structurer.settings import Settings

SERVER_VARS = (
    "LABEL_STUDIO_URL",
    "LABEL_STUDIO_API_KEY",
    "STRUCTURER_LABEL_STUDIO_URL",
    "STRUCTURER_LABEL_STUDIO_API_KEY",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shared_settings() -> Settings:
    """Where the server venv and template are installed once for all tests."""
    return Settings(label_studio_url=None, label_studio_api_key=None)


def throwaway_settings(data_dir: Path) -> Settings:
    """Settings for a private instance in ``data_dir`` that reuses the shared install."""
    shared = Paths.of(shared_settings())
    ensure_template(shared_settings())
    own = Paths.of(Settings(data_dir=data_dir))
    own.root.mkdir(parents=True, exist_ok=True)
    for name in (shared.venv.name, shared.template.name):
        if not (own.root / name).exists():
            (own.root / name).symlink_to(shared.root / name, target_is_directory=True)
    return Settings(data_dir=data_dir, label_studio_url=None, label_studio_api_key=None)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(url, token) of a running throwaway Label Studio; stopped at the end of the session."""
    settings = throwaway_settings(tmp_path_factory.mktemp("labelstudio"))
    info = serve(settings, port=free_port())
    try:
        yield info.url, info.token
    finally:
        stop(settings)
