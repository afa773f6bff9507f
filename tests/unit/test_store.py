"""The store on SQLite and on the real PostgreSQL: one schema, migrations, the durability operations."""
from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.message import Message, utcnow
from hub.store import HopRecord, Outcome
from hub.store.schema import metadata


def ping(i: str = "m1") -> Message:
    return Message(id=i, type="demo.ping", source="demo", payload={"text": "xin chào"}, subject="S-1")


def test_migrations_match_the_tables_and_rerun(store):
    store.migrate()  # idempotent
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"


def test_accept_is_idempotent_and_keeps_the_first_digest(store):
    first = store.accept(ping(), "d1", [("r1", "echo"), ("r2", "onestop")], [HopRecord("received")])
    assert first.created and [d.id for d in first.deliveries] == ["m1/r1", "m1/r2"]
    again = store.accept(ping(), "d2", [("r1", "echo")], [])
    assert not again.created and again.digest == "d1" and len(again.deliveries) == 2
    assert len(store.message("m1")["deliveries"]) == 2


def test_claim_once_then_finish(store):
    store.accept(ping(), "d", [("r1", "echo")], [])
    claimed = store.claim("m1/r1", lease_seconds=30)
    assert claimed and claimed.attempts == 1 and claimed.message.payload == {"text": "xin chào"}
    assert store.claim("m1/r1", 30) is None          # in flight elsewhere: not sent twice
    store.finish(claimed, Outcome("delivered", reply={"ok": 1}), [HopRecord("delivered", delivery_id="m1/r1")])
    assert store.claim("m1/r1", 30) is None          # redelivered after done: recognised
    state = store.delivery_state("m1/r1")
    assert state["state"] == "delivered" and state["delivered_at"] is not None


def test_expired_lease_is_claimable_again(store):
    store.accept(ping(), "d", [("r1", "echo")], [])
    assert store.claim("m1/r1", lease_seconds=-1)    # a worker that died mid-attempt
    again = store.claim("m1/r1", 30)
    assert again and again.attempts == 2
    assert [r.id for r in store.stale(older_than=3600)] == []


def test_retry_wait_becomes_due(store):
    store.accept(ping(), "d", [("r1", "echo")], [])
    claimed = store.claim("m1/r1", 30)
    store.finish(claimed, Outcome("retry_wait", code="delivery.timeout", next_attempt_at=utcnow() + timedelta(hours=1)), [])
    assert store.due_retries() == [] and store.claim("m1/r1", 30) is None
    store.finish(claimed, Outcome("retry_wait", code="delivery.timeout", next_attempt_at=utcnow() - timedelta(seconds=1)), [])
    assert [r.id for r in store.due_retries()] == ["m1/r1"]
    assert store.claim("m1/r1", 30).attempts == 2


def test_dead_letter_and_replay_keep_the_id(store):
    store.accept(ping(), "d", [("r1", "echo")], [])
    claimed = store.claim("m1/r1", 30)
    store.finish(claimed, Outcome("dead", code="delivery.partner_rejected", error="HTTP 400"), [])
    [dl] = store.dead_letter_list(connector="echo", code="delivery.partner_rejected")
    assert dl["message_id"] == "m1" and dl["reason"] == "HTTP 400"
    assert store.dead_letter_list(connector="other") == []
    refs = store.replay(["m1/r1"], actor="cli:test")
    assert [r.id for r in refs] == ["m1/r1"] and store.replay(["m1/r1"], "again") == []
    assert store.dead_letter_list() == []
    assert [r.id for r in store.due_retries()] == ["m1/r1"]
    assert store.claim("m1/r1", 30).attempts == 1
    kinds = [h["kind"] for h in store.message("m1")["hops"]]
    assert "replayed" in kinds


def test_subject_lookup(store):
    store.accept(ping("a"), "d", [("r1", "echo")], [])
    store.accept(ping("b"), "d", [("r1", "echo")], [])
    assert store.message_ids_for_subject("S-1") == ["a", "b"]


def test_recovery_sweep_finds_what_was_committed_but_never_consumed(store):
    """Committed but not confirmed (the gateway died before publishing, or the broker lost it): stale() returns it,
    once per sweep window, so the scheduler publishes it again."""
    store.accept(ping(), "d", [("r1", "echo")], [])
    assert store.stale(older_than=3600) == []                       # young: a worker will take it
    assert [r.id for r in store.stale(older_than=-1)] == ["m1/r1"]  # old enough: publish again
    assert store.stale(older_than=1) == []                          # touched: not again in the same window
    claimed = store.claim("m1/r1", 30)
    store.finish(claimed, Outcome("delivered"), [])
    assert store.stale(older_than=-1) == []                         # finished deliveries are never republished


def test_recovery_sweep_leaves_deliveries_waiting_in_a_backlogged_queue(store):
    """While a connector's queue still holds messages, its pending deliveries are likely in there: publishing
    them again would only grow the backlog. They count as lost only after the long threshold."""
    store.accept(ping("a"), "d", [("r1", "echo")], [])
    store.accept(ping("b"), "d", [("r1", "other")], [])
    assert [r.id for r in store.stale(older_than=-1, backlogged={"echo"})] == ["b/r1"]   # echo's waits its turn
    later = [r.id for r in store.stale(older_than=-1, backlogged={"echo"}, backlogged_older_than=-1)]
    assert "a/r1" in later, "past the long threshold a backlogged connector's delivery counts as lost"
