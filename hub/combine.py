"""Group commit: concurrent callers' work done in one round, each caller still waiting for ITS own result.

The first caller to arrive becomes the leader and flushes every request queued so far (its own included) in one
go - one database transaction, one burst of publishes waiting for their confirms together. Requests arriving while
a flush is in flight queue up and form the next one, led by the first of them. Nobody waits for a timer: an idle
hub flushes a lone request at once, a busy one amortises a commit or a confirm round trip over many requests.

Plain ``threading`` primitives: green under eventlet's monkey patching (the nameko services), real threads in
tests and tools.
"""
from __future__ import annotations

import threading
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: what a flush hands back per request: its result, or the exception that request must raise
Flush = Callable[[list[T]], Sequence[object]]


class _Slot(Generic[T]):
    __slots__ = ("item", "result", "done", "lead")

    def __init__(self, item: T) -> None:
        self.item = item
        self.result: object = None
        self.done = threading.Event()
        self.lead = False


class Combiner(Generic[T, R]):
    """``submit(item)`` returns ``flush([..., item, ...])[i]`` for its own item, or raises it if it is an exception."""

    def __init__(self, flush: Flush, max_batch: int = 256, in_flight: int = 1, spill: int = 1) -> None:
        self._flush = flush
        self._max = max_batch
        # flushes at once: 1 is classic group commit; 2 lets the next batch start while one waits for its round
        # trip, where the round trip (not the work) is what requests queue behind (bench/README.md) ...
        self._in_flight = in_flight
        # ... but only once ``spill`` requests wait: a lone request waiting for the running flush costs a little
        # latency, a flush of its own costs CPU, and when CPU is the limit (many processes on few cores) the
        # smaller batches lost more than the overlap won (bench/README.md, 4 workers)
        self._spill = spill
        self._lock = threading.Lock()
        self._queue: list[_Slot[T]] = []
        self._flushing = 0

    def submit(self, item: T) -> R:
        slot = _Slot(item)
        with self._lock:
            lead = self._flushing == 0 or (self._flushing < self._in_flight and len(self._queue) + 1 >= self._spill)
            if lead:
                self._flushing += 1
            else:
                self._queue.append(slot)
        if not lead:
            try:
                slot.done.wait()
            except BaseException:
                self._abandon(slot)   # killed while waiting (a stuck handler's timeout): never lead from the grave
                raise
            if not slot.lead:
                return self._answer(slot)
        self._lead(slot)
        return self._answer(slot)

    def _abandon(self, slot: _Slot[T]) -> None:
        """A waiter that leaves: out of the queue, and the lead it was handed (if any) goes on to the next waiter.
        Without this a killed waiter at the head of the queue was handed the lead and everyone after it waited
        forever (seen as every outcome of a worker stuck in ``finish``)."""
        with self._lock:
            if slot in self._queue:
                self._queue.remove(slot)      # still waiting: nobody counts on it
            elif slot.lead:
                self._pass_lead()             # handed the lead (and out of the queue): hand it on
            # else: in a batch being flushed - its leader answers it, nobody listens

    def _lead(self, own: _Slot[T]) -> None:
        with self._lock:  # the leader's own request is always in the batch it flushes
            take = self._max - 1
            batch, self._queue = [own, *self._queue[:take]], self._queue[take:]
        try:
            results = list(self._flush([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a flush answered {len(results)} results for {len(batch)} requests")
        except BaseException as exc:  # noqa: BLE001 - every waiter hears the failure, the leader re-raises its own
            results = [exc] * len(batch)
        finally:
            # hand the lead to the oldest waiter (or stand down) even if this green thread is being killed
            with self._lock:
                self._pass_lead()
        for s, r in zip(batch, results):
            s.result = r
            s.done.set()

    def _pass_lead(self) -> None:
        """With the lock held: the oldest waiter (out of the queue) leads the next flush, or one flush fewer runs."""
        if self._queue:
            nxt = self._queue.pop(0)
            nxt.lead = True
            nxt.done.set()
        else:
            self._flushing -= 1

    @staticmethod
    def _answer(slot: _Slot[T]) -> R:
        if isinstance(slot.result, BaseException):
            raise slot.result
        return slot.result  # type: ignore[return-value]
