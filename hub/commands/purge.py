"""``python run.py purge``: remove finished messages older than their type's retention (hub.retention in
hub.yaml; default 180 days). Decree 13/2023 asks that personal data be kept no longer than its purpose needs:
the hub is a carrier, not an archive; the partner and the agency keep the record.

Only messages whose every delivery is finished (delivered or dead) are removed, with their deliveries, hops and
dead letters, in batches (one transaction each, so a large purge never holds long locks). ``--dry-run`` counts.
"""
from __future__ import annotations

import argparse
import fnmatch
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import delete, exists, select

from hub.store.repo import TERMINAL
from hub.store.schema import dead_letters, deliveries, hops, messages
from hub.store.tables_evidence import signature_evidence

BATCH = 500


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "remove finished messages older than their type's retention (hub.retention)"
    p = sub.add_parser("purge", help=text, description=text)
    common(p)
    p.add_argument("--store", help="store URL (default: hub.yaml)")
    p.add_argument("--dry-run", action="store_true", help="count what would be removed, remove nothing")
    p.set_defaults(func=run)


def retention_for(message_type: str, rules: tuple[tuple[str, float], ...], default: float) -> float:
    """Seconds to keep a message of this type: the first rule whose type or glob matches, else the default."""
    for pattern, seconds in rules:
        if pattern == message_type or fnmatch.fnmatchcase(message_type, pattern):
            return seconds
    return default


def expired(store: Any, rules: tuple[tuple[str, float], ...], default: float, now: datetime) -> list[str]:
    """Ids of finished messages past their retention."""
    unfinished = exists().where(deliveries.c.message_id == messages.c.id, deliveries.c.state.notin_(TERMINAL))
    oldest_kept = now - timedelta(seconds=min([default, *[s for _, s in rules]]))
    with store.engine.connect() as conn:
        rows = conn.execute(select(messages.c.id, messages.c.type, messages.c.accepted_at)
                            .where(messages.c.accepted_at < oldest_kept, ~unfinished)).all()
    out = []
    for row in rows:
        accepted = row.accepted_at if row.accepted_at.tzinfo else row.accepted_at.replace(tzinfo=now.tzinfo)
        if accepted < now - timedelta(seconds=retention_for(row.type, rules, default)):
            out.append(row.id)
    return out


def purge(store: Any, ids: list[str]) -> int:
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        with store.engine.begin() as conn:
            dids = select(deliveries.c.id).where(deliveries.c.message_id.in_(chunk))
            conn.execute(delete(dead_letters).where(dead_letters.c.delivery_id.in_(dids)))
            conn.execute(delete(hops).where(hops.c.message_id.in_(chunk)))
            # the signed document is the message's content too: its retention ends with the message's
            conn.execute(delete(signature_evidence).where(signature_evidence.c.message_id.in_(chunk)))
            conn.execute(delete(deliveries).where(deliveries.c.message_id.in_(chunk)))
            conn.execute(delete(messages).where(messages.c.id.in_(chunk)))
    return len(ids)


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.message import utcnow
    from hub.store import Store
    from hub.store.codec import for_config
    config = load_config(args.config, overrides={"store": args.store} if args.store else {})
    store = Store(config.settings.store, for_config(config))
    store.migrate()
    ids = expired(store, config.settings.retention, config.settings.retention_default, utcnow())
    if args.dry_run:
        print(f"{len(ids)} finished message(s) past their retention would be removed")
    else:
        print(f"removed {purge(store, ids)} finished message(s) past their retention")
    store.close()
    return 0
