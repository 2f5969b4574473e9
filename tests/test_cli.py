"""The thin CLI over the FAKE-free paths: help, bad options, policies, show/export on stored data."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from structurer.cli.main import app
from structurer.settings import Settings

runner = CliRunner()


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "STRUCTURER_DATA_DIR": str(settings.data_dir),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    }


def test_python_dash_m_and_every_command_has_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "structurer", "--help"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "extract" in out.stdout
    for command in (
        ["extract"],
        ["show"],
        ["export"],
        ["db", "upgrade"],
        ["model", "serve"],
        ["review", "push"],
        ["review", "pull"],
        ["eval"],
        ["gold", "check"],
        ["calibrate"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_review_budget_without_calibration_is_a_clear_error(settings: Settings) -> None:
    result = runner.invoke(
        app,
        ["extract", "samples/sample_2021_short.txt", "--target-accuracy", "0.99"],
        env=env_for(settings),
    )
    assert result.exit_code == 2
    assert "calibrat" in result.output.lower()


def test_export_rejects_unknown_format(
    settings: Settings, tmp_path: pytest.TempPathFactory
) -> None:
    result = runner.invoke(app, ["export", "--format", "xml", "--out", "x"], env=env_for(settings))
    assert result.exit_code == 2


def test_show_unknown_document(settings: Settings) -> None:
    result = runner.invoke(app, ["show", "nothing-here.txt"], env=env_for(settings))
    assert result.exit_code == 1 and "no extraction found" in result.output


def test_extract_against_a_dead_endpoint_fails_the_document_not_the_batch(
    settings: Settings,
) -> None:
    result = runner.invoke(
        app,
        ["extract", "samples/sample_2021_short.txt"],
        env={**env_for(settings), "STRUCTURER_MAX_RETRIES": "0"},
    )
    assert result.exit_code == 1
    assert "unreachable" in result.output


def test_a_bad_setting_is_one_clear_line_without_the_value(settings: Settings) -> None:
    env = {**env_for(settings), "OPENAI_API_KEY": "sk-must-not-show"}
    bad = runner.invoke(app, ["show", "x"], env={**env, "STRUCTURER_CONCURRENCY": "0"})
    assert bad.exit_code == 2
    assert "invalid setting STRUCTURER_CONCURRENCY: Input should be greater than or equal to 1" in (
        " ".join(bad.output.split())
    )
    assert "Traceback" not in bad.output
    nan = runner.invoke(
        app, ["eval", "list"], env={**env, "STRUCTURER_TIMEOUT": "sk-must-not-show"}
    )
    assert nan.exit_code == 2 and "STRUCTURER_TIMEOUT" in nan.output
    assert "sk-must-not-show" not in nan.output
    samples = runner.invoke(app, ["eval", "list"], env={**env, "STRUCTURER_SAMPLES": "3"})
    assert samples.exit_code == 2 and "samples > 1 needs temperature > 0" in samples.output
    warm = {**env, "STRUCTURER_SAMPLES": "3", "STRUCTURER_TEMPERATURE": "0.7"}
    assert runner.invoke(app, ["eval", "list"], env=warm).exit_code == 0
