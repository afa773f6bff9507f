"""``python run.py reconcile --date YYYY-MM-DD [--partner X]``: đối soát with each payment intermediary.

For one Vietnamese calendar day, compares the payments the hub recorded as paid (verified callbacks) with the
intermediary's own transaction list, and reports:

* paid but unknown: the intermediary debited the payer, the hub has no verified payment (callback lost or
  never sent; or an order the hub never made);
* known but unpaid: the hub recorded a payment the intermediary does not list as successful;
* amount mismatch: both know it, the amounts differ.

Exit code 0 when everything matches, 1 when anything is off, 2 when a transaction list could not be read.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from hub.store.payments import VIETNAM


@dataclass
class Finding:
    kind: str                 # paid_but_unknown | known_but_unpaid | amount_mismatch
    reference: str
    partner_amount: int | None = None
    hub_amount: int | None = None
    note: str = ""


@dataclass
class PartnerReport:
    connector: str
    provider: str
    hub_paid: int = 0
    partner_paid: int = 0
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    text = "reconcile the hub's payments of one day with each intermediary's transaction list (đối soát)"
    p = sub.add_parser("reconcile", help=text, description=text)
    common(p)
    p.add_argument("--date", help="the day, YYYY-MM-DD, Vietnam time (default: today)")
    p.add_argument("--partner", help="only this payment connector (e.g. vnpay)")
    p.add_argument("--store", help="store URL (default: hub.yaml's)")
    p.add_argument("--sim-port", type=int, help="port of the sandbox simulators (as given to serve)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=run)


def compare(connector: str, provider: str, hub_rows: list[dict[str, Any]], partner: list[Any],
            known: dict[str, dict[str, Any]]) -> PartnerReport:
    """Pure comparison of the hub's paid rows with the partner's transactions (tested on its own)."""
    report = PartnerReport(connector, provider)
    hub_paid = {r["reference"]: r for r in hub_rows}
    partner_paid: dict[str, Any] = {}
    for t in partner:
        if t.paid:
            partner_paid[t.reference] = t
    report.hub_paid, report.partner_paid = len(hub_paid), len(partner_paid)
    for ref, t in sorted(partner_paid.items()):
        row = hub_paid.get(ref)
        if row is None:
            order = known.get(ref)
            note = "no such order in the hub" if order is None else f"hub order is '{order['state']}'"
            report.findings.append(Finding("paid_but_unknown", ref, t.amount, None, note))
        elif int(row["paid_amount"]) != t.amount:
            report.findings.append(Finding("amount_mismatch", ref, t.amount, int(row["paid_amount"])))
    for ref, row in sorted(hub_paid.items()):
        if ref not in partner_paid:
            report.findings.append(Finding("known_but_unpaid", ref, None, int(row["paid_amount"]),
                                           "the intermediary lists no successful transaction"))
    return report


def reconcile(config: Any, store: Any, day: date, partner: str | None) -> list[PartnerReport]:
    from connectors.payments import PaymentConnector
    from hub import registry
    from hub.errors import HubError
    from hub.runtime import ConnectorContext
    from hub.store.payments import PaymentRepository

    registry.load_plugins(config.settings.plugins)
    context = ConnectorContext(config)
    context.store = store
    repo = PaymentRepository(store.engine)
    reports = []
    for name, spec in config.connectors.items():
        cls = registry.connectors.get(spec.type)
        if not issubclass(cls, PaymentConnector) or (partner and partner not in (name, spec.type)):
            continue
        connector = cls(name, spec.options, context)
        connector.start()
        try:
            listed = connector.transactions(day)
        except HubError as exc:
            reports.append(PartnerReport(name, cls.provider, error=f"[{exc.code}] {exc.detail}"))
            continue
        finally:
            connector.stop()
        rows = [r for r in repo.paid_on(cls.provider, day) if r["connector"] == name]
        unknown = [t.reference for t in listed if t.paid]
        reports.append(compare(name, cls.provider, rows, listed, repo.orders(cls.provider, unknown)))
    return reports


def run(args: argparse.Namespace) -> int:
    from hub.config import load_config
    from hub.store import Store

    try:
        day = datetime.strptime(args.date, "%Y-%m-%d").date() if args.date else datetime.now(VIETNAM).date()
    except ValueError:
        print("--date must be YYYY-MM-DD")
        return 2
    overrides = {k: v for k, v in (("store", args.store), ("sim_port", args.sim_port)) if v is not None}
    config = load_config(args.config, overrides=overrides)
    store = Store(config.settings.store)
    store.migrate()
    try:
        reports = reconcile(config, store, day, args.partner)
    finally:
        store.close()
    if not reports:
        print(f"no payment connector{' named ' + args.partner if args.partner else ''} in the configuration")
        return 2
    if args.json:
        print(json.dumps({"date": day.isoformat(), "partners": [asdict(r) for r in reports]}, ensure_ascii=False))
    else:
        for r in reports:
            if r.error:
                print(f"{r.connector}: transaction list unavailable: {r.error}")
                continue
            state = "clean" if not r.findings else f"{len(r.findings)} difference(s)"
            print(f"{r.connector} {day}: hub {r.hub_paid} paid, partner {r.partner_paid} paid: {state}")
            for f in r.findings:
                print(f"  {f.kind:<17} {f.reference:<20} partner {f.partner_amount} hub {f.hub_amount} {f.note}".rstrip())
    if any(r.error for r in reports):
        return 2
    return 1 if any(r.findings for r in reports) else 0
