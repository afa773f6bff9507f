"""Joining concurrent sends into one partner call (the DVCQG connector's batcher).

Each dispatcher green thread calls :meth:`Batcher.submit` with its own :class:`Work` and blocks until its own
outcome is set. No thread of our own: a waiting caller becomes a leader (up to ``parallel`` at once, so one slow
partner call does not stall the connector), waits up to ``max_wait`` for up to ``max_size`` items, takes them
(oldest first) and runs ``flush`` for all; callers that were not taken wait for the next leader. A dossier in a
batch being sent is skipped by the other leaders, so the items of one dossier leave in the order they came.
A caller interrupted while waiting (the dispatcher's time bound) withdraws its item, so it is never sent late.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from hub import errors
from hub.errors import DeliveryError, TransientError


@dataclass(eq=False)
class Work:
    kind: str                      # dossier | step | evaluation
    dossier_code: str
    item: dict[str, Any]
    context: Any = None            # what the flush needs besides the item (the delivery)
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def succeed(self, result: Any) -> None:
        if not self.done:
            self.result, self.done = result, True

    def fail(self, error: BaseException) -> None:
        if not self.done:
            self.error, self.done = error, True


class Batcher:
    def __init__(self, flush: Callable[[list[Work]], None], max_size: int = 50, max_wait: float = 0.02,
                 parallel: int = 4) -> None:
        self.flush = flush
        self.max_size = max(1, max_size)
        self.max_wait = max(0.0, max_wait)
        self.parallel = max(1, parallel)
        self.cond = threading.Condition()
        self.pending: list[Work] = []
        self.leaders = 0
        self.busy: set[str] = set()      # dossiers in a batch being sent: their later items wait for it

    def submit(self, work: Work) -> Any:
        with self.cond:
            self.pending.append(work)
            self.cond.notify_all()
        try:
            while True:
                batch = self._lead_or_wait(work)
                if batch is None:
                    break
                self._run(batch)
        except BaseException:
            with self.cond:
                if work in self.pending:
                    self.pending.remove(work)
            raise
        if work.error is not None:
            raise work.error
        return work.result

    def _takeable(self) -> bool:
        return any(w.dossier_code not in self.busy for w in self.pending)

    def _lead_or_wait(self, work: Work) -> list[Work] | None:
        """The next batch when this caller leads, None when its own work is done."""
        with self.cond:
            while not work.done and (self.leaders >= self.parallel or not self._takeable()):
                self.cond.wait(1.0)
            if work.done:
                return None
            self.leaders += 1
            deadline = time.monotonic() + self.max_wait
            while len(self.pending) < self.max_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            batch = self._take()
            if not batch:
                self.leaders -= 1
                self.cond.notify_all()
            return batch

    def _take(self) -> list[Work]:
        """Oldest first, skipping dossiers being sent by another batch, and everything after them of the same
        dossier: a dossier's items leave in the order they came."""
        blocked = set(self.busy)
        batch: list[Work] = []
        for w in list(self.pending):
            if len(batch) >= self.max_size:
                break
            if w.dossier_code in blocked:
                continue
            batch.append(w)
            self.pending.remove(w)
        self.busy |= {w.dossier_code for w in batch}
        return batch

    def _run(self, batch: list[Work]) -> None:
        try:
            self.flush(batch)
        except DeliveryError as exc:
            for w in batch:
                w.fail(exc)
        except BaseException as exc:
            # the leader was interrupted (time bound) or the flush has a bug: nobody else waits forever
            for w in batch:
                w.fail(TransientError(errors.DLV_CONNECTOR_BUG, f"batch interrupted: {type(exc).__name__}"))
            raise
        finally:
            for w in batch:
                w.fail(TransientError(errors.DLV_CONNECTOR_BUG, "batch ended without an answer for this item"))
            with self.cond:
                self.leaders -= 1
                self.busy -= {w.dossier_code for w in batch}
                self.cond.notify_all()


def segments(batch: list[Work]) -> list[list[Work]]:
    """Split a batch so that no dossier appears twice in one segment: segments run in order, so the updates of
    one dossier are never reordered, while each segment groups its items by service."""
    out: list[list[Work]] = []
    seen: set[str] = set()
    for w in batch:
        if not out or w.dossier_code in seen:
            out.append([])
            seen = set()
        out[-1].append(w)
        seen.add(w.dossier_code)
    return out
