"""The threads engine: `concurrency` documents in flight and, inside them, their parts on a
shared pool of `part_concurrency` threads (`concurrency`, or the embedded server's slots when
more), so at most that many requests reach the endpoint."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from structurer.batch.document import (
    HELD_RETRY_SECONDS,
    BatchContext,
    DocResult,
    cached_llm,
    process,
)
from structurer.core.model import Model
from structurer.core.types import DocStatus


def run_threads(
    paths: list[Path],
    ctx: BatchContext,
    record: Callable[[DocResult], None],
    llm: Model | None,
    use_cache: bool,
) -> bool:
    """Run the documents; True when a second Ctrl-C abandoned the ones in flight.

    Keeps 2 x concurrency documents submitted; a document another process holds (`held`) is
    asked again after HELD_RETRY_SECONDS (then usually reused from that process's result)."""
    n = ctx.settings.concurrency
    get_llm = cached_llm(ctx.settings, llm, use_cache)
    queue: deque[Path] = deque(paths)
    held: deque[tuple[float, Path]] = deque()
    parts = ctx.settings.part_concurrency
    part_pool = (
        ThreadPoolExecutor(max_workers=parts, thread_name_prefix="structurer-part")
        if parts > 1
        else None
    )
    doc_pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="structurer-doc")
    pending: dict[Future[DocResult], Path] = {}
    abandoned = False

    def collect() -> None:
        done, _ = wait(set(pending), timeout=0.5, return_when=FIRST_COMPLETED)
        for fut in done:
            path = pending.pop(fut)
            result = fut.result()
            if result.status == DocStatus.held:
                held.append((time.monotonic() + HELD_RETRY_SECONDS, path))
            else:
                record(result)

    try:
        try:
            while queue or pending or held:
                while held and held[0][0] <= time.monotonic():
                    queue.append(held.popleft()[1])
                while queue and len(pending) < n * 2 and not ctx.stop.is_set():
                    path = queue.popleft()
                    pending[doc_pool.submit(process, path, ctx, get_llm, part_pool)] = path
                if ctx.stop.is_set():
                    break
                if pending:
                    collect()
                elif held:
                    time.sleep(min(0.5, max(0.0, held[0][0] - time.monotonic())))
            while pending:
                collect()
        except KeyboardInterrupt:
            # First Ctrl-C: take no new documents, finish the ones in flight.
            ctx.stop.set()
            for fut in list(pending):
                if fut.cancel():
                    pending.pop(fut)
            try:
                while pending:
                    collect()
            except KeyboardInterrupt:
                abandoned = True  # second Ctrl-C: in-flight documents are not stored
    finally:
        doc_pool.shutdown(wait=not abandoned, cancel_futures=True)
        if part_pool is not None:
            part_pool.shutdown(wait=not abandoned, cancel_futures=True)
    return abandoned
