"""The DVCQG path's store work per dossier, on SQLite and PostgreSQL: what it reads and writes, and on PostgreSQL
in how many round trips (each one a wake-up of the database and of the worker; bench/README.md, dvcqg-sync).

* freshness: one look at ``dossier_state`` for a whole batch of syncs, not one transaction per dossier;
* a dossier with a known state is on the portal: it is synced as an update;
* the acknowledged states: one upsert (newest wins, in the batch and against what is stored) and the lag rows,
  counted from the ``accepted_at`` the delivery carries (no look-up of the message);
* ordered claims and releases: autocommit statements, no BEGIN and COMMIT around them.
"""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from connectors.dvcqg_batch import Work
from hub import registry
from hub.message import Message, utcnow
from hub.store import Outcome, Store, dossiers
from hub.store.engine import WITHOUT_FLUSH_WAIT
from hub.store.ordering import release_next
from tests.contract.kit import StubContext, delivery_for

AGENCY = "000.00.14.H20"
MADE = datetime(2026, 11, 20, 2, 30, tzinfo=timezone.utc)


def code(i: int) -> str:
    return f"{AGENCY}-261120-{i:04d}"


class Statements:
    """Every statement the store's engines send, with whether the connection was in autocommit (then the driver
    sends no BEGIN and no COMMIT of its own: one statement is one round trip)."""

    def __init__(self, store: Store) -> None:
        self.seen: list[tuple[str, bool]] = []
        for engine in {store.engine, store.hot_engine, store.claim_engine}:
            event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        autocommit = bool(getattr(conn.connection.dbapi_connection, "autocommit", False))
        # the claims' per-statement setting (hub/store/engine.py) rides in the same query: one round trip
        self.seen.append((statement.removeprefix(WITHOUT_FLUSH_WAIT).split(None, 3)[:3], autocommit))

    def clear(self) -> None:
        self.seen.clear()

    def of(self, table: str) -> list:
        return [s for s in self.seen if any(table in word for word in s[0])]


@pytest.fixture
def connector(store):
    c = registry.connectors.get("dvcqg")("dvcqg", {
        "url": "http://127.0.0.1:9", "username": "u", "password": "p", "dstcode": "LGSP-H20",
        "madonvi": "000.00.00.H20"}, StubContext())   # port 9: a call to the portal would fail the test
    c.context.store = store
    c.start()
    yield c
    c.stop()


def sync_work(i: int, made: datetime, message_id: str | None = None) -> Work:
    delivery = delivery_for("dossier.sync", {"dossier_code": code(i), "status": 2}, subject=code(i))
    delivery.message.headers["updated_at"] = made.isoformat()
    if message_id:
        delivery.message = dataclasses.replace(delivery.message, id=message_id)
    return Work("dossier", code(i), {"MaHoSo": code(i)}, delivery)


def ack(i: int, status: int, made: datetime, message_id: str, accepted_at: datetime | None = None):  # noqa: ANN201
    return dossiers.Acknowledged(code(i), AGENCY, "1.001612", status, made, message_id, made + timedelta(seconds=3),
                                 accepted_at)


def test_a_batch_of_syncs_looks_at_the_dossier_states_once(store, connector):
    dossiers.record(store, [ack(1, 2, MADE, "m-1"), ack(2, 2, MADE, "m-2")])
    works = [sync_work(1, MADE + timedelta(minutes=1)),           # newer than the portal's: sent
             sync_work(2, MADE - timedelta(minutes=1)),           # older: skipped
             sync_work(3, MADE, "m-3"),                           # never synced: sent as new
             sync_work(1, MADE, "m-1")]                           # the very message the portal acknowledged
    seen = Statements(store)
    connector._skip_stale(works)
    assert len(seen.of("dossier_state")) == 1
    assert [w.done for w in works] == [False, True, False, True]
    assert works[1].result.partner_ref.startswith("skipped: older") and works[1].extra["skipped"]
    assert works[3].result.partner_ref == "skipped: already acknowledged by the portal"
    assert {code(1), code(2)} <= connector._known.keys() and code(3) not in connector._known   # synced as updates


def test_the_dossiers_a_connector_remembers_are_bounded(connector, monkeypatch):
    from connectors import dvcqg
    monkeypatch.setattr(dvcqg, "KNOWN_LIMIT", 3)
    for i in range(1, 6):
        connector._remember(code(i))
    connector._remember(code(5))
    assert list(connector._known) == [code(3), code(4), code(5)]       # the oldest forgotten first


def test_acknowledged_states_newest_wins_in_the_batch_and_against_the_store(store):
    dossiers.record(store, [ack(1, 5, MADE + timedelta(minutes=10), "m-0")])
    lags = dossiers.record(store, [
        ack(1, 6, MADE + timedelta(minutes=20), "m-2"),
        ack(1, 4, MADE + timedelta(minutes=15), "m-1"),               # older than the one before it in the batch
        ack(2, 2, MADE, "m-3"),
        ack(3, 3, MADE + timedelta(minutes=1), "m-5"),
        ack(3, 2, MADE, "m-4")])
    assert len(lags) == 5 and dossiers.lag_count(store) == 6          # every acknowledgement keeps its lag
    assert (dossiers.latest(store, code(1)).status, dossiers.latest(store, code(1)).message_id) == (6, "m-2")
    assert dossiers.latest(store, code(2)).status == 2
    assert dossiers.latest(store, code(3)).message_id == "m-5"
    dossiers.record(store, [ack(1, 3, MADE, "m-late")])               # late: kept as lag, not as the state
    assert dossiers.latest(store, code(1)).message_id == "m-2"


def test_the_lag_counts_from_the_accepted_at_the_delivery_carries(store):
    accepted = MADE - timedelta(seconds=7)
    seen = Statements(store)
    ((agency, lag_ms),) = dossiers.record(store, [ack(1, 2, MADE, "m-unknown-to-the-store", accepted)])
    assert agency == AGENCY and lag_ms == pytest.approx(10_000)        # acknowledged 3 s after MADE, 10 s after accept
    assert not seen.of("messages")                                    # no look-up of the message
    assert dossiers.latest(store, code(1)).accepted_at == accepted


def test_on_postgresql_the_states_of_a_batch_are_written_in_one_round_trip(pg_url):
    store = Store(pg_url)
    store.migrate()
    try:
        seen = Statements(store)
        dossiers.record(store, [ack(i, 2, MADE, f"m-{i}", MADE) for i in range(1, 6)])
        assert len(seen.seen) == 1 and seen.seen[0][1]                # one query, in autocommit: no BEGIN, no COMMIT
        seen.clear()
        assert len(dossiers.latest_of(store, [code(i) for i in range(1, 9)])) == 5
        assert len(seen.seen) == 1 and seen.seen[0][1]
    finally:
        store.close()


def test_on_postgresql_an_ordered_claim_and_its_release_open_no_transaction(pg_url):
    store = Store(pg_url)
    store.migrate()
    try:
        for i in (1, 2):
            store.accept(Message(id=f"u{i}", type="dossier.sync", source="demo", payload={}, subject=code(1)),
                         f"d{i}", [("sync", "dvcqg")], [])
            time.sleep(0.002)
        seen = Statements(store)
        first = store.claim("u1/sync", 30, ordered=True)
        assert first is not None and first.accepted_at is not None
        assert len(seen.seen) == 2 and all(auto for _, auto in seen.seen)   # the check and the claim
        store.finish(first, Outcome("delivered"), [])
        seen.clear()
        assert release_next(store, "u1/sync") == []                         # nothing parked behind it
        assert len(seen.seen) == 1 and seen.seen[0][1]
        before = utcnow()
        assert store.claim("u2/sync", 30, ordered=True).accepted_at < before
    finally:
        store.close()


def test_on_postgresql_bursts_on_the_hot_paths_reuse_their_connections(pg_url):
    """More callers at once than the hot pool holds wait for a connection; none is opened for the burst and closed
    after it (an overflow connection: a new PostgreSQL backend per burst, 11 % of the DVCQG worker's samples)."""
    import threading

    store = Store(pg_url)
    store.migrate()
    try:
        opened: list[object] = []
        event.listen(store.hot_engine, "connect", lambda dbapi_conn, record: opened.append(dbapi_conn))
        for _burst in range(5):
            callers = [threading.Thread(target=dossiers.latest_of, args=(store, [code(i)])) for i in range(12)]
            for t in callers:
                t.start()
            for t in callers:
                t.join(10)
        assert 1 <= len(opened) <= store.hot_engine.pool.size()
    finally:
        store.close()


def test_on_postgresql_only_the_claims_commit_without_waiting_for_the_flush(pg_url):
    """Claims and releases lease attempts (a lost one is the retry of an unrecorded outcome: Store.__init__);
    accepts and outcomes are the durability contract and wait for the WAL flush."""
    store = Store(pg_url)
    store.migrate()
    try:
        setting = {}
        for name, engine in (("claims", store.claim_engine), ("hot", store.hot_engine), ("other", store.engine)):
            with engine.connect() as conn:
                # what a write commits with (VALUES stands for one: any statement but a SELECT), and a SELECT's
                # (it writes no WAL, so its commit waits for no flush: left alone)
                setting[name] = (conn.exec_driver_sql("VALUES (current_setting('synchronous_commit'))").scalar_one(),
                                 conn.exec_driver_sql("SELECT current_setting('synchronous_commit')").scalar_one())
        assert setting == {"claims": ("off", "on"), "hot": ("on", "on"), "other": ("on", "on")}
        # per statement only: the session's own setting is untouched (safe behind a transaction-pooling PgBouncer)
        with store.claim_engine.connect() as conn:
            raw = conn.connection.dbapi_connection.cursor()
            raw.execute("SHOW synchronous_commit")
            assert raw.fetchone()[0] == "on"
        store.accept(Message(id="c1", type="dossier.sync", source="demo", payload={}, subject=code(1)), "d",
                     [("sync", "dvcqg"), ("other", "echo")], [])
        used: list[object] = []
        for engine in (store.claim_engine, store.hot_engine, store.engine):
            event.listen(engine, "before_cursor_execute",
                         lambda conn, *a, engine=engine: used.append(engine))
        ordered = store.claim("c1/sync", 30, ordered=True)
        grouped = store.claim("c1/other", 30)
        assert ordered is not None and grouped is not None
        assert used and all(e is store.claim_engine for e in used)
        used.clear()
        store.finish(grouped, Outcome("delivered"), [])
        assert used and all(e is store.hot_engine for e in used)
    finally:
        store.close()
