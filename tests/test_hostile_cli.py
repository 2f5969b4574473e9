"""Every command with bad arguments or a bad setting: one or two lines naming the thing and what
to do, never a traceback, never a secret, no side effect (no database created by a read)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from structurer.cli import main as cli_main
from structurer.cli.main import app
from structurer.store.session import dispose_engines
from tests.hostile_fixture import clean_env, run_cli

PG_PASSWORD = "pgSECRETpw-31337"


def command_paths() -> list[list[str]]:
    import typer

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):  # type: ignore[attr-defined]
                walk(command.get_command(None, name), [*prefix, name])  # type: ignore[attr-defined]
        else:
            found.append(prefix)

    walk(root, [])
    return found


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"
    for name, value in clean_env(data).items():
        monkeypatch.setenv(name, value)
    for name in list(__import__("os").environ):
        if name.startswith(("OPENAI_", "DATABASE_URL", "LABEL_STUDIO")) or (
            name.startswith("STRUCTURER_") and name != "STRUCTURER_DATA_DIR"
        ):
            monkeypatch.delenv(name)
    yield data
    dispose_engines()


def call(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the console entry point in this process; any exception escaping it fails the test."""
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(args)
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), captured.out + captured.err


def test_every_command_refuses_an_unknown_option_without_a_traceback(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = command_paths()
    assert len(paths) >= 15 and ["extract"] in paths and ["db", "upgrade"] in paths
    for path in paths:
        code, out = call([*path, "--no-such-option"], capsys)
        assert code == 2, (path, out)
        assert "No such option" in out and "Traceback" not in out, (path, out)
    assert not (env / "structurer.db").exists()


BAD = [
    (["extract", "x.txt", "--concurrency", "0"], "--concurrency"),
    (["extract", "x.txt", "--concurrency", "-1"], "--concurrency"),
    (["extract", "x.txt", "--concurrency", "many"], "--concurrency"),
    (["extract", "x.txt", "--engine", "spark"], "--engine must be threads or ray"),
    (["extract", "x.txt", "--review-budget", "5"], "review_budget"),
    (["export", "--out", "x.jsonl", "--format", "xml"], "--format must be one of"),
    (["export"], "--out"),
    (["show"], "DOC"),
    (["eval", "run", "/no/such/gold", "--corpus", "/no/such/corpus"], "/no/such/gold"),
    (["gold", "check", "/no/such/gold"], "/no/such/gold"),
]


@pytest.mark.parametrize(("args", "expected"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_are_one_clear_line(
    args: list[str], expected: str, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = call(args, capsys)
    assert code != 0 and "Traceback" not in out, out
    assert expected.lower() in out.lower(), out


def test_concurrency_is_named_as_the_option_not_the_variable(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in ("0", "-1"):
        code, out = call(["extract", "x.txt", "--concurrency", value], capsys)
        assert code == 2 and "'--concurrency'" in out and "STRUCTURER_CONCURRENCY" not in out


def test_a_base_url_that_is_no_url_is_refused_at_start(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "not-a-url")
    code, out = call(["extract", "x.txt"], capsys)
    assert code == 2 and "invalid setting OPENAI_BASE_URL" in out and "not a valid URL" in out
    assert "not-a-url" not in out  # the value is not echoed (a URL may hold a password)
    assert len(out.strip().splitlines()) <= 2
    assert not (env / "structurer.db").exists()


def test_show_of_an_unknown_document_creates_no_database(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = call(["show", "nothing-here.txt"], capsys)
    assert code == 1 and "no extraction found for 'nothing-here.txt'" in out
    assert not env.exists() or not any(env.iterdir())


def test_export_to_a_bad_place_is_one_clear_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        (tmp_path / "missing" / "x.jsonl", "does not exist"),
        (tmp_path, "is a directory"),
        (Path("/proc/structurer-x.jsonl"), "cannot write"),  # read-only even for root
    ]
    for out_path, expected in cases:
        code, out = call(["export", "--out", str(out_path)], capsys)
        assert code == 2 and expected in out and "Traceback" not in out, out
        assert len(out.strip().splitlines()) <= 2, out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_postgres_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://app:{PG_PASSWORD}@127.0.0.1:{_closed_port()}/records"
    env = clean_env(tmp_path / "data", DATABASE_URL=url, OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    report = tmp_path / "r.txt"
    report.write_text("政府信息公开工作年度报告", encoding="utf-8")
    for args in (
        ["extract", str(report)],
        ["show", "r.txt"],
        ["export", "--out", str(tmp_path / "x.jsonl")],
        ["db", "upgrade"],
    ):
        result = run_cli(*args, env=env, timeout=120)
        out = result.stdout + result.stderr
        assert result.returncode == 1, (args, out)
        assert "Traceback" not in out and PG_PASSWORD not in out, (args, out)
        assert "database error" in out and "check DATABASE_URL" in out, (args, out)
        assert len(out.strip().splitlines()) <= 4, (args, out)
