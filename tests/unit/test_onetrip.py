"""PostgreSQL hot writes in one round trip (hub/store/onetrip.py): one query per group commit, atomic, values quoted
by the driver. Issue 10: the round trips, not the work, were most of the gateway's latency at low rates."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import event

from hub.message import Message
from hub.store import HopRecord, Outcome, Store
from hub.store.engine import WITHOUT_FLUSH_WAIT
from hub.store.onetrip import Script


@pytest.fixture
def store_url(pg_url):
    """PostgreSQL only (the shared ``store`` fixture, tests/unit/conftest.py, on this module's store_url)."""
    return pg_url


@pytest.fixture
def pg_store(store):
    return store


def _queries(store: Store) -> list[str]:
    """Every statement the store's engine sends from now on, as the driver got it."""
    seen: list[str] = []
    for engine in {store.engine, store.hot_engine, store.claim_engine}:
        # the claims' per-statement setting (hub/store/engine.py) is not a statement of its own: one round trip
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cur, sql, *a: seen.append(sql.removeprefix(WITHOUT_FLUSH_WAIT)))
    return seen


def ping(mid: str, text: str = "xin chào") -> Message:
    return Message(id=mid, type="demo.ping", source="demo", payload={"text": text}, subject=f"S-{mid}")


def test_an_accept_is_one_query_and_its_values_survive_quoting(pg_store):
    tricky = "50 % of 'quoted' \"double\" ; DROP TABLE messages; -- \\ backslash, Tiếng Việt %(name)s %s"
    seen = _queries(pg_store)
    result = pg_store.accept(ping("q1", tricky), "d1", [("r1", "echo"), ("r2", "echo")],
                             [HopRecord("received", detail=tricky), HopRecord("routed", duration_ms=0.25)])
    assert result.created and [d.id for d in result.deliveries] == ["q1/r1", "q1/r2"]
    assert len(seen) == 1, seen                      # messages, deliveries and hops: one query, no BEGIN/COMMIT
    assert seen[0].count("INSERT INTO") == 3
    record = pg_store.message("q1")
    assert json.loads(record["message"]["envelope"])["payload"] == {"text": tricky}
    assert [(h["kind"], h["detail"], h["duration_ms"]) for h in record["hops"]] == [
        ("received", tricky, None), ("routed", None, 0.25)]
    assert [d["state"] for d in record["deliveries"]] == ["pending", "pending"]
    assert pg_store.claim("q1/r1", 30).message.payload == {"text": tricky}


def test_a_batch_with_a_failing_row_writes_nothing_of_that_batch(pg_store):
    """One implicit transaction: the duplicate id makes the whole query roll back, then each goes alone."""
    pg_store.accept(ping("dup"), "d", [("r1", "echo")], [HopRecord("received")])
    gate = threading.Barrier(6)
    results: list = [None] * 6

    def send(i: int) -> None:
        gate.wait()
        results[i] = pg_store.accept(ping("dup" if i == 0 else f"n{i}"), "d", [("r1", "echo")],
                                     [HopRecord("received")])
    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results[0].created is False
    assert all(r.created for r in results[1:])
    for i in range(1, 6):
        assert len(pg_store.message(f"n{i}")["hops"]) == 1   # written once, not once per try
    assert len(pg_store.message("dup")["hops"]) == 1


def test_one_query_is_one_transaction_a_failing_statement_undoes_the_earlier_ones(pg_store):
    """The mechanism itself, without depending on which requests a batch happens to gather."""
    from sqlalchemy.exc import IntegrityError

    from hub.store import onetrip
    from hub.store.schema import deliveries, hops
    pg_store.accept(ping("taken"), "d", [("r1", "echo")], [])
    row = {"message_id": "fresh", "at": datetime(2026, 1, 1, tzinfo=timezone.utc), "kind": "received"}
    taken = {"id": "taken/r1", "message_id": "taken", "route": "r1", "connector": "echo", "state": "pending",
             "attempts": 0, "created_at": row["at"], "updated_at": row["at"], "window_start": row["at"]}
    with pytest.raises(IntegrityError):
        with pg_store.hot_engine.connect() as conn:
            onetrip.run(conn, lambda s: s.insert(hops, [row]).insert(deliveries, [taken]))
    with pg_store.engine.connect() as conn:
        assert conn.execute(hops.select().where(hops.c.message_id == "fresh")).all() == []


def test_outcomes_are_one_query_and_an_attempt_given_back_is_subtracted(pg_store):
    for mid in ("o1", "o2"):
        pg_store.accept(ping(mid), "d", [("r1", "echo")], [])
    first, second = pg_store.claim("o1/r1", 30), pg_store.claim("o2/r1", 30)
    seen = _queries(pg_store)
    later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    pg_store.finish(first, Outcome("delivered", reply={"ma": "50%'"}), [HopRecord("sent", delivery_id=first.id)])
    pg_store.finish(second, Outcome("retry_wait", "partner.circuit_open", "open", next_attempt_at=later,
                                    counted=False), [])
    assert len(seen) == 2 and all(q.startswith("UPDATE") for q in seen), seen
    done, waiting = pg_store.delivery_state("o1/r1"), pg_store.delivery_state("o2/r1")
    assert done["state"] == "delivered" and done["delivered_at"] is not None and '"50%\'"' in done["reply"]
    assert done["attempts"] == 1 and done["lease_until"] is None
    assert waiting["state"] == "retry_wait" and waiting["attempts"] == 0      # given back: 1 - 1
    assert waiting["next_attempt_at"] == later and waiting["last_code"] == "partner.circuit_open"
    assert [h["kind"] for h in pg_store.message("o1")["hops"]] == ["sent"]


def test_a_claim_is_one_statement_without_begin_or_commit(pg_store):
    pg_store.accept(ping("c1"), "d", [("r1", "echo")], [])
    seen = _queries(pg_store)
    claimed = pg_store.claim("c1/r1", 30)
    assert claimed is not None and claimed.attempts == 1
    assert len(seen) == 1 and seen[0].startswith("UPDATE"), seen
    assert pg_store.claim("c1/r1", 30) is None               # leased: the second asker gets nothing


def test_a_dead_letter_still_takes_the_ordinary_transaction(pg_store):
    pg_store.accept(ping("x1"), "d", [("r1", "echo")], [])
    claimed = pg_store.claim("x1/r1", 30)
    pg_store.finish(claimed, Outcome("dead", "partner.refused", "no"), [])
    assert pg_store.delivery_state("x1/r1")["state"] == "dead"
    assert [d["delivery_id"] for d in pg_store.dead_letter_list()] == ["x1/r1"]


def test_the_script_quotes_identifiers_and_leaves_no_placeholder_unfilled(pg_store):
    from hub.store.schema import hops
    with pg_store.engine.connect() as conn:
        script = Script(conn.connection.dbapi_connection.cursor(), conn.dialect.identifier_preparer.quote)
        script.insert(hops, [{"message_id": "m", "at": datetime(2026, 1, 1, tzinfo=timezone.utc), "kind": "k",
                              "detail": "%s %(x)s"}])
        sql = script.sql()
    assert sql.startswith("INSERT INTO hops (message_id, at, kind, detail) VALUES ('m', '2026-01-01T00:00:00+00:00'")
    assert "'%s %(x)s'" in sql
