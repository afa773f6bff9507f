"""Markdown tables and the issue's targets from bench/results/*.json (what bench/README.md shows).

    .venv/bin/python -m bench.report [--suffix -quick] [--date 2026-11-23]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ORDER = ["pass-through", "signed-xml", "dvcqg-sync", "fan-out", "slow-partner"]


def _load(date: str, name: str, suffix: str) -> dict[str, Any] | None:
    path = RESULTS / f"{date}-{name}{suffix}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _f(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def scenario_table(doc: dict[str, Any]) -> str:
    lines = [f"**{doc['scenario']}** — {doc['title']} ({'quick, ' if doc['quick'] else ''}"
             f"{doc['runs'][0].get('seconds', '?')} s phases, {doc['runs'][0].get('concurrency', '?')} senders)", "",
             "| deployment | accepted/s | delivered/s | p50 / p95 / p99 ms (accepted→delivered, 50 %) "
             "| CPU s per 1,000 msgs: hub / broker / db | peak MB hub | dead / unsettled | load avg after |",
             "|---|---:|---:|---|---|---:|---|---|"]
    for r in doc["runs"]:
        if "error" in r:
            lines.append(f"| {r['workers']} workers | failed: {r['error'][:80]} | | | | | | |")
            continue
        s, h = r["saturation"], r["half_load"]
        lat = h["accepted_to_delivered_ms"]
        cpu = s["cpu_seconds_per_1000_messages"]
        lines.append(
            f"| {r['mode']} | {_f(s['accepted_per_s'])} | {_f(s['delivered_per_s'])} | "
            f"{_f(lat['p50'])} / {_f(lat['p95'])} / {_f(lat['p99'])} | "
            f"{_f(cpu.get('hub'), 2)} / {_f(cpu.get('broker'), 2)} / {_f(cpu.get('database'), 2)} | "
            f"{_f(r['peak_memory_mb'].get('hub'), 0)} | {s['dead'] + h['dead']} / {s['unsettled'] + h['unsettled']} | "
            f"{r['loadavg_after'][0]:.2f} |")
    return "\n".join(lines)


def _cluster(doc: dict[str, Any] | None, workers: int) -> dict[str, Any] | None:
    for r in (doc or {}).get("runs", []):
        if r.get("workers") == workers and "error" not in r:
            return r
    return None


def targets(docs: dict[str, dict[str, Any]], base: dict[str, Any],
            soak: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) per target of the issue, on RabbitMQ + PostgreSQL."""
    out = []
    red = (base.get("node_red_pass_through") or {}).get("per_s")
    sign = (base.get("signxml_sign") or {}).get("per_second")
    pt, sx, slow = docs.get("pass-through"), docs.get("signed-xml"), docs.get("slow-partner")
    for w in (1, 2, 4):
        r = _cluster(pt, w)
        if r and red:
            ratio = r["saturation"]["delivered_per_s"] / red
            out.append((f"pass-through ≥ 1.0 × Node-RED ({w} w)",
                        f"{r['saturation']['delivered_per_s']:.0f}/s vs {red:.0f}/s = {ratio:.2f} ×",
                        "met" if ratio >= 1.0 else "missed"))
    for w in (1, 2, 4):
        r = _cluster(sx, w)
        if r and sign:
            ratio = r["saturation"]["delivered_per_s"] / sign
            out.append((f"signed XML ≥ 40 % of raw signxml ({w} w)",
                        f"{r['saturation']['delivered_per_s']:.0f}/s vs {sign:.0f}/s = {ratio:.0%}",
                        "met" if ratio >= 0.4 else "missed"))
    for w in (1, 2, 4):
        r = _cluster(pt, w)
        if r and "added_latency_ms" in r:
            a = r["added_latency_ms"]
            out.append((f"added latency ≤ 5 ms p50, ≤ 50 ms p99 ({w} w)", f"p50 {a['p50']:.1f} ms, p99 {a['p99']:.1f} ms",
                        "met" if a["p50"] <= 5 and a["p99"] <= 50 else "missed"))
    for w in (1, 2, 4):
        r = _cluster(slow, w)
        if r:
            d = r["saturation"]["delivered_per_s"]
            out.append((f"slow partner ≥ 500 delivered/s ({w} w)", f"{d:.0f}/s", "met" if d >= 500 else "missed"))
    one, four = _cluster(slow, 1), _cluster(slow, 4)
    if one and four and one["saturation"]["delivered_per_s"]:
        ratio = four["saturation"]["delivered_per_s"] / one["saturation"]["delivered_per_s"]
        out.append(("slow partner: 4 workers ≥ 1.6 × 1 worker", f"{ratio:.2f} ×", "met" if ratio >= 1.6 else "missed"))
    out.append(soak_target(soak))
    return out


def soak_target(soak: dict[str, Any] | None) -> tuple[str, str, str]:
    """The soak's verdict from bench/soak.py's result: memory of the last minutes against the first, and every
    accepted message delivered, once at the partner."""
    name = "memory flat ±10 % over a 30-minute soak, nothing lost"
    if not soak:
        return name, "not run", "not measured"
    first, last, peak = soak["hub_rss_mb_first_last_max"]
    minutes = len(soak["minutes"])
    measured = (f"{minutes} min at {soak['rate_per_s']:.0f}/s ({soak['mode']}): hub RSS {first:.0f} → {last:.0f} MB "
                f"(max {peak:.0f}, drift {soak['memory_drift_vs_first_minute']:.1%}); {soak['accepted']:,} accepted, "
                f"{soak['lost']} lost, {soak['unsettled']} unsettled, "
                f"{soak['partner_keys_sent_more_than_once']} sent twice")
    met = (minutes >= 30 and soak["memory_flat_within_10_percent"] and soak["nothing_lost"]
           and not soak["partner_keys_sent_more_than_once"])
    return name, measured, "met" if met else "missed"


def baseline_table(base: dict[str, Any]) -> str:
    k, s = base.get("kombu", {}), base.get("signxml_sign", {})
    r, n = base.get("requests_post_to_simulator", {}), base.get("node_red_pass_through", {})
    rows = [("raw kombu publish, persistent, waiting for each confirm", _f(k.get("publish_confirmed_per_s"))),
            ("raw kombu consume + ack (prefetch 64)", _f(k.get("consume_ack_per_s"))),
            (f"raw requests POST to the echo simulator ({r.get('concurrency')} senders)", _f(r.get("per_s"))),
            (f"raw signxml sign of the hub's edXML ({s.get('document_bytes')} bytes, RSA-2048, 1 core)",
             _f(s.get("per_second"))),
            (f"Node-RED 4 pass-through flow ({n.get('concurrency')} senders; "
             f"{_f((n.get('cpu_seconds_per_1000_messages') or {}).get('node-red'), 2)} CPU s per 1,000)",
             _f(n.get("per_s")))]
    return "\n".join(["| baseline | per second |", "|---|---:|"] + [f"| {a} | {b} |" for a, b in rows])


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--date", required=True)
    p.add_argument("--suffix", default="")
    p.add_argument("--baselines-suffix", default=None)
    p.add_argument("--soak-minutes", type=float, default=30, help="which soak result of that date to judge")
    p.add_argument("--soak-suffix", default="", help="that soak's file name suffix (an older run's, renamed)")
    args = p.parse_args()
    base = _load(args.date, "baselines", args.suffix if args.baselines_suffix is None else args.baselines_suffix) or {}
    docs = {n: d for n in ORDER if (d := _load(args.date, n, args.suffix))}
    print(baseline_table(base) + "\n")
    for doc in docs.values():
        print(scenario_table(doc) + "\n")
    print("| target | measured | verdict |\n|---|---|---|")
    soak = _load(args.date, "soak", f"-{args.soak_minutes:g}min{args.soak_suffix}")
    for t, m, v in targets(docs, base, soak):
        print(f"| {t} | {m} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
