"""The latest known state of each dossier, and the lag of each sync (tables in hub/store/tables_dossiers.py).

Written by the DVCQG connector when the portal acknowledges a status; read for freshness (an update older than
what the portal holds is not sent over it), by ``run.py stats sync-lag`` and by SMS status look-ups.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.message import utcnow
from hub.store import onetrip
from hub.store.repo import Store, aware
from hub.store.schema import messages
from hub.store.tables_dossiers import dossier_state, dossier_sync_lag


@dataclass(frozen=True)
class DossierState:
    dossier_code: str
    agency_id: str
    procedure_code: str | None
    status: int
    status_at: datetime
    message_id: str
    accepted_at: datetime
    synced_at: datetime


@dataclass(frozen=True)
class Acknowledged:
    """A status the partner acknowledged: the message that carried it and when the one-stop system made it."""
    dossier_code: str
    agency_id: str
    procedure_code: str | None
    status: int
    status_at: datetime
    message_id: str
    acknowledged_at: datetime
    #: when the hub accepted that message (the delivery knows it); None: looked up in the store
    accepted_at: datetime | None = None


def _utc(moment: datetime) -> datetime:
    """What goes into a timestamp column: UTC. SQLite keeps no offset (a +07:00 time would come back read as UTC,
    seven hours off); PostgreSQL would convert, but one rule for both stores is simpler to trust. A naive time is
    the hub's own UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def latest(store: Store, dossier_code: str) -> DossierState | None:
    return latest_of(store, [dossier_code]).get(dossier_code)


def latest_of(store: Store, dossier_codes: Iterable[str]) -> dict[str, DossierState]:
    """The known state of each of these dossiers (those the portal never acknowledged are absent), in one
    statement: a batch of syncs asks once, not once per dossier."""
    codes = sorted(set(dossier_codes))
    if not codes:
        return {}
    with store._begin(autocommit=store._one_trip) as conn:   # one SELECT: no BEGIN and COMMIT around it
        rows = conn.execute(select(dossier_state).where(dossier_state.c.dossier_code.in_(codes))).all()
    states = {}
    for row in rows:
        m = row._mapping
        states[m["dossier_code"]] = DossierState(
            m["dossier_code"], m["agency_id"], m["procedure_code"], m["status"], aware(m["status_at"]),
            m["message_id"], aware(m["accepted_at"]), aware(m["synced_at"]))
    return states


def record(store: Store, acks: list[Acknowledged]) -> list[tuple[str, float]]:
    """Keep each acknowledged status (newest per dossier wins, whatever is stored) and its sync lag, in one
    transaction: on PostgreSQL one round trip (hub/store/onetrip.py), an upsert and the lag rows.
    Returns (agency, lag in ms) per acknowledgement, for the metric."""
    if not acks:
        return []
    now = utcnow()
    unknown = {a.message_id for a in acks if a.accepted_at is None}
    accepted: dict[str, Any] = {}
    if unknown:
        with store._begin() as conn:
            accepted = dict(conn.execute(select(messages.c.id, messages.c.accepted_at)
                                         .where(messages.c.id.in_(unknown))).all())
    lags, newest = [], {}
    for ack in acks:
        acknowledged_at, status_at = _utc(ack.acknowledged_at), _utc(ack.status_at)
        accepted_at = _utc(ack.accepted_at or aware(accepted.get(ack.message_id)) or acknowledged_at)
        lags.append({"dossier_code": ack.dossier_code, "agency_id": ack.agency_id, "status": ack.status,
                     "message_id": ack.message_id, "accepted_at": accepted_at, "acknowledged_at": acknowledged_at,
                     "lag_ms": max(0.0, (acknowledged_at - accepted_at).total_seconds() * 1000)})
        kept = newest.get(ack.dossier_code)
        if kept is None or kept["status_at"] <= status_at:   # two acks of one dossier in one batch: newest wins
            newest[ack.dossier_code] = {
                "dossier_code": ack.dossier_code, "agency_id": ack.agency_id, "procedure_code": ack.procedure_code,
                "status": ack.status, "status_at": status_at, "message_id": ack.message_id,
                "accepted_at": accepted_at, "synced_at": acknowledged_at, "updated_at": now}
    states = list(newest.values())
    if store._one_trip:
        with store._begin(autocommit=True) as conn:
            onetrip.run(conn, lambda script: script.upsert(dossier_state, states, "dossier_code", newer="status_at")
                        .insert(dossier_sync_lag, lags))
    else:
        with store._begin() as conn:
            conn.execute(_upsert_newer(states))
            conn.execute(insert(dossier_sync_lag), lags)
    return [(row["agency_id"], row["lag_ms"]) for row in lags]


def _upsert_newer(states: list[dict[str, Any]]) -> Any:
    """SQLite's INSERT ... ON CONFLICT DO UPDATE (PostgreSQL sends the same as one query, onetrip.Script.upsert): a
    stored state is replaced only by one that is not older (a late acknowledgement of an older status is kept as
    lag, not as the state)."""
    statement = sqlite_insert(dossier_state).values(states)
    return statement.on_conflict_do_update(
        index_elements=[dossier_state.c.dossier_code],
        set_={c: statement.excluded[c] for c in states[0] if c != "dossier_code"},
        where=dossier_state.c.status_at <= statement.excluded.status_at)


def lag_by_agency(store: Store, since: datetime | None = None) -> list[dict[str, Any]]:
    """Per agency: syncs, mean, max and 95th percentile lag (ms), over the window."""
    q = select(dossier_sync_lag.c.agency_id, dossier_sync_lag.c.lag_ms)
    if since is not None:
        q = q.where(dossier_sync_lag.c.acknowledged_at >= _utc(since))
    by_agency: dict[str, list[float]] = {}
    with store._begin() as conn:
        for agency, lag in conn.execute(q):
            by_agency.setdefault(agency, []).append(lag)
    rows = []
    for agency, lags in sorted(by_agency.items()):
        lags.sort()
        rows.append({"agency_id": agency, "syncs": len(lags), "mean_ms": sum(lags) / len(lags),
                     "p95_ms": lags[min(len(lags) - 1, int(len(lags) * 0.95))], "max_ms": lags[-1]})
    return rows


def lag_count(store: Store, dossier_code: str | None = None) -> int:
    q = select(func.count()).select_from(dossier_sync_lag)
    if dossier_code:
        q = q.where(dossier_sync_lag.c.dossier_code == dossier_code)
    with store._begin() as conn:
        return int(conn.execute(q).scalar_one())
