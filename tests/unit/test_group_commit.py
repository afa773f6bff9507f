"""Group commit (hub/combine.py) and what is built on it: the store's accepts and outcomes in shared transactions,
the bus's publishes with pipelined confirms, PostgreSQL without pre-ping. Issue 10."""
from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from kombu import Connection

from hub.bus import BATCH_LIMIT, Bus, delivery_ids
from hub.combine import Combiner
from hub.message import Message
from hub.store import DeliveryRef, HopRecord, Outcome, Store
from tests.conftest import PG_ADMIN_URL, require_service


def _together(n: int, call) -> list:  # noqa: ANN001
    """``call(i)`` from n threads started at once; results (or exceptions) by index."""
    results: list = [None] * n
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # noqa: BLE001
            results[i] = exc
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_requests_arriving_during_a_flush_share_the_next_one():
    batches: list[list[int]] = []

    def flush(items: list[int]) -> list:
        batches.append(list(items))
        time.sleep(0.05)  # a commit in flight: the others queue up meanwhile
        return [i * 10 if i != 3 else ValueError("three") for i in items]

    combiner: Combiner[int, int] = Combiner(flush)
    results = _together(12, combiner.submit)
    assert [r for i, r in enumerate(results) if i != 3] == [i * 10 for i in range(12) if i != 3]
    assert isinstance(results[3], ValueError)          # only its own caller hears about it
    assert sorted(i for b in batches for i in b) == list(range(12))  # each flushed exactly once
    assert len(batches) < 12                           # and most of them together


def test_a_failed_flush_fails_its_batch_and_the_next_request_still_runs():
    calls = []

    def flush(items: list[str]) -> list:
        calls.append(items)
        if items == ["boom"]:
            raise RuntimeError("store away")
        return items

    combiner: Combiner[str, str] = Combiner(flush)
    with pytest.raises(RuntimeError):
        combiner.submit("boom")
    assert combiner.submit("ok") == "ok"               # the lead was handed back: no deadlock


def ping(i: str) -> Message:
    return Message(id=i, type="demo.ping", source="demo", payload={"text": "xin chào"}, subject="S-1")


def test_concurrent_accepts_commit_each_message_once_with_duplicates_answered(store):
    # ids 0..9 twice each, at once: a duplicate inside one batch makes the batch fall back to one-by-one
    results = _together(20, lambda i: store.accept(ping(f"g{i % 10}"), f"d{i % 10}", [("r1", "echo")],
                                                    [HopRecord("received")]))
    assert not [r for r in results if isinstance(r, Exception)], results
    for k in range(10):
        pair = [r for i, r in enumerate(results) if i % 10 == k]
        assert sorted(r.created for r in pair) == [False, True]
        assert all(r.digest == f"d{k}" and [d.id for d in r.deliveries] == [f"g{k}/r1"] for r in pair)
        record = store.message(f"g{k}")
        assert [h["kind"] for h in record["hops"]] == ["received"] and len(record["deliveries"]) == 1


def test_concurrent_outcomes_are_each_recorded(store):
    for i in range(8):
        store.accept(ping(f"f{i}"), "d", [("r1", "echo")], [])
    claims = [store.claim(f"f{i}/r1", 30) for i in range(8)]
    assert all(claims)
    outcomes = [Outcome("delivered", reply={"n": i}) if i % 2 else Outcome("dead", "partner.refused", "no")
                for i in range(8)]
    results = _together(8, lambda i: store.finish(claims[i], outcomes[i], [HopRecord("attempt", delivery_id=claims[i].id)]))
    assert results == [None] * 8
    for i in range(8):
        state = store.delivery_state(f"f{i}/r1")
        assert state["state"] == ("delivered" if i % 2 else "dead")
        assert [h["kind"] for h in store.message(f"f{i}")["hops"]] == ["attempt"]
    assert len(store.dead_letter_list()) == 4


def test_postgresql_replaces_a_pooled_connection_the_server_closed(pg_url):
    """No pre-ping: a backend terminated while its connection sat in the pool is noticed at checkout."""
    store = Store(pg_url)
    store.migrate()
    try:
        store.accept(ping("p1"), "d", [("r1", "echo")], [])  # the pool now holds a live connection
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            killed = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE datname = :db AND pid <> pg_backend_pid()"),
                                  {"db": pg_url.rsplit("/", 1)[1]}).scalar()
        admin.dispose()
        assert killed >= 1
        time.sleep(0.2)
        assert store.accept(ping("p2"), "d", [("r1", "echo")], []).created   # not a 503
        claimed = store.claim("p2/r1", 30)
        assert claimed and claimed.message.id == "p2"
    finally:
        store.close()


@pytest.mark.amqp
def test_bus_publishes_of_concurrent_callers_are_all_confirmed_on_their_queue():
    require_service("RabbitMQ", "127.0.0.1", 5672)
    url = "amqp://guest:guest@127.0.0.1:5672//"
    name = f"groupcommit{uuid.uuid4().hex[:8]}"
    bus = Bus(url, [name])
    bus.declare()
    try:
        results = _together(16, lambda i: bus.publish([DeliveryRef(f"m{i}/{j}", name) for j in range(3)]))
        assert results == [None] * 16
        # a connector without a queue: mandatory, so it fails - alone, not its neighbours
        mixed = _together(4, lambda i: bus.publish([DeliveryRef(f"x{i}", "no-such-queue" if i == 2 else name)]))
        assert isinstance(mixed[2], Exception) and [mixed[i] for i in (0, 1, 3)] == [None] * 3
        with Connection(url) as conn:
            queue = bus.queues[name](conn.default_channel)
            seen, carried = [], []
            while (msg := queue.get(no_ack=True)) is not None:
                assert msg.properties["delivery_mode"] == 2
                ids = delivery_ids(msg.payload)
                assert 1 <= len(ids) <= BATCH_LIMIT
                seen.extend(ids)
                carried.append(len(ids))
            queue.delete()
        assert sorted(seen) == sorted([f"m{i}/{j}" for i in range(16) for j in range(3)] + ["x0", "x1", "x3"])
        # the deliveries of one caller at least travel together: fewer bus messages than deliveries
        assert len(carried) < len(seen) and max(carried) >= 3, carried
    finally:
        bus.close()


def test_concurrent_claims_share_a_statement_and_a_delivery_is_claimed_once(store):
    for i in range(6):
        store.accept(ping(f"c{i}"), "d", [("r1", "echo")], [])
    # each delivery asked for three times at once (a bus message redelivered while the first is being handled)
    results = _together(18, lambda i: store.claim(f"c{i % 6}/r1", 30))
    assert not [r for r in results if isinstance(r, Exception)], results
    for k in range(6):
        won = [r for i, r in enumerate(results) if i % 6 == k and r is not None]
        assert len(won) == 1 and won[0].attempts == 1 and won[0].message.id == f"c{k}"
    assert store.claim("c0/r1", 30) is None and store.delivery_state("c0/r1")["attempts"] == 1


class _Killed(BaseException):
    """What eventlet raises in a green thread it kills (a stuck handler's timeout)."""


def test_a_waiter_killed_before_its_turn_does_not_take_the_lead_to_its_grave(monkeypatch):
    from hub import combine
    gate, flushed = threading.Event(), []

    def flush(items):  # noqa: ANN001, ANN202
        if "first" in items:
            gate.wait(10)
        flushed.append(list(items))
        return items

    class Dying(threading.Event):
        def wait(self, timeout=None):  # noqa: ANN001, ANN202
            raise _Killed()

    real = combine._Slot

    def slot(item):  # noqa: ANN001, ANN202
        s = real(item)
        if item == "killed":
            s.done = Dying()
        return s

    monkeypatch.setattr(combine, "_Slot", slot)
    c = Combiner(flush)
    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.update(first=c.submit("first")), daemon=True)
    first.start()
    time.sleep(0.1)                                        # "first" leads, its flush waits for the gate
    with pytest.raises(_Killed):
        c.submit("killed")                                 # queued behind it, killed while waiting
    after = threading.Thread(target=lambda: results.update(after=c.submit("after")), daemon=True)
    after.start()
    time.sleep(0.1)
    gate.set()
    first.join(5)
    after.join(5)
    assert results == {"first": "first", "after": "after"}
    assert ["killed"] not in flushed and ["after"] in flushed
    assert c.submit("later") == "later"                    # the combiner still runs


def test_with_two_flushes_in_flight_a_second_batch_does_not_wait_for_the_first():
    """in_flight=2 (the store's claims and outcomes): while one flush waits for its round trip the next batch
    starts; a third waits for one of them, and everyone is answered exactly once."""
    release, started, flushed = threading.Event(), threading.Semaphore(0), []

    def flush(items):  # noqa: ANN001, ANN202
        flushed.append(list(items))
        started.release()
        if "slow" in items:
            release.wait(10)
        return [f"{i}!" for i in items]

    c = Combiner(flush, in_flight=2, spill=1)
    results: dict[str, object] = {}
    slow = threading.Thread(target=lambda: results.update(slow=c.submit("slow")), daemon=True)
    slow.start()
    assert started.acquire(timeout=5)                      # "slow" flushes and hangs on its round trip
    assert c.submit("quick") == "quick!"                   # not queued behind it: a second flush ran
    release.set()
    slow.join(5)
    assert results == {"slow": "slow!"}

    gate = threading.Event()

    def held(items):  # noqa: ANN001, ANN202
        flushed.append(list(items))
        gate.wait(10)
        return list(items)

    c2 = Combiner(held, in_flight=2, spill=1)
    threads = [threading.Thread(target=lambda i=i: results.update({f"h{i}": c2.submit(f"h{i}")}), daemon=True)
               for i in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    time.sleep(0.1)
    flushed_before = [b for b in flushed if b and b[0].startswith("h")]
    assert len(flushed_before) == 2                        # two in flight, the other four wait together
    gate.set()
    for t in threads:
        t.join(5)
    assert all(results[f"h{i}"] == f"h{i}" for i in range(6))
    batches = [b for b in flushed if b and b[0].startswith("h")]
    assert sorted(i for b in batches for i in b) == [f"h{i}" for i in range(6)] and len(batches) <= 4


def test_a_second_flush_starts_only_once_enough_requests_wait():
    """spill=3: one or two requests wait for the running flush (bigger batches, less CPU per request); the third
    waiting one starts the second flush and takes the others with it."""
    gate, flushed = threading.Event(), []

    def held(items):  # noqa: ANN001, ANN202
        flushed.append(list(items))
        if "first" in items:
            gate.wait(10)
        return list(items)

    c = Combiner(held, in_flight=2, spill=3)
    results: dict[str, object] = {}

    def send(name: str) -> threading.Thread:
        t = threading.Thread(target=lambda: results.update({name: c.submit(name)}), daemon=True)
        t.start()
        time.sleep(0.05)
        return t
    threads = [send("first"), send("w1"), send("w2")]
    assert flushed == [["first"]]                          # two waiting: no second flush yet
    threads.append(send("w3"))                             # the third waiting one spills
    assert sorted(flushed[1]) == ["w1", "w2", "w3"]
    gate.set()
    for t in threads:
        t.join(5)
    assert results == {n: n for n in ("first", "w1", "w2", "w3")}
