"""The batch on Ray: workers run the pure unit of work, this process does all the I/O.

The driver reads each document and stores it (dedup by content hash, reuse of a finished
extraction), sends (document, settings) to a Ray task running `extract_document`, and writes
every outcome to the database itself, exactly as the threads engine does — so a run on a
cluster leaves the same rows as a run on one machine. Workers touch the database only through
the response cache (read, insert-or-ignore), which must therefore be reachable from them
(PostgreSQL on a cluster; the SQLite file on one machine).

Without RAY_ADDRESS a local Ray instance is started (ray.init(num_cpus=2,
include_dashboard=False)); with it the driver joins that cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from structurer.batch.document import (
    BatchContext,
    DocResult,
    StoredDocument,
    failed_outcome,
    make_llm,
    read_and_store,
    store_outcome,
    with_db_retries,
)
from structurer.core.pipeline import extract_document
from structurer.core.prompts import load_prompts
from structurer.core.report_type import load_report_type
from structurer.core.types import DocStatus, DocumentOutcome, LoadedDocument
from structurer.llm.client import LLMClient
from structurer.settings import Settings

LOCAL_CPUS = 2
_worker_clients: dict[str, LLMClient] = {}


def init_ray() -> None:
    """Join RAY_ADDRESS's cluster, or start a small local instance (once per process)."""
    import ray

    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=False)
    else:
        ray.init(num_cpus=LOCAL_CPUS, include_dashboard=False, log_to_driver=False)


def _worker_llm(settings: Settings, use_cache: bool) -> LLMClient:
    """One client per worker process and settings (connection pool and cache reused)."""
    key = f"{settings.model_dump_json()}|{use_cache}"
    client = _worker_clients.get(key)
    if client is None:
        client = make_llm(settings)
        if use_cache:
            from structurer.llm.cache import DbResponseCache

            client = client.with_cache(DbResponseCache(settings))
        _worker_clients[key] = client
    return client


def extract_task(
    doc: LoadedDocument, settings: Settings, use_cache: bool, parts_in_flight: int
) -> DocumentOutcome:
    """What a Ray worker runs: the pure unit of work, its parts in flight at once."""
    rtype = load_report_type(settings.report_type)
    prompts = load_prompts(settings)
    llm = _worker_llm(settings, use_cache)
    if parts_in_flight <= 1:
        return extract_document(doc, rtype, llm, prompts, settings)
    with ThreadPoolExecutor(max_workers=parts_in_flight) as pool:
        return extract_document(doc, rtype, llm, prompts, settings, executor=pool)


def run_on_ray(
    paths: list[Path],
    ctx: BatchContext,
    record: Callable[[DocResult], None],
    *,
    use_cache: bool = True,
) -> None:
    """Map `extract_task` over the documents; at most max(concurrency, 2 x CPUs) tasks queued."""
    import ray

    init_ray()
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    settings = ctx.settings
    parts_in_flight = max(1, settings.concurrency // cpus)
    remote = ray.remote(num_cpus=1, max_retries=2)(extract_task)
    settings_ref = ray.put(settings)
    limit = max(settings.concurrency, 2 * cpus)
    in_flight: dict[Any, StoredDocument] = {}

    def collect(block: bool) -> None:
        if not in_flight:
            return
        ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=None if block else 0.5)
        for ref in ready:
            prepared = in_flight.pop(ref)
            try:
                outcome: DocumentOutcome = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a crashed task fails its document only
                outcome = failed_outcome(prepared.doc, exc)
            try:
                record(with_db_retries(partial(store_outcome, prepared, outcome, ctx)))
            except Exception as exc:  # noqa: BLE001
                record(
                    DocResult(
                        prepared.doc.name,
                        str(prepared.path),
                        DocStatus.failed,
                        f"{type(exc).__name__}: {exc}"[:300],
                    )
                )

    try:
        for path in paths:
            if ctx.stop.is_set():
                break
            try:
                prepared = with_db_retries(partial(read_and_store, path, ctx))
            except Exception as exc:  # noqa: BLE001 - e.g. the database hiccupped on this one
                record(
                    DocResult(
                        path.name, str(path), DocStatus.failed, f"{type(exc).__name__}: {exc}"[:300]
                    )
                )
                continue
            if isinstance(prepared, DocResult):
                record(prepared)
                continue
            in_flight[remote.remote(prepared.doc, settings_ref, use_cache, parts_in_flight)] = (
                prepared
            )
            while len(in_flight) >= limit:
                collect(block=False)
        while in_flight:
            collect(block=False)
    except KeyboardInterrupt:
        ctx.stop.set()  # finish what is in flight; a second Ctrl-C abandons it
        try:
            while in_flight:
                collect(block=False)
        except KeyboardInterrupt:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise
