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
from typing import Any, Callable, Iterable, TypeVar

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hub.combine import Combiner
from hub.errors import STORE_UNAVAILABLE, UnavailableError
from hub.formats import agency_of
from hub.message import Message, canonical_json, utcnow
from hub.logging import mask as mask_text
from hub.store.codec import Codec
from hub.store.codec import load as load_codec
from hub.store.codec import sandbox_dir
from hub.store.engine import make_engine, migrate
from hub.store import onetrip, ordering
from hub.store.evidence import evidence_row
from hub.store.schema import dead_letters, deliveries, hops, messages
from hub.store.tables_evidence import signature_evidence

PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:64]
TERMINAL = ("delivered", "dead")
_PARKED = object()   # an ordered claim that parked the delivery behind an earlier one


@dataclass(frozen=True)
class _Blocked:
    """An ordered claim's check found ``blocker`` unfinished before it: the delivery is to be parked."""
    blocker: str


T = TypeVar("T")


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
class _Accept:
    """One message's rows, waiting for the next group commit."""
    message: dict[str, Any]
    deliveries: list[dict[str, Any]]
    hops: list[dict[str, Any]]
    evidence: list[dict[str, Any]]

    def result(self) -> AcceptResult:
        return AcceptResult(True, self.message["digest"], self.message["accepted_at"],
                            [DeliveryRef(r["id"], r["connector"]) for r in self.deliveries])


@dataclass
class ClaimedDelivery:
    id: str
    message: Message
    route: str
    connector: str
    attempts: int
    window_start: datetime
    accepted_at: datetime | None = None   # when the hub accepted the message (partners' sync lag is counted from it)


@dataclass
class Outcome:
    state: str                      # delivered | retry_wait | dead
    code: str | None = None
    error: str | None = None
    reply: Any = None
    next_attempt_at: datetime | None = None
    counted: bool = True            # False: the partner was never called (circuit open), give the attempt back


@dataclass(frozen=True)
class _Claim:
    delivery: str
    lease_seconds: float


@dataclass
class _Finish:
    """One attempt's outcome, waiting for the next group commit."""
    claimed: ClaimedDelivery
    outcome: Outcome
    values: dict[str, Any]
    now: datetime
    hops: list[dict[str, Any]]
    evidence: list[dict[str, Any]]


def _masked(text: str | None) -> str | None:
    """Traces, errors and dead letters never hold a citizen's id or phone number, whatever a partner answered."""
    return mask_text(text) if text else text


def delivery_id(message_id: str, route: str) -> str:
    return f"{message_id}/{route}"


#: claims in one statement: mark the attempts and read what they need (no second SELECT); built once, not per call
_CLAIM = (update(deliveries)
          .where(deliveries.c.id.in_(bindparam("b_ids", expanding=True)),
                 or_(deliveries.c.state == "pending",
                     and_(deliveries.c.state == "in_flight", deliveries.c.lease_until < bindparam("b_now"))))
          .values(state="in_flight", attempts=deliveries.c.attempts + 1, updated_at=bindparam("b_now"),
                  lease_until=bindparam("b_lease"))
          .returning(deliveries.c.id, deliveries.c.route, deliveries.c.connector, deliveries.c.attempts,
                     deliveries.c.window_start,
                     # scalar subqueries, not UPDATE ... FROM: SQLite's RETURNING cannot name a FROM table
                     select(messages.c.envelope).where(messages.c.id == deliveries.c.message_id)
                     .scalar_subquery().label("envelope"),
                     select(messages.c.accepted_at).where(messages.c.id == deliveries.c.message_id)
                     .scalar_subquery().label("accepted_at")))


class Store:
    def __init__(self, url: str, codec: Codec | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        # PostgreSQL: each group commit of the hot paths is one query, one round trip (hub/store/onetrip.py),
        # on connections that are always in autocommit
        self._one_trip = self.engine.dialect.name == "postgresql"
        self.hot_engine = make_engine(url, autocommit=True) if self._one_trip else self.engine
        # Claims (and the releases of ordered deliveries) commit without waiting for their WAL flush: a claim only
        # leases an attempt. Lost in a database crash, the delivery is pending again and the worker's outcome
        # cannot be recorded either (the database is down), so the bus message is not acknowledged and comes back:
        # the same retry as a durable claim whose outcome could not be recorded. An outcome commit waits for the
        # flush, and WAL is flushed in order: once an outcome is durable, so is its claim. Accepts and outcomes keep
        # waiting for the flush (DESIGN.md, the durability contract). Each claim saves a flush wait (1.8 ms per
        # claim in the bench's statement log, bench.statements) on the way of every delivery.
        self.claim_engine = make_engine(url, autocommit=True, claims=True) if self._one_trip else self.engine
        # payloads at rest are encrypted (hub/store/codec.py); keys load once per process, never per message
        self.codec = codec if codec is not None else load_codec(sandbox_dir(url))
        # group commits (hub/combine.py): the gateway's accepts and the dispatchers' outcomes, one transaction each
        self._accepts: Combiner[_Accept, AcceptResult] = Combiner(self._accept_batch)
        self._finishes: Combiner[_Finish, None] = Combiner(self._finish_batch, in_flight=2, spill=8)
        self._claims: Combiner[_Claim, Any] = Combiner(self._claim_batch, in_flight=2, spill=8)

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()
        self.hot_engine.dispose()
        self.claim_engine.dispose()

    def ping(self) -> None:
        with self._begin() as conn:
            conn.execute(select(1))

    def _begin(self, autocommit: bool = False, claims: bool = False):  # noqa: ANN202 - a context manager from SQLAlchemy
        """A transaction on the store; ``autocommit``: a connection of the hot paths' pool (PostgreSQL), ``claims``
        (with it): of the claims' pool, whose commits do not wait for their WAL flush."""
        if not autocommit:
            return _Guard(self.engine, False)
        return _Guard(self.claim_engine if claims else self.hot_engine, True)

    def _run(self, work: Callable[[Any], T], autocommit: bool = False, claims: bool = False) -> T:
        """``work(conn)`` in one transaction, once more on a fresh connection when the first one turned out dead
        (the database restarted since it was pooled: there is no pre-ping, hub/store/engine.py). Only the hot paths
        use it, and only where running twice is harmless: an accept committed just before the connection died
        comes back as a duplicate id (answered as such); a claim as already leased (the stale sweep takes it)."""
        try:
            with self._begin(autocommit, claims) as conn:
                return work(conn)
        except UnavailableError as exc:
            if not (isinstance(exc.__cause__, DBAPIError) and exc.__cause__.connection_invalidated):
                raise
        with self._begin(autocommit, claims) as conn:
            return work(conn)

    # --- the gateway -----------------------------------------------------------------------------
    def accept(self, message: Message, digest: str, planned: list[tuple[str, str]],
               hop_records: Iterable[HopRecord]) -> AcceptResult:
        """Write the message, its deliveries and first hops. Concurrent accepts share one transaction (group
        commit, hub/combine.py); this returns only once THIS message is committed."""
        now = utcnow()
        rows = [{"id": delivery_id(message.id, route), "message_id": message.id, "route": route,
                 "connector": connector, "state": "pending", "attempts": 0, "created_at": now, "updated_at": now,
                 "window_start": now} for route, connector in planned]
        # everything but the SQL is done here, in the caller: one bad message never fails its neighbours' commit
        row = {"id": message.id, "type": message.type, "source": message.source, "subject": message.subject,
               "correlation_id": message.correlation_id, "created_at": message.created_at, "accepted_at": now,
               "agency_id": agency_of(message.subject), "digest": digest,
               "envelope": self.codec.encode(canonical_json(message.envelope()))}
        hop_rows, kept = self._hop_rows(message.id, hop_records)
        return self._accepts.submit(_Accept(row, rows, hop_rows, kept))

    def _accept_batch(self, batch: list[_Accept]) -> list[AcceptResult | Exception]:
        if len(batch) > 1:
            try:
                self._run(lambda conn: self._write_accepts(conn, batch), autocommit=self._one_trip)
                return [a.result() for a in batch]
            except UnavailableError:
                raise  # the store is away: every request of the batch answers 503
            except Exception:  # noqa: BLE001 - a client's retry (a duplicate id) or one bad row: each alone below
                pass
        return [self._accept_alone(a) for a in batch]

    def _accept_alone(self, accept: _Accept) -> AcceptResult | Exception:
        try:
            self._run(lambda conn: self._write_accepts(conn, [accept]), autocommit=self._one_trip)
            return accept.result()
        except IntegrityError:
            try:
                return self._existing(accept.message["id"])
            except Exception as exc:  # noqa: BLE001 - answered to this caller only
                return exc
        except Exception as exc:  # noqa: BLE001
            return exc

    def _write_accepts(self, conn, batch: list[_Accept]) -> None:  # noqa: ANN001
        rows = [r for a in batch for r in a.deliveries]
        hop_rows, kept = [h for a in batch for h in a.hops], [e for a in batch for e in a.evidence]
        if self._one_trip:  # conn is in autocommit: the statements below are one implicit transaction
            onetrip.run(conn, lambda s: s.insert(messages, [a.message for a in batch]).insert(deliveries, rows)
                        .insert(hops, hop_rows).insert(signature_evidence, kept))
            return
        conn.execute(insert(messages), [a.message for a in batch])
        if rows:
            conn.execute(insert(deliveries), rows)
        self._insert_hops(conn, hop_rows, kept)

    def _existing(self, message_id: str) -> AcceptResult:
        with self._begin() as conn:
            row = conn.execute(select(messages.c.digest, messages.c.accepted_at)
                               .where(messages.c.id == message_id)).one()
            # only those still waiting for a worker: a client retrying after a lost answer re-publishes them
            refs = conn.execute(select(deliveries.c.id, deliveries.c.connector)
                                .where(deliveries.c.message_id == message_id, deliveries.c.state == "pending")).all()
        return AcceptResult(False, row.digest, aware(row.accepted_at), [DeliveryRef(r.id, r.connector) for r in refs])

    # --- the dispatcher --------------------------------------------------------------------------
    def claim(self, delivery: str, lease_seconds: float, ordered: bool = False,
              _retries: int = 2, behind_here: Callable[[str], bool] | None = None) -> ClaimedDelivery | None:
        """Start an attempt, or None when the delivery is finished, waiting for its retry time, or leased.
        ``ordered``: wait behind an earlier unfinished delivery of the same subject (hub/store/ordering.py).
        ``behind_here(blocker)``: True when the caller will wait for that earlier delivery itself (it is being
        handled in the caller's process, hub/in_hand.py): then nothing is parked and None is returned."""
        if ordered:
            now = utcnow()

            def check_and_claim(conn) -> Any:  # noqa: ANN001
                blocker = ordering.earlier_unfinished(conn, delivery)
                if blocker is not None:
                    return None if behind_here is not None and behind_here(blocker) else _Blocked(blocker)
                return conn.execute(_CLAIM, {"b_ids": [delivery], "b_now": now,
                                             "b_lease": now + timedelta(seconds=lease_seconds)}).first()
            # PostgreSQL: the check and the claim are two autocommit statements (two round trips, no BEGIN and no
            # COMMIT). The same rule as inside one transaction: at READ COMMITTED the check's SELECT locks nothing
            # and sees what was committed when it ran, in a transaction or not; the claim is one guarded UPDATE.
            row = self._run(check_and_claim, autocommit=self._one_trip, claims=True)
            if isinstance(row, _Blocked):
                # the park (a guarded update and its hop) in a transaction of its own; a blocker that finished
                # meanwhile is caught by the look after it (unpark_if_free), as for a park that raced a release
                blocked = row
                self._run(lambda conn: ordering.wait_behind(conn, delivery, blocked.blocker, now, PROCESS))
                row = _PARKED
            if row is _PARKED:
                # the one before may have finished while this was being parked (see hub/store/ordering.py)
                if _retries > 0 and ordering.unpark_if_free(self, delivery):
                    return self.claim(delivery, lease_seconds, ordered=True, _retries=_retries - 1)
                return None
        else:
            # concurrent claims share one statement and one transaction (group commit)
            row = self._claims.submit(_Claim(delivery, lease_seconds))
        if row is None:
            return None
        return ClaimedDelivery(delivery, Message.from_envelope(json.loads(self.codec.decode(row.envelope))),
                               row.route, row.connector, row.attempts, aware(row.window_start),
                               aware(row.accepted_at))

    def _claim_batch(self, batch: list[_Claim]) -> list[Any]:
        now = utcnow()
        won: dict[str, Any] = {}

        def work(conn) -> None:  # noqa: ANN001
            for lease in {c.lease_seconds for c in batch}:
                ids = sorted({c.delivery for c in batch if c.lease_seconds == lease})
                for row in conn.execute(_CLAIM, {"b_ids": ids, "b_now": now,
                                                 "b_lease": now + timedelta(seconds=lease)}).all():
                    won[row.id] = row
        # one UPDATE ... RETURNING per lease length: in autocommit each is its own transaction, one round trip
        self._run(work, autocommit=self._one_trip, claims=True)
        # the same delivery twice in one batch (a redelivered bus message): only the first caller gets the attempt
        return [won.pop(c.delivery, None) for c in batch]

    def finish(self, claimed: ClaimedDelivery, outcome: Outcome, hop_records: Iterable[HopRecord]) -> None:
        """Record an attempt's outcome; concurrent outcomes share one transaction (group commit). Returns once
        THIS outcome is committed: only then may the bus message be acknowledged."""
        now = utcnow()
        values: dict[str, Any] = {"state": outcome.state, "updated_at": now, "lease_until": None,
                                  "last_code": outcome.code, "last_error": _masked(outcome.error),
                                  "next_attempt_at": outcome.next_attempt_at}
        if not outcome.counted:
            values["attempts"] = deliveries.c.attempts - 1
        if outcome.state == "delivered":
            values["delivered_at"] = now
            values["reply"] = None if outcome.reply is None else self.codec.encode(canonical_json(outcome.reply))
        hop_rows, kept = self._hop_rows(claimed.message.id, hop_records)
        self._finishes.submit(_Finish(claimed, outcome, values, now, hop_rows, kept))

    def _finish_batch(self, batch: list[_Finish]) -> list[None | Exception]:
        if len(batch) > 1:
            try:
                self._run(lambda conn: self._write_finishes(conn, batch), autocommit=self._one_trip_finish(batch))
                return [None] * len(batch)
            except UnavailableError:
                raise
            except Exception:  # noqa: BLE001 - one bad outcome must not fail its neighbours: each alone below
                pass
        results: list[None | Exception] = []
        for item in batch:
            try:
                self._run(lambda conn, item=item: self._write_finishes(conn, [item]),
                          autocommit=self._one_trip_finish([item]))
                results.append(None)
            except Exception as exc:  # noqa: BLE001 - answered to this caller only
                results.append(exc)
        return results

    def _one_trip_finish(self, batch: list[_Finish]) -> bool:
        """A dead letter reads before it writes (hub/store/repo.py _dead_letter): only batches without one go in one
        round trip; dead letters are rare and take the ordinary transaction."""
        return self._one_trip and all(f.outcome.state != "dead" for f in batch)

    def _write_finishes(self, conn, batch: list[_Finish]) -> None:  # noqa: ANN001
        if self._one_trip_finish(batch):  # conn is in autocommit: the statements below are one implicit transaction
            def build(script: onetrip.Script) -> None:
                for f in batch:
                    plain = {k: v for k, v in f.values.items() if k != "attempts"}
                    # the only computed value: an attempt given back (the partner was never called)
                    script.update(deliveries, "id", f.claimed.id, plain,
                                  [("attempts", "attempts - 1")] if "attempts" in f.values else ())
                script.insert(hops, [h for f in batch for h in f.hops])
                script.insert(signature_evidence, [e for f in batch for e in f.evidence])
            onetrip.run(conn, build)
            return
        for f in batch:
            conn.execute(update(deliveries).where(deliveries.c.id == f.claimed.id).values(**f.values))
            if f.outcome.state == "dead":
                self._dead_letter(conn, f.claimed, f.outcome, f.now)
        self._insert_hops(conn, [h for f in batch for h in f.hops], [e for f in batch for e in f.evidence])

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

    def stale(self, older_than: float, limit: int = 500, backlogged: Iterable[str] = (),
              backlogged_older_than: float = 600.0) -> list[DeliveryRef]:
        """Pending deliveries nobody picked up (published then lost, or never published) and expired leases.
        A pending delivery of a ``backlogged`` connector (its queue still holds messages) may be waiting its turn
        there: it counts as lost only after ``backlogged_older_than`` seconds."""
        now = utcnow()
        cutoff = now - timedelta(seconds=older_than)
        busy = sorted(set(backlogged))
        pending_lost = and_(deliveries.c.state == "pending", deliveries.c.updated_at < cutoff)
        if busy:
            long_cutoff = now - timedelta(seconds=max(older_than, backlogged_older_than))
            pending_lost = and_(pending_lost, or_(deliveries.c.connector.not_in(busy),
                                                  deliveries.c.updated_at < long_cutoff))
        with self._begin() as conn:
            rows = conn.execute(select(deliveries.c.id, deliveries.c.connector).where(or_(
                pending_lost,
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
        self._insert_hops(conn, *self._hop_rows(message_id, records))

    def _hop_rows(self, message_id: str, records: Iterable[HopRecord]) -> tuple[list[dict], list[dict]]:
        records = list(records)
        rows = [{"message_id": message_id, "delivery_id": h.delivery_id, "at": h.at, "kind": h.kind,
                 "duration_ms": h.duration_ms, "code": h.code, "detail": (h.detail or None) and _masked(h.detail)[:2000],
                 "process": PROCESS} for h in records]
        kept = [evidence_row(self.codec, message_id, h) for h in records if getattr(h.evidence, "data", None) is not None]
        return rows, kept

    @staticmethod
    def _insert_hops(conn, rows: list[dict], kept: list[dict]) -> None:  # noqa: ANN001
        if rows:
            conn.execute(insert(hops), rows)
        if kept:
            conn.execute(insert(signature_evidence), kept)


class _Guard:
    """engine.begin() that turns a lost or full database into the hub's 503 (fail closed), never a 500."""

    # PoolTimeout: every pooled connection busy for pool_timeout s (an overloaded database): 503, retry
    LOST = (OperationalError, InterfaceError, PoolTimeout)

    def __init__(self, engine, autocommit: bool = False) -> None:  # noqa: ANN001
        self._engine = engine
        self._autocommit = autocommit
        self._cm = None

    def __enter__(self):  # noqa: ANN204
        try:
            if not self._autocommit:
                self._cm = self._engine.begin()
                return self._cm.__enter__()
            # the hot engine, always in autocommit (hub/store/onetrip.py): each query is one transaction
            self._cm = self._engine.connect()
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
