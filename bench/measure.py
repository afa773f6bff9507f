"""Figures from the hub's store: what was accepted and delivered, and how long each took
(messages.accepted_at -> deliveries.delivered_at)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from bench.load import percentiles
from hub.store.schema import deliveries, messages


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


@dataclass
class Outcome:
    messages: int
    deliveries: int
    delivered: int
    dead: int
    unsettled: int
    first_accepted: float | None
    last_delivered: float | None
    latencies_ms: list[float]
    end_to_end_ms: list[float]

    @property
    def delivered_per_second(self) -> float:
        if not self.delivered or self.first_accepted is None or self.last_delivered is None:
            return 0.0
        return self.delivered / max(1e-3, self.last_delivered - self.first_accepted)

    def latency(self) -> dict:
        return percentiles(self.latencies_ms)


def settle(engine: sa.engine.Engine, prefix: str, expected: int, timeout: float) -> int:
    """Wait until ``expected`` deliveries of this phase exist and none is pending; return the unsettled count."""
    query = sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.message_id.like(prefix + "%")) \
        .group_by(deliveries.c.state)
    end = time.monotonic() + timeout
    unsettled = expected
    while time.monotonic() < end:
        with engine.connect() as conn:
            counts = dict(conn.execute(query).all())
        done = counts.get("delivered", 0) + counts.get("dead", 0)
        unsettled = max(expected - done, sum(v for k, v in counts.items() if k not in ("delivered", "dead")))
        if unsettled == 0:
            return 0
        time.sleep(0.5)
    return unsettled


def outcome(engine: sa.engine.Engine, prefix: str, sent_at: dict[str, float] | None = None) -> Outcome:
    query = sa.select(messages.c.id, messages.c.accepted_at, deliveries.c.state, deliveries.c.delivered_at) \
        .select_from(messages.join(deliveries, deliveries.c.message_id == messages.c.id)) \
        .where(messages.c.id.like(prefix + "%"))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        n_messages = conn.execute(sa.select(sa.func.count()).select_from(messages)
                                  .where(messages.c.id.like(prefix + "%"))).scalar_one()
    lat, e2e, firsts, lasts = [], [], [], []
    delivered = dead = 0
    for mid, accepted_at, state, delivered_at in rows:
        acc = _epoch(accepted_at)
        firsts.append(acc)
        if state == "delivered" and delivered_at is not None:
            delivered += 1
            done = _epoch(delivered_at)
            lasts.append(done)
            lat.append((done - acc) * 1000)
            if sent_at and mid in sent_at:
                e2e.append((done - sent_at[mid]) * 1000)
        elif state == "dead":
            dead += 1
    return Outcome(n_messages, len(rows), delivered, dead, len(rows) - delivered - dead,
                   min(firsts) if firsts else None, max(lasts) if lasts else None, lat, e2e)
