"""Run extraction over many documents: read, skip what is already done, extract, store.

Several processes may share one database: a run beats (store/runs.py) while it works, so a
run killed with -9 is found `dead` by the next one, and documents in flight are claimed
(batch/document.py) so two processes never extract the same document.

Engines: `threads` (default) keeps `concurrency` documents in flight and, inside them, runs
their parts on a shared pool of `concurrency` threads, so at most `concurrency` requests reach
the endpoint at once; `ray` maps the pure unit of work (`extract_document`) over a Ray cluster
while this process reads the documents and writes every result (structurer/batch/ray.py).

Every finished document is committed on its own, so a killed batch loses only the documents
in flight; a rerun skips what is stored (same bytes, same settings, same code) and the
response cache makes the parts already answered free. Ctrl-C stops taking new documents and
finishes the ones in flight (a second Ctrl-C abandons them); the run is marked `interrupted`.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock
from sqlalchemy.exc import SQLAlchemyError

from structurer.batch.document import BatchContext, DocResult
from structurer.batch.threads import run_threads
from structurer.confidence.calibrate import current_version
from structurer.core.model import Model
from structurer.core.prompts import PromptSet, load_prompts
from structurer.core.report_type import load_report_type
from structurer.core.response_models import RESPONSE_MODEL_VERSION
from structurer.core.types import DocStatus, RunStatus
from structurer.settings import Settings
from structurer.store.models import Run
from structurer.store.runs import (
    HEARTBEAT_SECONDS,
    create_run,
    finish_run,
    heartbeat,
    reap_dead_runs,
    reopen_run,
    resumable_run,
    stored_counts,
)
from structurer.store.session import get_engine, session_scope

TEXT_SUFFIXES = {".txt", ".text", ".html", ".htm", ".pdf", ".md"}
Engine = Literal["threads", "ray"]


@dataclass
class RunSummary:
    run_id: str
    results: list[DocResult] = field(default_factory=list)
    interrupted: bool = False
    abandoned: bool = False  # a second Ctrl-C: documents in flight were not waited for
    resumed: bool = False

    @property
    def failed(self) -> list[DocResult]:
        return [r for r in self.results if r.status == DocStatus.failed]

    @property
    def duplicates(self) -> list[DocResult]:
        return [r for r in self.results if r.status == DocStatus.duplicate]

    @property
    def tokens_in(self) -> int:
        return sum(r.tokens_in for r in self.results)

    @property
    def tokens_out(self) -> int:
        return sum(r.tokens_out for r in self.results)

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.results if r.cost is not None]
        return sum(costs) if costs else None

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class ResumeError(ValueError):
    """`resume` named a run that does not exist or ran with other settings."""


def resolve_paths(inputs: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (recursively, known suffixes) and globs -> files; plus inputs that matched nothing."""
    found: list[Path] = []
    missing: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES
                )
            )
        elif path.exists():
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                found.extend(matches)
            else:
                missing.append(item)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, missing


@lru_cache(maxsize=8)
def code_fingerprint(report_type: str) -> str:
    """A hash of the engine's and the report type's Python sources: a stored extraction is
    reused only by the code that made it (the reply cache keeps a re-extraction cheap)."""
    packages = [Path(__file__).resolve().parents[1]]
    module = importlib.import_module(report_type)
    if module.__file__ is not None:
        packages.append(Path(module.__file__).resolve().parent)
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_settings(settings: Settings, prompts: PromptSet) -> tuple[dict[str, Any], str]:
    data = settings.extraction_settings()
    data["response_models"] = RESPONSE_MODEL_VERSION
    data["prompt"] = prompts.fingerprint
    data["code"] = code_fingerprint(settings.report_type)
    blob = repr(sorted(data.items()))
    return data, hashlib.sha256(blob.encode()).hexdigest()[:16]


def ensure_database(settings: Settings, attempts: int = 20) -> None:
    """Migrate the database once even when several batches start on it at the same moment.

    SQLite: an exclusive file lock beside the database file serialises the first migration.
    PostgreSQL (transactional DDL): the loser of a race rolls back; it waits and checks again.
    """
    url = settings.db_url
    if url.startswith("sqlite:///"):
        db_path = Path(url.removeprefix("sqlite:///"))
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{db_path}.migrate-lock"):
            get_engine(settings)
        return
    for attempt in range(attempts):
        try:
            get_engine(settings)
            return
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.25 + random.random() * 0.5)


def _open_run(
    settings: Settings,
    settings_dict: dict[str, Any],
    settings_hash: str,
    name: str | None,
    resume: str | None,
) -> tuple[str, bool]:
    """A new run, or the run to resume ("last": the newest unfinished run with these settings).
    Runs left `running` by a process that is gone are marked `dead` first."""
    with session_scope(settings) as session:
        reap_dead_runs(session)
        if resume:
            try:
                run = resumable_run(session, settings_hash, resume)
            except (LookupError, ValueError) as exc:
                raise ResumeError(str(exc)) from None
            if run is not None:
                try:
                    reopen_run(session, run)
                except ValueError as exc:
                    raise ResumeError(str(exc)) from None
                return run.id, True
        run = create_run(session, settings_dict, settings_hash, name=name)
        # Recorded on the run, not in its settings: a new calibration must not stop reuse.
        run.calibration_version = current_version(settings)
        session.add(run)
        session.commit()
        return run.id, False


def run_extraction(
    inputs: Iterable[str],
    settings: Settings,
    *,
    name: str | None = None,
    llm: Model | None = None,
    reuse: bool = True,
    on_result: Callable[[DocResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    engine: Engine = "threads",
    use_cache: bool = True,
    resume: str | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Extract every input document into one run; never raises for a bad document.

    `resume`: a run id (or "last") to continue instead of starting a new run. `stop`: set it to
    stop taking new documents (what Ctrl-C does). `use_cache`: look model replies up in the
    response cache first and store new ones.
    """
    rtype = load_report_type(settings.report_type)
    prompts = load_prompts(settings)
    paths, missing = resolve_paths(inputs)
    settings_dict, settings_hash = run_settings(settings, prompts)
    ensure_database(settings)
    run_id, resumed = _open_run(settings, settings_dict, settings_hash, name, resume)
    ctx = BatchContext(
        settings, rtype, prompts, run_id, settings_hash, reuse, stop or threading.Event()
    )
    summary = RunSummary(run_id, resumed=resumed)

    def record(result: DocResult) -> None:
        summary.results.append(result)
        if on_result:
            on_result(result)

    if on_start:
        on_start(len(paths) + len(missing))
    for item in missing:
        record(DocResult(Path(item).name, item, DocStatus.failed, f"{item}: no such file"))

    beating = threading.Event()
    threading.Thread(
        target=_heartbeat,
        args=(settings, run_id, beating),
        name="structurer-heartbeat",
        daemon=True,
    ).start()
    try:
        if engine == "ray":
            from structurer.batch.ray import run_on_ray

            run_on_ray(paths, ctx, record, use_cache=use_cache)
        else:
            summary.abandoned = run_threads(paths, ctx, record, llm, use_cache)
    except KeyboardInterrupt:
        ctx.stop.set()
        summary.abandoned = True
    finally:
        beating.set()
        summary.interrupted = ctx.stop.is_set()
        with session_scope(settings) as session:
            run_row = session.get(Run, run_id)
            if run_row is not None:
                n_docs, n_failed = len(summary.results), len(summary.failed)
                if resumed:  # count what the run holds, not only this invocation's share
                    n_docs, n_failed = stored_counts(session, run_id)
                finish_run(
                    session,
                    run_row,
                    n_docs=n_docs,
                    n_failed=n_failed,
                    status=RunStatus.interrupted if summary.interrupted else RunStatus.done,
                )
    return summary


def _heartbeat(settings: Settings, run_id: str, done: threading.Event) -> None:
    """Tell other processes this run is alive and still holds its claims, until `done`."""
    while not done.wait(HEARTBEAT_SECONDS):
        try:
            with session_scope(settings) as session:
                heartbeat(session, run_id)
        except SQLAlchemyError:
            continue  # a missed beat is harmless; the next one renews the leases
