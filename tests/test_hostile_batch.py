"""Several processes on one database, runs that die, and what an export says about failed
documents. Real `python -m structurer` processes against a FAKE OpenAI-compatible server, on
SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from structurer.llm.fake_server import FakeOpenAIServer
from structurer.settings import Settings
from structurer.store.models import Document, Run
from structurer.store.runs import create_run
from structurer.store.session import dispose_engines, session_scope
from tests.conftest import REPO
from tests.hostile_fixture import API_KEY, clean_env, run_cli, write_report
from tests.pg_fixture import pg_server, pg_url  # noqa: F401 - fixtures
from tests.test_batch import FAIL_MARK, SAMPLE, Responder, assert_complete_run


def test_two_processes_never_extract_the_same_document(tmp_path: Path, database_url: str) -> None:
    from structurer.store.models import DocumentClaim

    responder = Responder()
    with FakeOpenAIServer(responder, logprob=None, delay=0.05) as server:
        env = clean_env(
            tmp_path / "data",
            OPENAI_BASE_URL=server.url,
            OPENAI_API_KEY=API_KEY,
            STRUCTURER_MODEL="fake-model",
            DATABASE_URL=database_url,
        )
        one = write_report(tmp_path / "one" / "first.txt")
        assert run_cli("extract", str(one), env=env).returncode == 0
        per_doc = server.requests
        paths = [write_report(tmp_path / "docs" / f"r{i}.txt") for i in range(6)]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "structurer",
                    "extract",
                    str(tmp_path / "docs"),
                    "--concurrency",
                    "2",
                    "--name",
                    name,
                ],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("a", "b")
        ]
        for proc in procs:
            _, errors = proc.communicate(timeout=300)
            assert proc.returncode == 0, errors[-3000:]
        asked = server.requests - per_doc
    assert asked == 6 * per_doc  # every document extracted once, by one of the two
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    with session_scope(settings) as session:
        runs = [r for r in session.exec(select(Run)).all() if r.name in ("a", "b")]
        assert sorted(r.status for r in runs) == ["done", "done"]
        assert session.exec(select(DocumentClaim)).all() == []  # every claim released
    for run in runs:
        assert_complete_run(settings, run.id, paths)  # each run holds every document


def test_claims_expire_and_runs_found_dead_free_theirs(tmp_path: Path, database_url: str) -> None:
    from structurer.store.claims import claim_document
    from structurer.store.models import DocumentClaim
    from structurer.store.runs import STALE_SECONDS, reap_dead_runs

    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    with session_scope(settings) as session:
        alive = create_run(session, {"report_type": "t", "prompt": "p", "model": "m"}, "h")
        other = create_run(session, {"report_type": "t", "prompt": "p", "model": "m"}, "h")
        doc = Document(name="d", source_path="d", sha256="0" * 64, text="x", source_format="txt")
        session.add(doc)
        session.commit()
        doc_id = doc.id or 0
        assert claim_document(session, doc_id, "h", alive.id) is None
        assert claim_document(session, doc_id, "h", other.id) == alive.id  # held: left alone
        assert claim_document(session, doc_id, "h", alive.id) is None  # the holder renews it
        # a run on another machine that stopped beating is dead; its claim is free again
        alive.host, alive.heartbeat_at = "elsewhere", time.time() - STALE_SECONDS - 5
        session.add(alive)
        session.commit()
        assert reap_dead_runs(session) == [alive.id]
        session.refresh(alive)
        assert alive.status == "dead"
        assert claim_document(session, doc_id, "h", other.id) is None
        # an expired lease is taken over even if its run still says running
        third = create_run(session, {"report_type": "t", "prompt": "p", "model": "m"}, "h")
        session.exec(select(DocumentClaim)).one().expires_at = time.time() - 1
        session.commit()
        assert claim_document(session, doc_id, "h", third.id) is None


def test_a_run_killed_with_kill_9_is_found_dead_and_resumed(tmp_path: Path) -> None:
    from structurer.store.models import DocumentClaim

    responder = Responder()
    with FakeOpenAIServer(responder, logprob=None) as server:
        server.hold_after = 3
        env = clean_env(
            tmp_path / "data",
            OPENAI_BASE_URL=server.url,
            OPENAI_API_KEY=API_KEY,
            STRUCTURER_MODEL="fake-model",
        )
        write_report(tmp_path / "docs" / "a.txt")
        write_report(tmp_path / "docs" / "b.txt")
        proc = subprocess.Popen(
            [sys.executable, "-m", "structurer", "extract", str(tmp_path / "docs")],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while server.held == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(proc.pid, 9)
        proc.wait()
        server.release()
        settings = Settings(data_dir=tmp_path / "data")
        with session_scope(settings) as session:
            (run,) = session.exec(select(Run)).all()
            assert run.status == "running" and run.pid == proc.pid
            assert session.exec(select(DocumentClaim)).all()  # it held a document
        dispose_engines()
        resumed = run_cli("extract", str(tmp_path / "docs"), "--resume", "last", env=env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    with session_scope(settings) as session:
        (again,) = session.exec(select(Run)).all()
        assert again.id == run.id and again.status == "done" and again.n_docs == 2
    dispose_engines()


def test_export_carries_status_and_error_and_failed_documents_only_when_asked(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer(Responder(), logprob=None) as server:
        env = clean_env(
            tmp_path / "data",
            OPENAI_BASE_URL=server.url,
            OPENAI_API_KEY=API_KEY,
            STRUCTURER_MODEL="fake-model",
        )
        write_report(tmp_path / "docs" / "good.txt")
        failing = SAMPLE.replace("一、总体情况", "一、总体情况\n" + FAIL_MARK, 1)
        write_report(tmp_path / "docs" / "bad.txt", text=failing)
        assert run_cli("extract", str(tmp_path / "docs"), env=env).returncode == 1

        def export(fmt: str, *extra: str) -> Path:
            out = tmp_path / f"out-{fmt}{len(extra)}"
            result = run_cli("export", "--format", fmt, "--out", str(out), *extra, env=env)
            assert result.returncode == 0, result.stderr[-2000:]
            return out

        ok_only = [json.loads(line) for line in export("jsonl").read_text().splitlines()]
        assert [(o["doc"], o["status"], o["error"]) for o in ok_only] == [("good.txt", "ok", None)]
        both = {
            o["doc"]: o
            for o in map(json.loads, export("jsonl", "--include-failed").read_text().splitlines())
        }
        assert both["bad.txt"]["status"] == "failed"
        assert "model server error HTTP 500" in both["bad.txt"]["error"]
        assert set(both["good.txt"]) == {"doc", "status", "error", "record", "fields"}

        with export("wide-csv", "--include-failed").open(encoding="utf-8-sig") as fh:
            table = list(csv.DictReader(fh))
        header = list(table[0])
        assert header[:4] == ["doc", "status", "error", "lowest_confidence"]
        assert "meta.report_year" in header and len(header) > 200
        rows = {r["doc"]: r for r in table}
        good = both["good.txt"]
        assert rows["good.txt"]["meta.report_year"] == str(good["record"]["meta"]["report_year"])
        lowest = min(f["confidence"] for f in good["fields"].values())
        assert float(rows["good.txt"]["lowest_confidence"]) == pytest.approx(lowest)
        assert rows["bad.txt"]["status"] == "failed" and "HTTP 500" in rows["bad.txt"]["error"]

        import pyarrow.parquet as pq

        frame = pq.read_table(export("parquet")).to_pylist()
        assert [r["doc"] for r in frame] == ["good.txt"]
        assert frame[0]["meta.report_year"] == good["record"]["meta"]["report_year"]
        assert frame[0]["status"] == "ok" and frame[0]["error"] is None


def test_a_lost_claim_race_does_not_lose_the_document_id(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claiming rolls the session back when another process wins the insert; the document's id
    must not be read from the (then expired) row after the session is closed."""
    from structurer.batch import document as unit
    from structurer.batch.run import ensure_database
    from structurer.core.prompts import load_prompts
    from structurer.core.report_type import load_report_type

    ensure_database(settings)
    with session_scope(settings) as session:
        run = create_run(
            session, {"report_type": "gov_disclosure", "prompt": "p", "model": "m"}, "h"
        )
    ctx = unit.BatchContext(
        settings, load_report_type(settings.report_type), load_prompts(settings), run.id, "h"
    )

    def lost_race(session: Any, *args: Any) -> None:
        session.rollback()  # what claim_document does when another process inserted first
        return None

    monkeypatch.setattr(unit, "claim_document", lost_race)
    path = write_report(tmp_path / "docs" / "a.txt")
    stored = unit.read_and_store(path, ctx)
    assert isinstance(stored, unit.StoredDocument) and stored.document_id > 0
