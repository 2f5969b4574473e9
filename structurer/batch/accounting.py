"""Tokens, cost and pace of a batch: per document, per run, and live for the progress bar."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlmodel import Session

from structurer.settings import Settings
from structurer.store.runs import call_counts, extraction_totals


def cost_of(tokens_in: int, tokens_out: int, settings: Settings) -> float | None:
    """Cost in the price's currency, or None when no price is configured."""
    if settings.price_per_1k_input is None and settings.price_per_1k_output is None:
        return None
    return tokens_in / 1000 * (settings.price_per_1k_input or 0.0) + tokens_out / 1000 * (
        settings.price_per_1k_output or 0.0
    )


@dataclass
class BatchStats:
    """Live counters of a batch (thread-safe). `total` counts documents to process."""

    total: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    cached_calls: int = 0
    cost: float | None = None
    started: float = field(default_factory=time.perf_counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        status: str,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cost: float | None = None,
        calls: int = 0,
        cached_calls: int = 0,
    ) -> None:
        with self._lock:
            setattr(self, status, getattr(self, status, 0) + 1)
            self.tokens_in += tokens_in
            self.tokens_out += tokens_out
            self.calls += calls
            self.cached_calls += cached_calls
            if cost is not None:
                self.cost = (self.cost or 0.0) + cost

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.skipped + self.interrupted

    @property
    def elapsed(self) -> float:
        return max(time.perf_counter() - self.started, 1e-9)

    @property
    def processed(self) -> int:
        """Documents that went through the model (skipped ones cost nothing and take no time)."""
        return self.ok + self.failed

    def docs_per_minute(self) -> float:
        return self.done / self.elapsed * 60

    def eta_seconds(self) -> float | None:
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        if self.done == 0:
            return None
        return remaining * self.elapsed / self.done

    def line(self) -> str:
        eta = self.eta_seconds()
        eta_text = "?" if eta is None else _duration(eta)
        parts = [
            f"ok {self.ok}",
            f"failed {self.failed}",
            f"skipped {self.skipped}",
            f"{self.docs_per_minute():.1f} docs/min",
            f"ETA {eta_text}",
            f"tokens {self.tokens_in:,}+{self.tokens_out:,}",
        ]
        if self.cached_calls:
            parts.append(f"cached calls {self.cached_calls}")
        if self.cost is not None:
            parts.append(f"cost {self.cost:.4f}")
        return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass
class RunTotals:
    documents: int
    ok: int
    failed: int
    tokens_in: int
    tokens_out: int
    calls: int
    cached_calls: int
    cost: float | None


def run_totals(session: Session, run_id: str, settings: Settings) -> RunTotals:
    """What a stored run cost: tokens paid for (cached calls excluded) and the price of them."""
    by_status = extraction_totals(session, run_id)
    tokens_in = sum(v[1] for v in by_status.values())
    tokens_out = sum(v[2] for v in by_status.values())
    calls, cached = call_counts(session, run_id)
    return RunTotals(
        documents=sum(v[0] for v in by_status.values()),
        ok=by_status.get("ok", (0, 0, 0))[0],
        failed=by_status.get("failed", (0, 0, 0))[0],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        calls=calls,
        cached_calls=cached,
        cost=cost_of(tokens_in, tokens_out, settings),
    )
