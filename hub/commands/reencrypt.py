"""``python run.py reencrypt``: rewrite every value encrypted at rest under the newest store key, so an old key can
be dropped (key rotation, docs/security.md).

What it rewrites: ``messages.envelope``, ``deliveries.reply`` and ``signature_evidence.data`` (every column
hub/store/codec.py encrypts). Rows written before encryption existed (no ``f1:`` prefix) are encrypted too.

Safe while the hub runs: rows are read in batches by primary key (keyset, one short transaction per batch) and
each one is written back only if it still holds the value that was read (compare-and-set), so a reply the hub
records meanwhile is never overwritten; such a row is counted as "changed meanwhile" and a second run takes it.
Resumable: a value already under the newest key is left alone, so an interrupted run is simply started again.
Works the same on SQLite and PostgreSQL (SQLAlchemy Core only).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Column, Table, select, update

from hub.errors import HubError
from hub.store.schema import deliveries, messages
from hub.store.tables_evidence import signature_evidence

BATCH = 500
# (table, its primary key, the encrypted column)
ENCRYPTED: tuple[tuple[Table, Column, Column], ...] = (
    (messages, messages.c.id, messages.c.envelope),
    (deliveries, deliveries.c.id, deliveries.c.reply),
    (signature_evidence, signature_evidence.c.id, signature_evidence.c.data),
)


@dataclass
class Counts:
    rotated: int = 0         # re-encrypted from an older key
    current: int = 0         # already under the newest key (or empty)
    from_clear: int = 0      # a value stored before encryption existed, now encrypted
    changed: int = 0         # the hub rewrote the row between our read and our write: run again
    unreadable: int = 0      # no configured key reads it: the key it was written with is missing

    @property
    def pending(self) -> int:
        """Values still not under the newest key after this run."""
        return self.changed + self.unreadable

    def line(self, name: str, dry_run: bool) -> str:
        verb = "to re-encrypt" if dry_run else "re-encrypted"
        return (f"{name}: {self.rotated} {verb}, {self.from_clear} in clear {'to encrypt' if dry_run else 'encrypted'}, "
                f"{self.current} already under the newest key, {self.changed} changed meanwhile, "
                f"{self.unreadable} unreadable")


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "re-encrypt every stored payload under the newest store key (key rotation), in batches"
    p = sub.add_parser("reencrypt", help=text, description=text + ". Safe while the hub runs; run it again after "
                       "an interruption. See docs/security.md, 'Rotating the store key'.")
    common(p)
    p.add_argument("--store", help="database URL (default: hub.yaml's store)")
    p.add_argument("--batch", type=int, default=BATCH, help=f"rows per transaction (default {BATCH})")
    p.add_argument("--dry-run", action="store_true", help="count what would be rewritten, write nothing")
    p.set_defaults(func=run)


def reencrypt_column(store: Any, table: Table, key: Column, column: Column, batch: int = BATCH,
                     dry_run: bool = False) -> Counts:
    counts, last = Counts(), None
    codec = store.codec
    while True:
        q = select(key, column).order_by(key).limit(batch)
        if last is not None:
            q = q.where(key > last)
        with store.engine.begin() as conn:
            rows = conn.execute(q).all()
            for pk, stored in rows:
                if codec.current(stored):
                    counts.current += 1
                    continue
                try:
                    fresh = codec.rotate(stored)
                except HubError:
                    counts.unreadable += 1
                    continue
                if not dry_run:
                    done = conn.execute(update(table).where(key == pk, column == stored).values({column.name: fresh}))
                    if done.rowcount != 1:
                        counts.changed += 1
                        continue
                if stored.startswith("f1:"):
                    counts.rotated += 1
                else:
                    counts.from_clear += 1
        if len(rows) < batch:
            return counts
        last = rows[-1][0]


def reencrypt(store: Any, batch: int = BATCH, dry_run: bool = False,
              report: Callable[[str], None] = lambda line: None) -> dict[str, Counts]:
    """Every encrypted column, table by table; ``report`` gets one line per column."""
    out = {}
    for table, key, column in ENCRYPTED:
        name = f"{table.name}.{column.name}"
        out[name] = reencrypt_column(store, table, key, column, batch, dry_run)
        report(out[name].line(name, dry_run))
    return out


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.store import Store
    from hub.store.codec import for_config
    if args.batch < 1:
        print("--batch must be at least 1")
        return 2
    config = load_config(args.config, overrides={"store": args.store} if args.store else {})
    codec = for_config(config)
    store = Store(config.settings.store, codec)
    try:
        store.migrate()
        print(f"keys from {codec.source}; newest first")
        counts = reencrypt(store, args.batch, args.dry_run, report=print)
    finally:
        store.close()
    unreadable = sum(c.unreadable for c in counts.values())
    changed = sum(c.changed for c in counts.values())
    if unreadable:
        print(f"{unreadable} value(s) no configured key reads: put the key they were written with back in the "
              "list (after the newest) and run again; do NOT drop any key yet")
        return 1
    if args.dry_run:
        waiting = sum(c.rotated + c.from_clear for c in counts.values())
        print(f"{waiting} value(s) would be re-encrypted" if waiting else
              "every value is under the newest key: the older keys can be dropped")
        return 0
    if changed:
        print(f"{changed} value(s) changed while this ran: run reencrypt again before dropping an old key")
        return 1
    print("every value is under the newest key: the older keys can be dropped "
          "(restart the hub processes with the shorter list)")
    return 0
