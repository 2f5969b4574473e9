"""Hostile input files and paths (real files, real `python -m structurer` processes against a
FAKE OpenAI-compatible server): FIFOs, oversized files, stray NUL bytes, rich markup in file
names, byte-identical copies; and the evidence aligner on inputs of any length."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from structurer.core.evidence.align import align_quote
from structurer.core.evidence.locate import locate_evidence
from structurer.documents.reader import DocumentError, read_document
from structurer.llm.fake_server import FakeOpenAIServer
from tests.hostile_fixture import run_cli, write_report
from tests.test_batch import SAMPLE


def test_fifo_is_refused_and_the_batch_goes_on(tmp_path: Path, cli_env: dict[str, str]) -> None:
    docs = tmp_path / "docs"
    first = write_report(docs / "a.txt")
    fifo = docs / "pipe.txt"
    os.mkfifo(fifo)
    last = write_report(docs / "z.txt")
    result = run_cli("extract", str(first), str(fifo), str(last), env=cli_env, timeout=240)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    assert "not a regular file (a FIFO)" in out
    assert "Traceback" not in out
    assert "ok / failed / skipped" in out and "2 / 1 / 0" in out


def test_file_size_limit_is_a_setting_with_a_clear_error(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    big = write_report(tmp_path / "big.txt", text=SAMPLE * 20)  # ~60 KB
    with pytest.raises(DocumentError, match="over the limit of 0.01 MB"):
        read_document(big, max_bytes=int(0.01 * 2**20))
    env = {**cli_env, "STRUCTURER_MAX_INPUT_MB": "0.01"}
    result = run_cli("extract", str(big), env=env)
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "over the limit of 0.01 MB" in out and "STRUCTURER_MAX_INPUT_MB" in out
    assert "Traceback" not in out


def test_a_stray_nul_byte_is_removed_and_noted_not_binary(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    path = tmp_path / "nul.txt"
    data = (SAMPLE + "\n（NUL）\n").encode("utf-8")
    cut = data.index("一、总体情况".encode())
    path.write_bytes(data[:cut] + b"\x00" + data[cut:])
    doc = read_document(path)
    assert "\x00" not in doc.text and "一、总体情况" in doc.text
    assert doc.notes == ("1 NUL byte(s) removed",)
    result = run_cli("extract", str(path), env=cli_env)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "1 NUL byte(s) removed" in out and "binary" not in out


def test_rich_markup_in_file_names_is_shown_verbatim(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    docs = tmp_path / "docs"
    good = write_report(docs / "report[bold]2018.txt")
    empty = docs / "a[" / "red]b.txt"  # the path holds "[/red]"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    result = run_cli("extract", str(docs), env=cli_env)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]  # the empty file failed, nothing else
    assert "MarkupError" not in out and "Traceback" not in out
    assert f"{empty}: file is empty" in out.replace("\n", "")
    assert "report[bold]2018.txt" in out and "ok / failed / skipped" in out
    shown = run_cli("show", good.name, env=cli_env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "report[bold]2018.txt" in shown.stdout


def test_byte_identical_copies_are_listed_with_the_path_they_duplicate(
    tmp_path: Path, cli_env: dict[str, str], echo_server: FakeOpenAIServer
) -> None:
    docs = tmp_path / "docs"
    original = write_report(docs / "a_original.txt", marker="same")
    for i in range(3):
        (docs / f"copy_{i}.txt").write_bytes(original.read_bytes())
    result = run_cli("extract", str(docs), env=cli_env)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    asked = echo_server.requests
    assert "duplicates (same bytes, read once)" in out
    assert "3 duplicate file(s) skipped" in out
    for i in range(3):
        assert f"copy_{i}.txt" in out
    assert out.count(str(original)) >= 3  # each copy names the file it duplicates
    shown = run_cli("show", "a_original.txt", env=cli_env)
    assert "3 duplicate file(s) skipped" in shown.stdout
    assert all(f"copy_{i}.txt" in shown.stdout for i in range(3))
    by_copy = run_cli("show", str(docs / "copy_1.txt"), env=cli_env)
    assert by_copy.returncode == 0 and "a_original.txt" in by_copy.stdout
    assert echo_server.requests == asked  # show asks nothing; the copies were never extracted


def test_aligner_is_bounded_for_any_input_length() -> None:
    text = SAMPLE * 60  # ~180 KB of report
    huge = "第" + "一" * 5_000_000
    started = time.perf_counter()
    assert align_quote(huge, text).start is None
    near = SAMPLE[200:1400].replace("政府", "政付")  # a long quote with typos: fuzzy path
    align_quote(near, text)
    located = locate_evidence(huge, huge, text, [(0, len(text))], kind="str", label="标题")
    assert located.evidence is None or located.evidence.start is None
    located = locate_evidence([huge, "x"], None, text, [(0, len(text))], kind="list")
    assert located.value_in_span == 0.0
    number = locate_evidence(7, huge, text, [(0, len(text))], kind="int", label="当面申请（件）")
    assert number.via in ("label", "none")
    assert time.perf_counter() - started < 10
