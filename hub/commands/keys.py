"""``python run.py keys``: every signing key, chain and trusted certificate, with its expiry.

Exit status 1 when one of our signing keys cannot sign now (missing, wrong password, expired, too weak):
the same rule that turns ``/healthz`` red, so a deployment script can run it before starting the hub.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any, Callable

from hub.signing.keys import InventoryEntry, KeyRing


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "list signing keys and trusted certificates with expiry; exit 1 if a signing key is unusable"
    p = sub.add_parser("keys", help=text, description=text)
    common(p)
    p.add_argument("--json", action="store_true", help="one JSON document instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.signing.service import SigningService
    config = load_config(args.config)
    ring = SigningService.from_config(config.signing, config.directory).keyring
    entries = ring.inventory()
    unusable = ring.usable()
    if args.json:
        print(json.dumps({"entries": [dataclasses.asdict(e) for e in entries],
                          "unusable": [dataclasses.asdict(p) for p in unusable], "warn_days": ring.warn_days},
                         indent=2, ensure_ascii=False))
    else:
        print(render(entries, ring))
        for p in unusable:
            print(f"ERROR: signing key {p.key} cannot sign: {p.detail}")
    return 1 if unusable else 0


def render(entries: list[InventoryEntry], ring: KeyRing) -> str:
    if not entries:
        return "no signing keys or trust stores configured (signing: in hub.yaml)"
    rows = [("KIND", "OWNER", "SUBJECT", "ISSUER", "SERIAL", "EXPIRES", "DAYS LEFT", "STATUS")]
    for e in entries:
        status = "ERROR: " + e.error if e.error else ("WARNING: " + e.warning if e.warning else "ok")
        rows.append((e.kind, e.owner, e.subject or "-", e.issuer or "-", e.serial[:16] or "-",
                     e.not_after[:10] or "-", "-" if e.days_left is None else str(e.days_left), status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows]
    warned = sum(1 for e in entries if e.warning)
    if warned:
        lines.append(f"\nWARNING: {warned} certificate(s) expire within {ring.warn_days} days or have expired: renew them")
    return "\n".join(lines)
