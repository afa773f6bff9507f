"""Per-subject ordering of deliveries (route option ``ordered: subject``).

Updates of one dossier must reach a partner in the order the hub accepted them, with any number of workers and
retries. The rule, checked inside the claiming transaction: a delivery of subject S on connector C may start only
when no delivery of S on C that was accepted earlier is still unfinished (pending, in flight or waiting for a
retry). A delivery that must wait goes to ``retry_wait`` (:data:`WAITING`). The one before it, once finished,
releases it at once (:func:`release_next`); the scheduler's retry sweep publishes it again after
:data:`WAIT_SECONDS` (then every :data:`WAIT_AGAIN_SECONDS`) only as a safety net, so a long queue of waiting
updates does not churn the bus and the store. Waiting costs no attempt.

The race between parking and releasing (the one before finishes while this one is being parked, so
:func:`release_next` does not see it yet) is closed from the parking side: after its park is committed, the
claimer looks again (:func:`unpark_if_free`). Whichever commits second sees the other's commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hub.store.schema import deliveries, hops, messages

WAIT_SECONDS = 0.5         # the first wait: the one before may be just finishing
WAIT_AGAIN_SECONDS = 5.0   # later waits: the one before is slow or retrying; its finish releases this one anyway
WAITING = "delivery.waiting_for_earlier"   # last_code while waiting: shows in the trace and `run.py trace`
UNFINISHED = ("pending", "in_flight", "retry_wait")


def earlier_unfinished(conn: Connection, delivery_id: str) -> str | None:
    """The id of an earlier-accepted unfinished delivery of the same subject on the same connector, if any."""
    me, rows = _with_its_subject(conn, delivery_id)
    if me is None:
        return None
    earlier = [r for r in rows if r.connector == me.connector and r.state in UNFINISHED and r.id != delivery_id
               and _acceptance(r) < _acceptance(me)]
    return min(earlier, key=_acceptance).id if earlier else None


def _acceptance(row: Any) -> tuple:
    """The hub's acceptance order: ``accepted_at``, then message id."""
    return row.accepted_at, row.message_id


def _with_its_subject(conn: Connection, delivery_id: str) -> tuple[Any, list]:
    """(this delivery, every delivery of the messages of its subject - a dossier's few, this one included), in one
    statement; (None, []) when the delivery is unknown or its message has no subject.

    Only the subject narrows the statement; connector and state are filtered here, in Python, on purpose. With
    them in SQL, PostgreSQL may start from the deliveries of the connector in those states (its index) and look
    up each one's message: 6,046 pages read for two checks behind 1,000 queued dossiers against 44 now
    (tests/unit/test_ordering.py), 42 ms per claim behind 2,200 in the bench (bench/README.md, dvcqg-sync), at
    every claim of every ordered delivery, and most likely exactly when a burst has just filled the
    tables, before autovacuum has analysed them. Named by the subject alone, the plan has one way in."""
    mine = select(messages.c.subject).join(deliveries, deliveries.c.message_id == messages.c.id) \
        .where(deliveries.c.id == delivery_id).scalar_subquery()
    rows = list(conn.execute(select(deliveries.c.id, deliveries.c.connector, deliveries.c.state,
                                    deliveries.c.last_code, deliveries.c.message_id, messages.c.accepted_at)
                             .join(messages, messages.c.id == deliveries.c.message_id)
                             .where(messages.c.subject == mine)).all())
    me = next((r for r in rows if r.id == delivery_id), None)
    return (me, rows) if me is not None else (None, [])


def wait_behind(conn: Connection, delivery_id: str, blocker: str, now: datetime, process: str) -> None:
    """Park a pending delivery behind ``blocker``; the first wait is recorded in the trace, later ones are not."""
    row = conn.execute(select(deliveries.c.message_id, deliveries.c.last_code)
                       .where(deliveries.c.id == delivery_id, deliveries.c.state == "pending")).first()
    if row is None:
        return
    wait = WAIT_AGAIN_SECONDS if row.last_code == WAITING else WAIT_SECONDS
    conn.execute(update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.state == "pending").values(
        state="retry_wait", next_attempt_at=now + timedelta(seconds=wait), updated_at=now,
        last_code=WAITING, last_error=f"waiting for {blocker}"))
    if row.last_code != WAITING:
        conn.execute(insert(hops).values(message_id=row.message_id, delivery_id=delivery_id, at=now, kind="waiting",
                                         code=WAITING, detail=f"behind earlier delivery {blocker}", process=process))


def release_next(store: "Store", delivery_id: str) -> list["DeliveryRef"]:  # noqa: F821 - hub.store.repo types
    """After a delivery of S on C finished: the next one waiting behind it is due now, not at the next sweep
    (one, the earliest: the others still wait for it). Returns it for publishing."""
    from hub.store.repo import DeliveryRef
    from hub.message import utcnow
    now = utcnow()
    # PostgreSQL: autocommit, so the common case (nothing parked behind it) is one statement, one round trip;
    # the move is one guarded UPDATE that needs no transaction around it. On the claims' pool: a release lost in a
    # database crash leaves the delivery parked, and the retry sweep publishes it (WAIT_SECONDS)
    with store._begin(autocommit=store._one_trip, claims=True) as conn:
        me, rows = _with_its_subject(conn, delivery_id)
        if me is None:
            return []
        parked = [r for r in rows
                  if r.connector == me.connector and r.state == "retry_wait" and r.last_code == WAITING]
        if not parked:
            return []
        row = min(parked, key=_acceptance)
        moved = conn.execute(update(deliveries).where(deliveries.c.id == row.id, deliveries.c.state == "retry_wait")
                             .values(state="pending", updated_at=now))
    return [DeliveryRef(row.id, me.connector)] if moved.rowcount == 1 else []


def unpark_if_free(store: "Store", delivery_id: str) -> bool:  # noqa: F821 - hub.store.repo types
    """After parking ``delivery_id`` (committed): if nothing earlier is unfinished any more, it is pending again
    and the caller may claim it now. True when it was moved."""
    from hub.message import utcnow
    with store._begin() as conn:
        if earlier_unfinished(conn, delivery_id) is not None:
            return False
        moved = conn.execute(update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.state == "retry_wait",
                                                      deliveries.c.last_code == WAITING)
                             .values(state="pending", updated_at=utcnow()))
    return moved.rowcount == 1
