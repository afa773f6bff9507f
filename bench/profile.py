"""Where the hub's time goes under load: py-spy on every hub process of one deployment at saturation, the top costs
(what bench/README.md quotes), plus the idle CPU of the deployment and the PostgreSQL backends forked under load.

    .venv/bin/python -m bench.profile pass-through --workers 1 --py-spy /tmp/prof/bin/py-spy

py-spy is not a project dependency: install it in a throwaway venv (python3 -m venv /tmp/prof &&
/tmp/prof/bin/pip install py-spy). Not part of `make bench`.

Read a profile as WALL time of running-or-runnable threads, not as CPU: py-spy counts a thread that is ready to run
but waiting for a core. On 2 cores shared with the database, the broker, the simulator and the load generator, a
process that sends on a loopback socket wakes the receiver, which often takes the core at once: the sender then
waits, runnable, inside its ``send`` (the gateway's HTTP answer: 26 % of its samples at 37422f8,
bench/results/2026-12-03-profile-pass-through-1w-37422f8.txt, though perf puts the whole kernel, sends included,
at 9 % of the gateway's CPU). ``--gil`` keeps only samples that hold the GIL: a ``send`` releases it, so those
samples go (the answer's send: 3 of 353, bench/results/2026-12-03-pyspy-raw-gateway-gil-28cdeb3.txt).
psycopg2's ``do_execute`` does not go (14 % of the worker's samples without ``--gil``, 24 % with it, in the
profile files of 37422f8 and 28cdeb3), yet ``perf`` (on-CPU samples only) puts psycopg2 and libpq at about 1 % of
the worker's CPU (bench/results/2026-12-03-perf-dso-*.txt): it too is mostly waiting, so ``--gil`` also prints the
shares by package with such leaves left out (``by_package``). CPU per process: ``bench.probe split``.
"""
from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import load, measure
from bench.procs import Group, Sampler, tree
from bench.scenarios import SCENARIOS
from bench.stack import TOKEN, deployment

HUB_FRAMES = ("(hub/", "(connectors/", "(transforms/")


#: leaf frames where a sampled thread is waiting for a core after waking a peer, not computing (module docstring)
WAITS = ("GreenSocket._send_loop", "DefaultDialect.do_execute")


def by_package(path: Path, limit: int = 12) -> list[str]:
    """Shares of the samples by the package of the frame that ran, the samples whose leaf is one of ``WAITS``
    left out: with ``--gil``, the nearest this gives to where the CPU went (perf cannot see Python frames on 3.11)."""
    own: collections.Counter = collections.Counter()
    kept = dropped = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or not count.isdigit():
            continue
        if frames[-1].startswith(WAITS):
            dropped += int(count)
            continue
        kept += int(count)
        where = frames[-1].rpartition("(")[2]
        own["hub's own code" if where.startswith(tuple(h[1:] for h in HUB_FRAMES)) else where.split("/")[0]] += int(count)
    out = [f"{path.name}: {kept} samples by package of the running frame ({dropped} in {', '.join(WAITS)} left out)"]
    return out + [f"  {n / max(kept, 1):6.1%}  {k}" for k, n in own.most_common(limit)]


def top_costs(path: Path, limit: int = 25) -> list[str]:
    """Self and inclusive shares from py-spy's raw (collapsed) output, inclusive only for the hub's own frames."""
    incl: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or not count.isdigit():
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    out = [f"{path.name}: {total} samples"]
    out += [f"  self {n / total:6.1%}  {f[:140]}" for f, n in own.most_common(10)]
    out += [f"  incl {n / total:6.1%}  {f[:140]}" for f, n in incl.most_common(800)
            if any(x in f for x in HUB_FRAMES)][:limit]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--py-spy", dest="py_spy", default="py-spy")
    p.add_argument("--keep", type=Path, help="copy py-spy's raw (collapsed) stacks into this folder")
    p.add_argument("--gil", action="store_true",
                   help="only samples that hold the GIL (py-spy --gil): see the module's note on preemption")
    args = p.parse_args()
    scenario = SCENARIOS[args.scenario]
    with deployment(scenario, args.workers, "hub-profile-") as (hub, _sims):
        workdir = hub.workdir
        groups = {"hub": hub.group()}
        if args.workers:
            groups["database"] = Group("database", comm_prefix="postgres")
        idle = Sampler(groups, interval=0.1)
        time.sleep(5)
        print("idle CPU seconds per second:", {k: round(v / 5, 3) for k, v in idle.cpu().items()})
        idle.stop()
        busy = Sampler(groups, interval=0.1)
        spies = [subprocess.Popen([args.py_spy, "record", "-r", "50", "-d", str(int(args.seconds)), "-f", "raw",
                                   "--nonblocking", *(["--gil"] if args.gil else []),
                                   "-o", str(workdir / f"pyspy-{pid}.txt"), "-p", str(pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in tree(hub.proc.pid)]
        sat = load.run(hub.url + "/v1/messages", scenario.units("prof"), args.seconds + 2, 32,
                       headers={"Authorization": f"Bearer {TOKEN}"})
        for spy in spies:
            spy.wait()
        measure.settle(hub.engine, "prof", sat.ok * scenario.deliveries_per_message, 120)
        cpu = busy.cpu()
        busy.stop()
        print(f"accepted/s {sat.ok_per_second:.0f}; CPU s per 1,000 messages:",
              {k: round(v / max(sat.ok, 1) * 1000, 2) for k, v in cpu.items()})
        if args.workers:
            print("PostgreSQL backends forked under load:", len(set(busy.seen["database"]) - set(busy.start["database"])))
        for path in sorted(workdir.glob("pyspy-*.txt")):
            print("\n".join(top_costs(path)))
            if args.gil:
                print("\n".join(by_package(path)))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, args.keep / path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
