"""``python run.py stats sync-lag``: per agency, the time from the hub accepting a dossier status change to the
national portal acknowledging it (BR-VT art. 9.2a: in real time). Also exported as the Prometheus histogram
``hub_dossier_sync_lag_seconds{agency}``."""
from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta
from typing import Any, Callable


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "figures from the store: sync-lag (dossier status to DVCQG, per agency)"
    p = sub.add_parser("stats", help=text, description=text)
    common(p)
    p.add_argument("what", choices=["sync-lag"])
    p.add_argument("--since", default="1d", help="window: 30m, 12h, 7d (default 1d); 'all' for everything")
    p.add_argument("--store", help="store URL (default: hub.yaml)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def window(text: str) -> timedelta | None:
    if text == "all":
        return None
    m = re.fullmatch(r"([0-9]+)([smhd])", text)
    if not m:
        raise SystemExit(f"--since {text}: use a number and s, m, h or d, e.g. 12h")
    return timedelta(seconds=int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.message import utcnow
    from hub.store import Store, dossiers
    config = load_config(args.config, overrides={"store": args.store} if args.store else {})
    store = Store(config.settings.store)
    store.migrate()
    span = window(args.since)
    rows = dossiers.lag_by_agency(store, utcnow() - span if span else None)
    store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no dossier status acknowledged by DVCQG in the last {args.since}")
        return 0
    table = [("AGENCY", "SYNCS", "MEAN", "P95", "MAX")] + [
        (r["agency_id"], str(r["syncs"]), _ms(r["mean_ms"]), _ms(r["p95_ms"]), _ms(r["max_ms"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    for row in table:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    return 0


def _ms(value: float) -> str:
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
