"""The tree stays ruff-clean (lint and format), type-checks (mypy over structurer and schemas) and
keeps its layers (import-linter contracts in pyproject.toml: layers, no cycles, no report type in
the engine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
        ["lint-imports", "--no-cache"],
    ],
    ids=["ruff-check", "ruff-format", "mypy", "import-linter"],
)
def test_clean(command: list[str]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]} is not installed in the test environment (dev extra)"
    # import-linter resolves both top-level packages from the tree itself
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'schemas'}"}
    out = subprocess.run(
        [str(tool), *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
