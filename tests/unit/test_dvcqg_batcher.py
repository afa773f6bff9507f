"""The batcher: concurrent sends share calls, each gets its own answer, one dossier's items keep their order."""
from __future__ import annotations

import threading
import time

import pytest

from connectors.dvcqg_batch import Batcher, Work, segments
from hub.errors import PermanentError


def run_all(batcher: Batcher, works: list[Work], stagger: float = 0.0) -> dict[int, object]:
    out: dict[int, object] = {}

    def go(i: int, w: Work) -> None:
        try:
            out[i] = batcher.submit(w)
        except Exception as exc:  # noqa: BLE001 - collected
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i, w)) for i, w in enumerate(works)]
    for t in threads:
        t.start()
        time.sleep(stagger)
    for t in threads:
        t.join(10)
    return out


def test_concurrent_items_share_flushes_and_get_their_own_results():
    calls: list[list[str]] = []

    def flush(batch):
        calls.append([w.item["n"] for w in batch])
        for w in batch:
            if w.item["n"] == "bad":
                w.fail(PermanentError("dvcqg.invalid_data", "bad item"))
            else:
                w.succeed(w.item["n"])

    b = Batcher(flush, max_size=10, max_wait=0.1, parallel=1)
    works = [Work("dossier", f"D{i}", {"n": str(i)}) for i in range(9)] + [Work("dossier", "DX", {"n": "bad"})]
    out = run_all(b, works)
    assert [out[i] for i in range(9)] == [str(i) for i in range(9)]
    assert isinstance(out[9], PermanentError)
    assert len(calls) <= 2 and sum(len(c) for c in calls) == 10


def test_one_dossier_never_in_two_batches_at_once_and_keeps_order():
    sent: list[tuple[str, str]] = []
    active: set[str] = set()
    lock = threading.Lock()

    def flush(batch):
        with lock:
            assert not active & {w.dossier_code for w in batch}, "a dossier in two batches at once"
            active.update(w.dossier_code for w in batch)
        time.sleep(0.02)
        with lock:
            sent.extend((w.dossier_code, w.item["seq"]) for w in batch)
            active.difference_update(w.dossier_code for w in batch)
        for w in batch:
            w.succeed(True)

    b = Batcher(flush, max_size=3, max_wait=0.005, parallel=4)
    works = [Work("step", f"D{i % 3}", {"seq": f"{i // 3:02d}"}) for i in range(30)]
    run_all(b, works, stagger=0.001)
    for code in ("D0", "D1", "D2"):
        seqs = [s for c, s in sent if c == code]
        assert seqs == sorted(seqs) and len(seqs) == 10


def test_segments_split_repeated_dossiers():
    ws = [Work("dossier", c, {}) for c in ("A", "B", "A", "C", "B")]
    assert [[w.dossier_code for w in s] for s in segments(ws)] == [["A", "B"], ["A", "C", "B"]]


def test_an_interrupted_caller_withdraws_its_item():
    started = threading.Event()

    def flush(batch):
        started.set()
        time.sleep(0.2)
        for w in batch:
            w.succeed(True)

    b = Batcher(flush, max_size=1, max_wait=0, parallel=1)
    first = threading.Thread(target=b.submit, args=(Work("dossier", "A", {}),))
    first.start()
    started.wait(2)
    late = Work("dossier", "B", {})

    class Interrupt(Exception):
        pass

    def interrupted_submit():
        timer = threading.Timer(0.05, lambda: None)
        timer.start()
        with pytest.raises(Interrupt):
            b.cond.wait = _raise_once(b.cond.wait, Interrupt)  # the dispatcher's time bound fires while waiting
            b.submit(late)

    interrupted_submit()
    first.join(2)
    assert late not in b.pending


def _raise_once(wait, exc):
    state = {"done": False}

    def patched(timeout=None):
        if not state["done"]:
            state["done"] = True
            raise exc()
        return wait(timeout)
    return patched
