"""Store operations, one transaction each. The durability contract (DESIGN.md) lives here:

* ``accept`` writes the message, one delivery per route and the first hops in one transaction;
* ``claim`` marks an attempt in flight with a lease, so a redelivered bus message whose delivery is already
  finished (or being worked on) is recognised and not sent to the partner again;
* ``finish`` records the outcome and its hops in one transaction, before the bus message is acknowledged;
* retries are rows with ``next_attempt_at``: they survive restarts of any process.
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from hub.errors import STORE_UNAVAILABLE, UnavailableError
from hub.formats import agency_of
from hub.message import Message, canonical_json, utcnow
from hub.logging import mask as mask_text
from hub.store.codec import Codec
from hub.store.codec import load as load_codec
from hub.store.codec import sandbox_dir
from hub.store.engine import make_engine, migrate
from hub.store import ordering
from hub.store.evidence import evidence_row
from hub.store.schema import dead_letters, deliveries, hops, messages
from hub.store.tables_evidence import signature_evidence

PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:64]
TERMINAL = ("delivered", "dead")


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything in the hub is UTC-aware."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


@dataclass
class HopRecord:
    kind: str
    at: datetime = field(default_factory=utcnow)
    duration_ms: float | None = None
    code: str | None = None
    detail: str | None = None
    delivery_id: str | None = None
    #: a hub.signing Evidence with its exact bytes: stored (encrypted) beside the hop, in the same transaction
    evidence: Any = None


@dataclass(frozen=True)
class DeliveryRef:
    id: str
    connector: str


@dataclass
class AcceptResult:
    created: bool
    digest: str
    accepted_at: datetime
    deliveries: list[DeliveryRef]


@dataclass
class ClaimedDelivery:
    id: str
    message: Message
    route: str
    connector: str
    attempts: int
    window_start: datetime


@dataclass
class Outcome:
    state: str                      # delivered | retry_wait | dead
    code: str | None = None
    error: str | None = None
    reply: Any = None
    next_attempt_at: datetime | None = None
    counted: bool = True            # False: the partner was never called (circuit open), give the attempt back


def _masked(text: str | None) -> str | None:
    """Traces, errors and dead letters never hold a citizen's id or phone number, whatever a partner answered."""
    return mask_text(text) if text else text


def delivery_id(message_id: str, route: str) -> str:
    return f"{message_id}/{route}"


class Store:
    def __init__(self, url: str, codec: Codec | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        # payloads at rest are encrypted (hub/store/codec.py); keys load once per process, never per message
        self.codec = codec if codec is not None else load_codec(sandbox_dir(url))

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with self._begin() as conn:
            conn.execute(select(1))

    def _begin(self):  # noqa: ANN202 - a context manager from SQLAlchemy
        return _Guard(self.engine)

    # --- the gateway -----------------------------------------------------------------------------
    def accept(self, message: Message, digest: str, planned: list[tuple[str, str]],
               hop_records: Iterable[HopRecord]) -> AcceptResult:
        now = utcnow()
        rows = [{"id": delivery_id(message.id, route), "message_id": message.id, "route": route,
                 "connector": connector, "state": "pending", "attempts": 0, "created_at": now, "updated_at": now,
                 "window_start": now} for route, connector in planned]
        try:
            with self._begin() as conn:
                conn.execute(insert(messages).values(
                    id=message.id, type=message.type, source=message.source, subject=message.subject,
                    correlation_id=message.correlation_id, created_at=message.created_at, accepted_at=now,
                    agency_id=agency_of(message.subject), digest=digest, envelope=self.codec.encode(canonical_json(message.envelope()))))
                if rows:
                    conn.execute(insert(deliveries), rows)
                self._hops(conn, message.id, hop_records)
            return AcceptResult(True, digest, now, [DeliveryRef(r["id"], r["connector"]) for r in rows])
        except IntegrityError:
            return self._existing(message.id)

    def _existing(self, message_id: str) -> AcceptResult:
        with self._begin() as conn:
            row = conn.execute(select(messages.c.digest, messages.c.accepted_at)
                               .where(messages.c.id == message_id)).one()
            # only those still waiting for a worker: a client retrying after a lost answer re-publishes them
            refs = conn.execute(select(deliveries.c.id, deliveries.c.connector)
                                .where(deliveries.c.message_id == message_id, deliveries.c.state == "pending")).all()
        return AcceptResult(False, row.digest, aware(row.accepted_at), [DeliveryRef(r.id, r.connector) for r in refs])

    # --- the dispatcher --------------------------------------------------------------------------
    def claim(self, delivery: str, lease_seconds: float, ordered: bool = False) -> ClaimedDelivery | None:
        """Start an attempt, or None when the delivery is finished, waiting for its retry time, or leased.
        ``ordered``: wait behind an earlier unfinished delivery of the same subject (hub/store/ordering.py)."""
        now = utcnow()
        with self._begin() as conn:
            if ordered:
                blocker = ordering.earlier_unfinished(conn, delivery)
                if blocker is not None:
                    ordering.wait_behind(conn, delivery, blocker, now, PROCESS)
                    return None
            claimable = or_(deliveries.c.state == "pending",
                            and_(deliveries.c.state == "in_flight", deliveries.c.lease_until < now))
            result = conn.execute(update(deliveries).where(deliveries.c.id == delivery, claimable).values(
                state="in_flight", attempts=deliveries.c.attempts + 1, updated_at=now,
                lease_until=now + timedelta(seconds=lease_seconds)))
            if result.rowcount != 1:
                return None
            row = conn.execute(select(deliveries.c.route, deliveries.c.connector, deliveries.c.attempts,
                                      deliveries.c.window_start, messages.c.envelope)
                               .join(messages, messages.c.id == deliveries.c.message_id)
                               .where(deliveries.c.id == delivery)).one()
        return ClaimedDelivery(delivery, Message.from_envelope(json.loads(self.codec.decode(row.envelope))),
                               row.route, row.connector,
                               row.attempts, aware(row.window_start))

    def finish(self, claimed: ClaimedDelivery, outcome: Outcome, hop_records: Iterable[HopRecord]) -> None:
        now = utcnow()
        values: dict[str, Any] = {"state": outcome.state, "updated_at": now, "lease_until": None,
                                  "last_code": outcome.code, "last_error": _masked(outcome.error),
                                  "next_attempt_at": outcome.next_attempt_at}
        if not outcome.counted:
            values["attempts"] = deliveries.c.attempts - 1
        if outcome.state == "delivered":
            values["delivered_at"] = now
            values["reply"] = None if outcome.reply is None else self.codec.encode(canonical_json(outcome.reply))
        with self._begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == claimed.id).values(**values))
            if outcome.state == "dead":
                self._dead_letter(conn, claimed, outcome, now)
            self._hops(conn, claimed.message.id, hop_records)

    def _dead_letter(self, conn, claimed: ClaimedDelivery, outcome: Outcome, now: datetime) -> None:  # noqa: ANN001
        values = {"message_id": claimed.message.id, "route": claimed.route, "connector": claimed.connector,
                  "code": outcome.code or "unknown", "reason": _masked(outcome.error or "")[:2000], "dead_at": now}
        updated = conn.execute(update(dead_letters).where(dead_letters.c.delivery_id == claimed.id).values(**values))
        if updated.rowcount == 0:
            conn.execute(insert(dead_letters).values(delivery_id=claimed.id, replay_count=0, **values))

    # --- the scheduler ---------------------------------------------------------------------------
    def due_retries(self, limit: int = 500) -> list[DeliveryRef]:
        """Move retries whose time has come back to pending and return them for publishing."""
        now = utcnow()
        with self._begin() as conn:
            # SKIP LOCKED (PostgreSQL): the schedulers of several worker processes take disjoint batches
            rows = conn.execute(select(deliveries.c.id, deliveries.c.connector)
                                .where(deliveries.c.state == "retry_wait", deliveries.c.next_attempt_at <= now)
                                .order_by(deliveries.c.next_attempt_at).limit(limit)
                                .with_for_update(skip_locked=True)).all()
            if rows:
                conn.execute(update(deliveries).where(deliveries.c.id.in_([r.id for r in rows]),
                                                      deliveries.c.state == "retry_wait")
                             .values(state="pending", updated_at=now))
        return [DeliveryRef(r.id, r.connector) for r in rows]

    def stale(self, older_than: float, limit: int = 500) -> list[DeliveryRef]:
        """Pending deliveries nobody picked up (published then lost, or never published) and expired leases."""
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than)
        with self._begin() as conn:
            rows = conn.execute(select(deliveries.c.id, deliveries.c.connector).where(or_(
                and_(deliveries.c.state == "pending", deliveries.c.updated_at < cutoff),
                and_(deliveries.c.state == "in_flight", deliveries.c.lease_until < now))).limit(limit)).all()
            if rows:  # touch them so the next sweep does not publish them again straight away
                conn.execute(update(deliveries).where(deliveries.c.id.in_([r.id for r in rows]),
                                                      deliveries.c.state == "pending").values(updated_at=now))
        return [DeliveryRef(r.id, r.connector) for r in rows]

    def replay(self, delivery_ids: list[str], actor: str) -> list[DeliveryRef]:
        """Dead letters back on the way, keeping the message id; the trace records who replayed them."""
        now = utcnow()
        refs = []
        with self._begin() as conn:
            for did in delivery_ids:
                row = conn.execute(select(deliveries.c.message_id, deliveries.c.connector)
                                   .where(deliveries.c.id == did, deliveries.c.state == "dead")).first()
                if row is None:
                    continue
                # due now: whichever process runs the scheduler publishes it, on any transport
                conn.execute(update(deliveries).where(deliveries.c.id == did).values(
                    state="retry_wait", attempts=0, next_attempt_at=now, updated_at=now, window_start=now))
                conn.execute(update(dead_letters).where(dead_letters.c.delivery_id == did).values(
                    replayed_at=now, replay_count=dead_letters.c.replay_count + 1))
                self._hops(conn, row.message_id, [HopRecord("replayed", now, delivery_id=did, detail=f"by {actor}")])
                refs.append(DeliveryRef(did, row.connector))
        return refs

    # --- reading ---------------------------------------------------------------------------------
    def message(self, message_id: str) -> dict[str, Any] | None:
        with self._begin() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
            if row is None:
                return None
            dels = conn.execute(select(deliveries).where(deliveries.c.message_id == message_id)
                                .order_by(deliveries.c.route)).all()
            hop_rows = conn.execute(select(hops).where(hops.c.message_id == message_id).order_by(hops.c.id)).all()
        message = dict(row._mapping)
        message["envelope"] = self.codec.decode(message["envelope"])
        return {"message": message,
                "deliveries": [{**d._mapping, "reply": self.codec.decode(d.reply)} for d in dels],
                "hops": [dict(h._mapping) for h in hop_rows]}

    def message_ids_for_subject(self, subject: str, limit: int = 200) -> list[str]:
        with self._begin() as conn:
            rows = conn.execute(select(messages.c.id).where(messages.c.subject == subject)
                                .order_by(messages.c.accepted_at).limit(limit)).all()
        return [r.id for r in rows]

    def dead_letter_list(self, connector: str | None = None, since: datetime | None = None,
                         code: str | None = None, route: str | None = None, limit: int = 10_000) -> list[dict[str, Any]]:
        q = (select(dead_letters).join(deliveries, deliveries.c.id == dead_letters.c.delivery_id)
             .where(deliveries.c.state == "dead"))
        if connector:
            q = q.where(dead_letters.c.connector == connector)
        if since:
            q = q.where(dead_letters.c.dead_at >= since)
        if code:
            q = q.where(dead_letters.c.code == code)
        if route:
            q = q.where(dead_letters.c.route == route)
        with self._begin() as conn:
            rows = conn.execute(q.order_by(dead_letters.c.dead_at).limit(limit)).all()
        return [dict(r._mapping) for r in rows]

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        with self._begin() as conn:
            rows = conn.execute(select(deliveries.c.connector, deliveries.c.state, func.count())
                                .group_by(deliveries.c.connector, deliveries.c.state)).all()
        counts: dict[str, dict[str, int]] = {}
        for connector, state, n in rows:
            counts.setdefault(connector, {})[state] = n
        return counts

    def delivery_state(self, delivery: str) -> dict[str, Any] | None:
        with self._begin() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery)).first()
        return {**row._mapping, "reply": self.codec.decode(row.reply)} if row else None

    def _hops(self, conn, message_id: str, records: Iterable[HopRecord]) -> None:  # noqa: ANN001
        records = list(records)
        rows = [{"message_id": message_id, "delivery_id": h.delivery_id, "at": h.at, "kind": h.kind,
                 "duration_ms": h.duration_ms, "code": h.code, "detail": (h.detail or None) and _masked(h.detail)[:2000],
                 "process": PROCESS} for h in records]
        if rows:
            conn.execute(insert(hops), rows)
        kept = [evidence_row(self.codec, message_id, h) for h in records if getattr(h.evidence, "data", None) is not None]
        if kept:
            conn.execute(insert(signature_evidence), kept)


class _Guard:
    """engine.begin() that turns a lost or full database into the hub's 503 (fail closed), never a 500."""

    LOST = (OperationalError, InterfaceError)

    def __init__(self, engine) -> None:  # noqa: ANN001
        self._cm = engine.begin()

    def __enter__(self):  # noqa: ANN204
        try:
            return self._cm.__enter__()
        except self.LOST as exc:
            raise UnavailableError(STORE_UNAVAILABLE, "the message store cannot be reached") from exc

    def __exit__(self, exc_type, exc, tb):  # noqa: ANN001, ANN204
        try:
            suppressed = self._cm.__exit__(exc_type, exc, tb)
        except self.LOST as err:
            raise UnavailableError(STORE_UNAVAILABLE, "the message store cannot be reached") from err
        if isinstance(exc, self.LOST):
            raise UnavailableError(STORE_UNAVAILABLE, "the message store cannot be reached") from exc
        return suppressed
