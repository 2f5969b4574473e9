"""The threads engine: `concurrency` documents in flight and, inside them, their parts on a
shared pool of `concurrency` threads, so at most `concurrency` requests reach the endpoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from structurer.batch.document import BatchContext, DocResult, cached_llm, process
from structurer.core.model import Model


def run_threads(
    paths: list[Path],
    ctx: BatchContext,
    record: Callable[[DocResult], None],
    llm: Model | None,
    use_cache: bool,
) -> bool:
    """Run the documents; True when a second Ctrl-C abandoned the ones in flight."""
    n = ctx.settings.concurrency
    get_llm = cached_llm(ctx.settings, llm, use_cache)
    queue: Iterator[Path] = iter(paths)
    part_pool = (
        ThreadPoolExecutor(max_workers=n, thread_name_prefix="structurer-part") if n > 1 else None
    )
    doc_pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="structurer-doc")
    pending: set[Future[DocResult]] = set()
    abandoned = False
    try:
        try:
            for path in queue:
                while len(pending) >= n * 2:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        record(fut.result())
                if ctx.stop.is_set():
                    break
                pending.add(doc_pool.submit(process, path, ctx, get_llm, part_pool))
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    record(fut.result())
        except KeyboardInterrupt:
            # First Ctrl-C: take no new documents, finish the ones in flight.
            ctx.stop.set()
            for fut in pending:
                fut.cancel()
            pending = {f for f in pending if not f.cancelled()}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        record(fut.result())
            except KeyboardInterrupt:
                abandoned = True  # second Ctrl-C: in-flight documents are not stored
    finally:
        doc_pool.shutdown(wait=not abandoned, cancel_futures=True)
        if part_pool is not None:
            part_pool.shutdown(wait=not abandoned, cancel_futures=True)
    return abandoned
