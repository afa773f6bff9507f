"""Three looks inside one deployment that the bench's tables cannot give (bench/README.md quotes them):

    .venv/bin/python -m bench.probe stages pass-through --workers 1 [--rate 50]
        one sender at a low fixed rate; the client's POST round trip, and when each hop of a message happened
        after ``accepted_at`` (from the store's trace): where the latency goes when nothing queues
    .venv/bin/python -m bench.probe split slow-partner --workers 1 [--seconds 10]
        32 senders at saturation; CPU of each hub process (cores used during the load, CPU ms per message with the
        drain), the simulator's, and the deliveries in flight sampled every 0.25 s: is a worker short of CPU or
        of attempts in flight?
    .venv/bin/python -m bench.probe rate pass-through --workers 1 --rate 200 [--seconds 10]
        32 senders, open loop at a FIXED rate (the bench's 50 % phase follows each run's own saturation, so two
        commits are compared there at different rates): accepted -> delivered and client send -> delivered
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from bench import load, measure
from bench.procs import tree
from bench.scenarios import SCENARIOS
from bench.stack import TOKEN, Hub, Simulators, deployment, session


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _role(pid: int) -> str:
    cmd = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    return "worker" if "worker" in cmd else "gateway"


def stages(hub: Hub, scenario, messages: int, rate: float) -> None:  # noqa: ANN001
    client, units, rtt = session(), scenario.units("stage"), []
    for i in range(messages):
        started = time.time()
        for body in units("t", i):
            if client.post(hub.url + "/v1/messages", json=body, timeout=30).status_code != 202:
                raise SystemExit("the hub refused a message: see its log")
        rtt.append((time.time() - started) * 1000)
        time.sleep(max(0.0, 1 / rate - (time.time() - started)))
    measure.settle(hub.engine, "stage", messages * scenario.deliveries_per_message, 60)
    with hub.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT m.id, m.accepted_at, d.delivered_at, h.kind, h.at FROM messages m "
                                    "JOIN deliveries d ON d.message_id = m.id JOIN hops h ON h.message_id = m.id "
                                    "WHERE m.id LIKE 'stage%' ORDER BY m.accepted_at, h.id")).all()
    after: dict[str, list[float]] = {}
    skip = {r.id for r in rows[: len(rows) // 5]}          # the first fifth warms pools and caches
    seen: set[str] = set()
    for r in rows:
        if r.id in skip:
            continue
        after.setdefault(r.kind, []).append((r.at - r.accepted_at).total_seconds() * 1000)
        if r.id not in seen and r.delivered_at is not None:
            seen.add(r.id)
            after.setdefault("delivered_at", []).append((r.delivered_at - r.accepted_at).total_seconds() * 1000)
    print(f"client POST round trip ms: p50 {statistics.median(rtt[len(rtt) // 5:]):.2f}")
    for kind, values in after.items():
        values.sort()
        print(f"{kind:16s} ms after accepted_at: p50 {values[len(values) // 2]:7.2f}  p90 {values[int(len(values) * .9)]:7.2f}")


def split(hub: Hub, sims: Simulators, scenario, seconds: float) -> None:  # noqa: ANN001
    pids = tree(hub.proc.pid)
    before, sim_before, started = {p: _cpu(p) for p in pids}, _cpu(sims.proc.pid), time.time()
    in_flight: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            with hub.engine.connect() as conn:
                in_flight.append(conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE state = 'in_flight'"))
                                 .scalar())
            time.sleep(0.25)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sat = load.run(hub.url + "/v1/messages", scenario.units("split"), seconds, 32,
                   headers={"Authorization": f"Bearer {TOKEN}"})
    loaded, during = time.time(), {p: _cpu(p) for p in pids}
    done.set()
    sampler.join()
    measure.settle(hub.engine, "split", sat.ok * scenario.deliveries_per_message, 300)
    drained = time.time()
    print(f"accepted {sat.ok} in {seconds:g} s ({sat.ok / seconds:.0f}/s); the backlog drained {drained - loaded:.1f} s "
          f"later: {sat.ok * scenario.deliveries_per_message / (drained - started):.0f} deliveries/s end to end")
    for p in pids:
        print(f"  {_role(p):8s} pid {p}: {(during[p] - before[p]) / (loaded - started):.2f} cores during the load, "
              f"{(_cpu(p) - before[p]) / max(sat.ok, 1) * 1000:.3f} CPU ms per message")
    print(f"  simulator: {(_cpu(sims.proc.pid) - sim_before) / max(sat.ok, 1) * 1000:.3f} CPU ms per message")
    print(f"  deliveries in flight every 0.25 s: {in_flight}")
    with hub.engine.connect() as conn:    # the partner call itself, as the worker timed it (the trace's hop)
        calls = sorted(conn.execute(sa.text("SELECT duration_ms FROM hops WHERE kind = 'answered' "
                                            "AND message_id LIKE 'split%'")).scalars())
    if calls:
        print(f"  partner call ms (answered hops): p50 {calls[len(calls) // 2]:.1f}  "
              f"p90 {calls[int(len(calls) * .9)]:.1f}  max {calls[-1]:.1f}")


def at_rate(hub: Hub, scenario, rate: float, seconds: float) -> None:  # noqa: ANN001
    per_unit = len(scenario.units("x")("0-0", 0))
    load.run(hub.url + "/v1/messages", scenario.units("warm"), 2, 4, headers={"Authorization": f"Bearer {TOKEN}"})
    sent = load.run(hub.url + "/v1/messages", scenario.units("rate"), seconds, 32, rate=rate / per_unit,
                    headers={"Authorization": f"Bearer {TOKEN}"})
    measure.settle(hub.engine, "rate", sent.ok * scenario.deliveries_per_message, 120)
    out = measure.outcome(hub.engine, "rate", sent.sent_at)
    print(f"offered {rate:g} messages/s for {seconds:g} s: accepted {sent.ok}, delivered {out.delivered}, "
          f"dead {out.dead}")
    print(f"  accepted -> delivered ms:     {out.latency()}")
    print(f"  client send -> delivered ms:  {load.percentiles(out.end_to_end_ms)}")
    print(f"  client POST round trip ms:    {load.percentiles(sent.latencies_ms)}")


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.probe", description=__doc__.splitlines()[0])
    p.add_argument("look", choices=["stages", "split", "rate"])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--rate", type=float, default=50,
                   help="messages per second: stages, from one sender; rate, over 32 senders")
    p.add_argument("--messages", type=int, default=300, help="stages: how many")
    p.add_argument("--seconds", type=float, default=10, help="split: length of the saturation; rate: of the load")
    args = p.parse_args()
    scenario = SCENARIOS[args.scenario]
    with deployment(scenario, args.workers, "hub-probe-") as (hub, sims):
        if args.look == "stages":
            stages(hub, scenario, args.messages, args.rate)
        elif args.look == "rate":
            at_rate(hub, scenario, args.rate, args.seconds)
        else:
            split(hub, sims, scenario, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
