"""The review server and the SDK client, against a real Label Studio."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from structurer.cli.review_cmd import app
from structurer.review.client import connect
from structurer.review.server import Paths, ReviewServerError, serve, status, stop
from structurer.settings import Settings
from tests.labelstudio_fixture import free_port, throwaway_settings

LABEL_CONFIG = (
    '<View><Text name="text" value="$text"/><TextArea name="answer" toName="text"/></View>'
)


def remote(data_dir: Path, url: str, key: str) -> Settings:
    return Settings(data_dir=data_dir, label_studio_url=url, label_studio_api_key=SecretStr(key))


def assert_sdk_works(settings: Settings) -> None:
    client = connect(settings)
    project = client.projects.create(title="structurer smoke test", label_config=LABEL_CONFIG)
    assert project.id is not None
    listed: list[Any] = list(client.projects.list())
    assert project.id in [p.id for p in listed]
    client.projects.delete(id=project.id)
    listed = list(client.projects.list())
    assert project.id not in [p.id for p in listed]


@pytest.mark.labelstudio
def test_serve_reuse_stop_and_restart(tmp_path: Path) -> None:
    settings = throwaway_settings(tmp_path)
    port = free_port()
    info = serve(settings, port=port)
    try:
        assert info.url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{info.url}/health").json() == {"status": "UP"}
        assert info.token not in repr(info) and info.password not in repr(info)

        creds = Paths.of(settings).credentials
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert json.loads(creds.read_text())["token"] == info.token

        # No LABEL_STUDIO_URL: connect() uses our own instance's credentials.
        assert_sdk_works(settings)

        again = serve(settings, port=free_port())
        assert (again.url, again.pid, again.token) == (info.url, info.pid, info.token)
        running = status(settings)
        assert running is not None and running.pid == info.pid
    finally:
        assert stop(settings) is True

    assert status(settings) is None
    assert not Path(f"/proc/{info.pid}").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{info.url}/health")
    assert stop(settings) is False

    # A restart keeps the data and the credentials.
    restarted = serve(settings, port=free_port())
    try:
        assert restarted.token == info.token and restarted.pid != info.pid
        assert connect(settings).users.whoami().email == info.username
    finally:
        stop(settings)


@pytest.mark.labelstudio
def test_fixture_server_works_with_the_sdk(label_studio: tuple[str, str], tmp_path: Path) -> None:
    url, token = label_studio
    assert_sdk_works(remote(tmp_path, url, token))


@pytest.mark.labelstudio
def test_personal_access_token_works(label_studio: tuple[str, str], tmp_path: Path) -> None:
    url, token = label_studio
    pat = connect(remote(tmp_path, url, token)).tokens.create().token
    assert pat is not None and pat.count(".") == 2  # a JWT refresh token
    assert connect(remote(tmp_path, url, pat)).users.whoami().email


def wrong_key(kind: str) -> str:
    if kind == "legacy":
        return "0123456789abcdef0123456789abcdef01234567"
    claims = {"token_type": "refresh", "jti": "x", "user_id": 1}
    claims["exp"] = int(time.time()) + (-3600 if kind == "expired-jwt" else 3600)
    return jwt.encode(claims, "not-this-servers-secret-key-at-all", algorithm="HS256")


@pytest.mark.labelstudio
@pytest.mark.parametrize("kind", ["legacy", "jwt", "expired-jwt"])
def test_wrong_token_is_a_clear_error_without_the_token(
    label_studio: tuple[str, str], tmp_path: Path, kind: str
) -> None:
    wrong = wrong_key(kind)
    url, _ = label_studio
    with pytest.raises(ReviewServerError) as caught:
        connect(remote(tmp_path, url, wrong))
    message = str(caught.value)
    assert "rejected the API key" in message and url in message
    assert wrong not in message and wrong[-12:] not in message
    assert caught.value.__cause__ is None and "\n" not in message


def test_down_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    key = "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(
        ReviewServerError, match=r"cannot reach Label Studio at .* \(connection refused\)"
    ) as caught:
        connect(remote(tmp_path, url, key))
    assert key not in str(caught.value)


def test_url_credentials_are_not_echoed(tmp_path: Path) -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(ReviewServerError) as caught:
        connect(remote(tmp_path, url, "0123456789abcdef0123456789abcdef01234567"))
    assert "hunter2" not in str(caught.value)


def test_nothing_configured_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, label_studio_url=None, label_studio_api_key=None)
    with pytest.raises(ReviewServerError, match="no Label Studio server configured"):
        connect(settings)
    with pytest.raises(ReviewServerError, match="LABEL_STUDIO_API_KEY is not"):
        connect(Settings(data_dir=tmp_path, label_studio_url="http://127.0.0.1:1"))


@pytest.mark.labelstudio
def test_busy_port_is_refused_not_silently_moved(tmp_path: Path) -> None:
    settings = throwaway_settings(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(ReviewServerError, match=f"port {port} .* already in use"):
            serve(settings, port=port)
    assert status(settings) is None


def test_cli_status_and_stop_when_not_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRUCTURER_DATA_DIR", os.fspath(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--status"])
    assert result.exit_code == 1 and "not running" in result.output
    result = runner.invoke(app, ["serve", "--stop"])
    assert result.exit_code == 0 and "was not running" in result.output
