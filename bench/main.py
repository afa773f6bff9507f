"""One benchmark run: the baselines, then each scenario on each deployment; results to bench/results/.

    python run.py bench [--quick] [--scenario NAME ...] [--workers 0 1 2 4] [--no-baselines]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from bench import baselines, load, measure
from bench.procs import Group, Sampler, loadavg
from bench.scenarios import SCENARIOS, Scenario
from bench.stack import ROOT, TOKEN, Hub, Simulators, bench_config, service_up, wait_until

RESULTS = ROOT / "bench" / "results"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_1_5_15": loadavg(), "note": "the load generator, simulators and Node-RED run on the "
                                                  "same cores as the hub, broker and database; other work on the "
                                                  "machine shows in the load averages"}


Meter = Sampler  # CPU seconds and memory of the hub, broker, database and simulators between two points


def _groups(hub: Hub | None, sims: Simulators, extra: dict[str, Group] | None = None) -> dict[str, Group]:
    groups = {"simulators": Group("simulators", root=sims.proc.pid)}  # type: ignore[union-attr]
    if hub is not None:
        groups["hub"] = hub.group()
        if hub.workers:
            groups["broker"] = Group("broker", comm_prefix="beam.smp")
            groups["database"] = Group("database", comm_prefix="postgres")
    groups.update(extra or {})
    return groups


def _per_1000(cpu: dict[str, float], n: int) -> dict[str, float | None]:
    return {k: (round(v / n * 1000, 3) if n else None) for k, v in cpu.items()}


def _wait_catalogue(hub: Hub) -> None:
    s = requests.Session()
    s.trust_env = False
    s.headers.update(AUTH)

    def found() -> bool:
        r = s.post(hub.url + "/v1/calls", json={"type": "procedure.lookup",
                                                "payload": {"procedure_code": "1.001612.000.00.00.H20"}}, timeout=10)
        return r.status_code == 200 and bool((r.json().get("reply") or {}).get("found"))
    if not wait_until(found, 60, 0.5):
        raise RuntimeError("the DVCQG catalogue was not synced within 60 s; check the hub log")


def run_scenario(scenario: Scenario, workers: int, opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    sims = Simulators(workdir).start()
    hub: Hub | None = None
    try:
        for sim, spec in scenario.faults.items():
            sims.fault(sim, **spec)
        hub = Hub(workdir, bench_config(workdir / "config", sims.port, scenario.connectors), sims.port, workers).start()
        if scenario.needs_catalogue:
            _wait_catalogue(hub)
        url, run_id = hub.url + "/v1/messages", uuid.uuid4().hex[:6]
        load.run(url, scenario.units(f"w{run_id}", 3), min(2.0, opts.seconds), 4, headers=AUTH)  # warm-up
        per_unit = len(scenario.units("x")("0-0", 0))

        # 1. saturation: closed loop, then wait for every delivery to settle
        prefix = f"s{run_id}"
        meter = Meter(_groups(hub, sims))
        sat = load.run(url, scenario.units(prefix, 0), opts.seconds, opts.concurrency, headers=AUTH)
        unsettled = measure.settle(hub.engine, prefix, sat.ok * scenario.deliveries_per_message, opts.settle)
        cpu = meter.cpu()
        out = measure.outcome(hub.engine, prefix)
        meter.start = {name: dict(seen) for name, seen in meter.seen.items()}  # the half-load phase from here
        accepted_ps, delivered_ps = sat.ok_per_second, out.delivered_per_second

        # 2. latency at 50 % of saturation (the slower of accepting and delivering), open loop
        rate_msgs = 0.5 * min(accepted_ps, delivered_ps / scenario.deliveries_per_message)
        prefix2 = f"h{run_id}"
        half = load.run(url, scenario.units(prefix2, 1), opts.seconds, opts.concurrency, rate=rate_msgs / per_unit,
                        headers=AUTH)
        unsettled2 = measure.settle(hub.engine, prefix2, half.ok * scenario.deliveries_per_message, opts.settle)
        out2 = measure.outcome(hub.engine, prefix2, half.sent_at)
        half_cpu = meter.cpu()
        meter.stop()
        # peak RSS summed over each group's processes, sampled every 0.5 s through both phases
        peak = {name: round(v, 1) for name, v in meter.peak_rss.items()}
        result: dict[str, Any] = {
            "mode": hub.mode, "workers": workers, "concurrency": opts.concurrency, "seconds": opts.seconds,
            "saturation": {
                "accepted_per_s": round(accepted_ps, 1), "delivered_per_s": round(delivered_ps, 1),
                "accepted": sat.ok, "refused_or_failed": sat.errors, "deliveries": out.deliveries,
                "delivered": out.delivered, "dead": out.dead, "unsettled": unsettled,
                "client_latency_ms": load.percentiles(sat.latencies_ms),
                "cpu_seconds": cpu, "cpu_seconds_per_1000_messages": _per_1000(cpu, sat.ok)},
            "half_load": {
                "offered_messages_per_s": round(rate_msgs, 1), "accepted": half.ok, "refused_or_failed": half.errors,
                "delivered": out2.delivered, "dead": out2.dead, "unsettled": unsettled2,
                "accepted_to_delivered_ms": out2.latency(),
                "client_send_to_delivered_ms": load.percentiles(out2.end_to_end_ms),
                "client_latency_ms": load.percentiles(half.latencies_ms),
                "cpu_seconds_per_1000_messages": _per_1000(half_cpu, half.ok)},
            "peak_memory_mb": peak,
            "loadavg_after": loadavg(),
        }
        if scenario.name in ("pass-through", "slow-partner"):
            # no hub: the client calls the same simulator directly, at the same rate (the hub's added latency)
            direct = baselines.direct(sims, opts.seconds, opts.concurrency, rate_msgs)
            result["direct_same_rate_ms"] = load.percentiles(direct.latencies_ms)
            e2e, d = result["half_load"]["client_send_to_delivered_ms"], result["direct_same_rate_ms"]
            if e2e["p50"] is not None and d["p50"] is not None:
                result["added_latency_ms"] = {q: round(e2e[q] - d[q], 2) for q in ("p50", "p95", "p99")}
        return result
    finally:
        if hub is not None:
            hub.stop()
        sims.stop()


def run_baselines(opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"machine": machine()}
    print("baseline: kombu", flush=True)
    out["kombu"] = baselines.kombu_rates(opts.seconds)
    print("baseline: signxml", flush=True)
    out["signxml_sign"] = baselines.signxml_rate(min(opts.seconds, 5))
    sims = Simulators(workdir).start()
    try:
        print("baseline: requests -> simulator", flush=True)
        meter = Meter(_groups(None, sims))
        raw = baselines.direct(sims, opts.seconds, opts.concurrency, None)
        out["requests_post_to_simulator"] = {"per_s": round(raw.ok_per_second, 1), "errors": raw.errors,
                                             "concurrency": opts.concurrency,
                                             "client_latency_ms": load.percentiles(raw.latencies_ms),
                                             "cpu_seconds": meter.cpu()}
        meter.stop()
        if baselines.NodeRed.installed():
            print("baseline: Node-RED", flush=True)
            red = baselines.NodeRed(workdir, sims.url).start()
            try:
                load.run(red.url, baselines.EchoUnits(), 2, 4, ok_status=200)  # warm-up
                meter = Meter(_groups(None, sims, {"node-red": red.group()}))
                res = load.run(red.url, baselines.EchoUnits(), opts.seconds, opts.concurrency, ok_status=200)
                cpu = meter.cpu()
                meter.stop()
                out["node_red_pass_through"] = {
                    "per_s": round(res.ok_per_second, 1), "errors": res.errors, "concurrency": opts.concurrency,
                    "client_latency_ms": load.percentiles(res.latencies_ms), "cpu_seconds": cpu,
                    "cpu_seconds_per_1000_messages": _per_1000(cpu, res.ok),
                    "peak_memory_mb": round(meter.peak_rss["node-red"], 1)}
            finally:
                red.stop()
        else:
            out["node_red_pass_through"] = {"skipped": "Node-RED not installed: run `make bench`"}
    finally:
        sims.stop()
    return out


def _save(name: str, data: dict[str, Any], opts: argparse.Namespace) -> Path:
    return save(RESULTS, f"{opts.date}-{name}{'-quick' if opts.quick else ''}{opts.suffix}", data)


def save(folder: Path, stem: str, data: dict[str, Any]) -> Path:
    """``folder/stem.json``, stamped with the code's commit. A file of that name from an earlier run (a second
    ``make bench`` on one date) is kept, renamed ``stem-<its commit>.json``: the figures a README quotes from it
    stay reproducible (2026-12-03: the files of two tables went missing between runs of one date)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {**data, "commit": data.get("commit") or commit()}
    path = folder / f"{stem}.json"
    if path.exists():
        try:
            older = json.loads(path.read_text(encoding="utf-8")).get("commit") or "earlier"
        except ValueError:
            older = "earlier"
        keep, n = folder / f"{stem}-{older}.json", 2
        while keep.exists():
            keep, n = folder / f"{stem}-{older}-{n}.json", n + 1
        path.rename(keep)
        print(f"  (the earlier {path.name} is kept as {keep.name})", flush=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def commit() -> str:
    """The checkout's short commit, with ``+dirty`` when its code has uncommitted changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        # the bench's own result files do not make the code dirty (a run renames and writes them)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/results"], cwd=ROOT,
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python run.py bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                   help="short phases (5 s): the whole matrix in minutes (env BENCH_QUICK=1)")
    p.add_argument("--seconds", type=float, help="length of each load phase (default 20, quick 5)")
    p.add_argument("--concurrency", type=int, default=32, help="client senders at once (default 32)")
    p.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only these (repeatable)")
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4],
                   help="deployments: 0 = embedded (memory://, SQLite), N = RabbitMQ + PostgreSQL with N workers")
    p.add_argument("--no-baselines", dest="baselines", action="store_false")
    p.add_argument("--settle", type=float, default=240, help="seconds to wait for deliveries to settle")
    p.add_argument("--suffix", default="", help="appended to each result file's name (an A/B round: -ab-<commit>-1)")


def run(opts: argparse.Namespace) -> int:
    opts.seconds = opts.seconds or (5.0 if opts.quick else 20.0)
    opts.date = dt.date.today().isoformat()
    command = "python run.py bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else " ".join(sys.argv)
    cluster = [w for w in opts.workers if w]
    if cluster and not (service_up(5672) and service_up(5432)):
        print("RabbitMQ (5672) or PostgreSQL (5432) not running on 127.0.0.1: running the embedded deployment only",
              file=sys.stderr)
        opts.workers = [w for w in opts.workers if not w]
    base = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        if opts.baselines:
            data = run_baselines(opts, base / "baselines")
            data["command"] = command
            print(f"  -> {_save('baselines', data, opts)}", flush=True)
        for name in opts.scenario or list(SCENARIOS):
            scenario = SCENARIOS[name]
            doc: dict[str, Any] = {"scenario": name, "title": scenario.title, "date": opts.date, "quick": opts.quick,
                                   "command": command, "machine": machine(), "connector_options": scenario.connectors,
                                   "partner_faults": scenario.faults, "runs": []}
            for workers in opts.workers:
                workdir = base / f"{name}-{workers}"
                workdir.mkdir(parents=True)
                print(f"scenario {name}, workers {workers}", flush=True)
                started = time.monotonic()
                try:
                    doc["runs"].append(run_scenario(scenario, workers, opts, workdir))
                except Exception as exc:  # noqa: BLE001 - one failed deployment must not lose the others' figures
                    doc["runs"].append({"workers": workers, "error": f"{type(exc).__name__}: {exc}"})
                    print(f"  failed: {exc}", file=sys.stderr, flush=True)
                r = doc["runs"][-1]
                print(f"  {time.monotonic() - started:.0f} s: " + json.dumps(
                    {k: r.get("saturation", {}).get(k) for k in ("accepted_per_s", "delivered_per_s", "unsettled")}
                    | {"p50/p99": [r.get("half_load", {}).get("accepted_to_delivered_ms", {}).get(q)
                                   for q in ("p50", "p99")]}), flush=True)
            print(f"  -> {_save(name, doc, opts)}", flush=True)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"work files kept in {base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
