"""Per-subject ordering in Store.claim and the dossier state repository, on SQLite and PostgreSQL."""
from __future__ import annotations

import time
from datetime import timedelta


from hub.message import Message, utcnow
from hub.store import HopRecord, Outcome, Store, dossiers
from hub.store.ordering import WAIT_SECONDS, WAITING, release_next


def update(i: int, subject: str = "000.00.14.H20-231120-0001") -> Message:
    return Message(id=f"u{i}", type="dossier.sync", source="demo", payload={"status": i}, subject=subject)


def accept(store: Store, *ids: int, subject: str = "000.00.14.H20-231120-0001", connector: str = "dvcqg") -> None:
    for i in ids:
        store.accept(update(i, subject), f"d{i}", [("sync", connector)], [])
        time.sleep(0.002)   # distinct accepted_at, as separate client requests have


def test_later_update_waits_until_the_earlier_one_is_finished(store):
    accept(store, 1, 2)
    assert store.claim("u2/sync", 30, ordered=True) is None           # u1 not finished: u2 waits
    waiting = store.delivery_state("u2/sync")
    assert waiting["state"] == "retry_wait" and waiting["last_code"] == WAITING and waiting["attempts"] == 0
    first = store.claim("u1/sync", 30, ordered=True)
    assert first is not None
    store.finish(first, Outcome("delivered"), [])
    assert store.due_retries() == []                                  # due only after WAIT_SECONDS
    time.sleep(WAIT_SECONDS + 0.05)
    assert [r.id for r in store.due_retries()] == ["u2/sync"]
    second = store.claim("u2/sync", 30, ordered=True)
    assert second is not None and second.attempts == 1
    kinds = [h["kind"] for h in store.message("u2")["hops"]]
    assert kinds.count("waiting") == 1


def test_an_earlier_update_waiting_for_retry_still_blocks(store):
    accept(store, 1, 2)
    first = store.claim("u1/sync", 30, ordered=True)
    store.finish(first, Outcome("retry_wait", code="delivery.partner_5xx", next_attempt_at=utcnow() + timedelta(seconds=5)), [])
    assert store.claim("u2/sync", 30, ordered=True) is None


def test_a_dead_earlier_update_does_not_block_forever(store):
    accept(store, 1, 2)
    first = store.claim("u1/sync", 30, ordered=True)
    store.finish(first, Outcome("dead", code="dvcqg.invalid_data", error="x"), [HopRecord("dead_lettered")])
    assert store.claim("u2/sync", 30, ordered=True) is not None


def test_other_subjects_and_connectors_and_unordered_claims_are_not_held(store):
    accept(store, 1, 2)
    accept(store, 3, subject="000.00.14.H20-231120-0002")
    accept(store, 4, connector="onestop")
    assert store.claim("u3/sync", 30, ordered=True) is not None       # another dossier
    assert store.claim("u4/sync", 30, ordered=True) is not None       # same dossier, another partner
    assert store.claim("u2/sync", 30) is not None                     # route without ordering


def test_dossier_state_keeps_the_newest_and_records_lag(store):
    accept(store, 1, 2)
    now = utcnow()
    newer = dossiers.Acknowledged("000.00.14.H20-231120-0001", "000.00.14.H20", "1.000894", 4, now, "u2", now)
    older = dossiers.Acknowledged("000.00.14.H20-231120-0001", "000.00.14.H20", "1.000894", 2,
                                  now - timedelta(seconds=5), "u1", now)
    dossiers.record(store, [newer])
    dossiers.record(store, [older])                                   # late: kept as lag, not as state
    latest = dossiers.latest(store, "000.00.14.H20-231120-0001")
    assert latest.status == 4 and latest.message_id == "u2"
    assert dossiers.lag_count(store, "000.00.14.H20-231120-0001") == 2
    (row,) = dossiers.lag_by_agency(store)
    assert row["agency_id"] == "000.00.14.H20" and row["syncs"] == 2 and row["max_ms"] >= 0
    assert dossiers.latest(store, "000.00.14.H20-231120-9999") is None


def test_finishing_releases_only_the_next_waiting_update(store):
    accept(store, 1, 2, 3)
    assert store.claim("u2/sync", 30, ordered=True) is None
    assert store.claim("u3/sync", 30, ordered=True) is None
    first = store.claim("u1/sync", 30, ordered=True)
    store.finish(first, Outcome("delivered"), [])
    assert [r.id for r in release_next(store, "u1/sync")] == ["u2/sync"]
    assert store.claim("u2/sync", 30, ordered=True) is not None       # no sweep needed
    assert store.delivery_state("u3/sync")["state"] == "retry_wait"   # still behind u2


def test_a_park_that_raced_with_the_earlier_finish_is_undone_at_once(store, monkeypatch):
    """The earlier update finished while this one was being parked (its release saw nothing to release): the
    claimer looks again after its park is committed and takes the delivery now, not at the next sweep."""
    from hub.store import ordering
    accept(store, 1, 2)
    first = store.claim("u1/sync", 30, ordered=True)
    store.finish(first, Outcome("delivered"), [])
    real = ordering.earlier_unfinished
    stale_reads = iter(["u1/sync"])      # the claim's own read still saw u1 unfinished
    monkeypatch.setattr(ordering, "earlier_unfinished", lambda conn, did: next(stale_reads, None) or real(conn, did))
    second = store.claim("u2/sync", 30, ordered=True)
    assert second is not None and second.attempts == 1


def test_unpark_only_when_nothing_earlier_is_unfinished(store):
    from hub.store.ordering import unpark_if_free
    accept(store, 1, 2)
    assert store.claim("u2/sync", 30, ordered=True) is None
    assert unpark_if_free(store, "u2/sync") is False                    # u1 still pending
    first = store.claim("u1/sync", 30, ordered=True)
    store.finish(first, Outcome("delivered"), [])
    assert unpark_if_free(store, "u2/sync") is True
    assert store.delivery_state("u2/sync")["state"] == "pending"


def test_later_waits_are_longer_so_a_queue_of_waiting_updates_does_not_churn(store):
    from hub.store.ordering import WAIT_AGAIN_SECONDS
    accept(store, 1, 2)
    assert store.claim("u2/sync", 30, ordered=True) is None
    time.sleep(WAIT_SECONDS + 0.05)
    assert [r.id for r in store.due_retries()] == ["u2/sync"]          # the safety net publishes it again
    before = utcnow()
    assert store.claim("u2/sync", 30, ordered=True) is None            # u1 still unfinished: waits again, longer
    due = store.delivery_state("u2/sync")["next_attempt_at"]
    due = due if due.tzinfo else due.replace(tzinfo=before.tzinfo)
    assert due - before >= timedelta(seconds=WAIT_AGAIN_SECONDS - 0.5)


def test_a_claim_reads_a_handful_of_pages_however_deep_the_connectors_backlog(pg_url):
    """The ordering check is named by the subject alone (hub/store/ordering.py _with_its_subject). Before, with the
    connector and the states in the statement, PostgreSQL started from the connector's 1,000 undelivered deliveries
    of a fresh (not yet analysed) table and looked up each one's message: thousands of pages per claim, 42 ms in
    the bench. Counted in pages (EXPLAIN's buffers), not milliseconds: the same on every machine."""
    import json

    from sqlalchemy import event

    from hub.store.ordering import earlier_unfinished
    store = Store(pg_url)
    store.migrate()
    try:
        for i in range(1000):        # a burst: 1,000 dossiers waiting for the same partner
            store.accept(update(i, subject=f"000.00.14.H20-231120-{i:04d}"), f"d{i}", [("sync", "dvcqg")], [])
        accept(store, 5000, 5001, subject="000.00.14.H20-231120-9999")
        seen: list[tuple[str, object]] = []

        def note(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001
            seen.append((statement, parameters))
        event.listen(store.engine, "before_cursor_execute", note)
        with store.engine.connect() as conn:
            assert earlier_unfinished(conn, "u5001/sync") == "u5000/sync"
            assert earlier_unfinished(conn, "u5000/sync") is None
        event.remove(store.engine, "before_cursor_execute", note)
        pages = 0
        raw = store.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in seen:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
                plan = cursor.fetchone()[0]
                plan = plan if isinstance(plan, list) else json.loads(plan)
                top = plan[0]["Plan"]
                pages += top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
        finally:
            raw.close()
        assert len(seen) == 2                      # one statement per check
        assert pages < 100, f"{pages} pages read to check the order of two updates of one dossier"
    finally:
        store.close()
