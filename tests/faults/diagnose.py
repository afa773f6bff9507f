"""What a fault run that did not settle prints: delivery states, and where each hub process waits.

Every process of the cluster is asked for a dump of its green threads (SIGUSR2, hub/services/diagnostics.py);
the dumps, the `hub.stuck` reports and the container restarts are cut from the logs, so a stall on a CI machine
can be diagnosed from the test output alone.
"""
from __future__ import annotations

import os
import signal
import time
from typing import Any

import sqlalchemy as sa

BANNER = "LGSP hub is running"
MARKERS = ("green thread", "hub.stuck", "died", "Traceback", "\"level\": \"error\"", "\"level\": \"critical\"")


def diagnose(cluster: Any, per_process: int = 150, max_line: int = 1500) -> str:
    lines = []
    with cluster.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT connector, state, last_code, count(*) FROM deliveries "
                                    "WHERE state NOT IN ('delivered', 'dead') GROUP BY 1, 2, 3")).all()
    lines.append("unfinished deliveries: " + (", ".join(f"{c}/{s}/{code}: {n}" for c, s, code, n in rows) or "none"))
    named = {"gateway": cluster.gateway, **{f"worker{i}": w for i, w in enumerate(cluster.workers)}}
    for name, proc in named.items():
        # only a process past its banner has the SIGUSR2 handler; before it, the signal would kill it
        if proc is not None and proc.poll() is None and BANNER in cluster.log(name):
            os.kill(proc.pid, signal.SIGUSR2)
    time.sleep(3)
    for name, proc in named.items():
        state = "gone" if proc is None else ("running" if proc.poll() is None else f"exited {proc.returncode}")
        wanted = [line[:max_line] for line in cluster.log(name).splitlines() if any(m in line for m in MARKERS)]
        lines.append(f"--- {name} ({state}): {len(wanted)} notable lines, last ones:")
        lines.extend(wanted[-per_process:])
    return "\n".join(lines)
