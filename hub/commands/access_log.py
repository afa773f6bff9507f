"""``python run.py access-log --citizen <id>``: who looked up this person, when, and why (Decree 13/2023).

Prints the masked id, never the full one: the operator typed it, the screen and the scrollback need not keep it.
"""
from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from typing import Any, Callable

from hub import formats
from hub.privacy import mask_id

COLUMNS = ("at", "operation", "client", "officer_id", "procedure_code", "dossier_code", "outcome", "message_id")


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "who looked up a citizen in the resident database: when, which officer, for which procedure and dossier"
    p = sub.add_parser("access-log", help=text, description=text)
    common(p)
    p.add_argument("--citizen", required=True, help="12-digit personal id or 9-digit CMND")
    p.add_argument("--since", help="only entries from this date (YYYY-MM-DD)")
    p.add_argument("--store", help="store URL (default: hub.yaml's)")
    p.add_argument("--json", action="store_true", help="JSON lines instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.store import Store
    from hub.store.tables_access_log import AccessLog

    citizen = args.citizen.strip()
    if not formats.is_citizen_id(citizen):
        print("--citizen must be a 12-digit personal id or a 9-digit CMND")
        return 2
    since = None
    if args.since:
        if not formats.is_date(args.since):
            print("--since must be YYYY-MM-DD")
            return 2
        since = datetime.fromisoformat(args.since).replace(tzinfo=timezone.utc)
    url = args.store or load_config(args.config).settings.store
    store = Store(url)
    try:
        store.migrate()
        rows = AccessLog(store.engine).for_citizen(citizen, since)
    finally:
        store.close()
    print(render(mask_id(citizen), rows, args.json))
    return 0


def render(masked: str, rows: list[dict[str, Any]], as_json: bool = False) -> str:
    if as_json:
        return "\n".join(json.dumps({k: _text(r[k]) for k in ("citizen_masked", *COLUMNS)}, ensure_ascii=False)
                         for r in rows)
    if not rows:
        return f"no lookups of citizen {masked} are recorded"
    table = [COLUMNS] + [tuple(_text(r[c]) for c in COLUMNS) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = [f"{len(rows)} lookup(s) of citizen {masked}:"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")
    return "" if value is None else str(value)
