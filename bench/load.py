"""The load generator: a few processes, each with threads holding one ``requests`` session (keep-alive).

Two shapes, both posting to any URL (the hub's client API, the simulator directly, Node-RED):
* **saturation** (closed loop): ``concurrency`` senders post back to back for ``seconds``;
* **fixed rate** (open loop): sends are scheduled at ``rate``/s from the start, whatever the answers take, so a
  slow answer does not lower the offered load (no coordinated omission).
Each send is one *unit* from the scenario: a list of bodies posted in order (a dossier's sync then its step).
"""
from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

#: (sender index, unit number) -> bodies to post in order
Factory = Callable[[str, int], list[dict[str, Any]]]


@dataclass
class LoadResult:
    seconds: float
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)     # client-side, per request
    sent_at: dict[str, float] = field(default_factory=dict)     # message id -> wall clock of its send

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def merge(self, other: "LoadResult") -> None:
        self.sent += other.sent
        self.ok += other.ok
        for k, v in other.errors.items():
            self.errors[k] = self.errors.get(k, 0) + v
        self.latencies_ms.extend(other.latencies_ms)
        self.sent_at.update(other.sent_at)


def _sender(url: str, headers: dict[str, str], factory: Factory, tag: str, start_at: float, seconds: float,
            interval: float | None, ok_status: int) -> LoadResult:
    s = requests.Session()
    s.trust_env = False
    s.headers.update(headers)
    out = LoadResult(seconds)
    n = 0
    while True:
        due = start_at + n * interval if interval else time.time()
        if due >= start_at + seconds:
            break
        if (wait := due - time.time()) > 0:
            time.sleep(wait)
        for body in factory(tag, n):
            t0 = time.time()
            try:
                r = s.post(url, json=body, timeout=30)
                code = str(r.status_code)
            except requests.RequestException as exc:
                code = type(exc).__name__
            out.sent += 1
            if code == str(ok_status):
                out.ok += 1
                out.latencies_ms.append((time.time() - t0) * 1000)
                if "id" in body:
                    out.sent_at[body["id"]] = t0
            else:
                out.errors[code] = out.errors.get(code, 0) + 1
        n += 1
    return out


def _process(args: tuple) -> LoadResult:
    url, headers, factory, proc, threads, start_at, seconds, rate, ok_status = args
    interval = threads / rate if rate else None
    total = LoadResult(seconds)
    with ThreadPoolExecutor(threads) as pool:
        futures = []
        for t in range(threads):
            # spread the open-loop senders' schedules so the sends do not come in lock-step bursts
            offset = (interval or 0) * t / threads
            futures.append(pool.submit(_sender, url, headers, factory, f"{proc}-{t}", start_at + offset, seconds,
                                       interval, ok_status))
        for f in futures:
            total.merge(f.result())
    return total


def run(url: str, factory: Factory, seconds: float, concurrency: int, rate: float | None = None,
        processes: int = 2, headers: dict[str, str] | None = None, ok_status: int = 202) -> LoadResult:
    """Saturation when ``rate`` is None, else ``rate`` units/s spread over ``concurrency`` senders."""
    processes = max(1, min(processes, concurrency))
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    start_at = time.time() + 1.0  # every process starts together, after its imports
    jobs = [(url, headers or {}, factory, p, per[p], start_at, seconds,
             (rate * per[p] / concurrency) if rate else None, ok_status) for p in range(processes)]
    total = LoadResult(seconds)
    with ProcessPoolExecutor(processes) as pool:
        for part in pool.map(_process, jobs):
            total.merge(part)
    return total


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    xs = sorted(values)

    def at(q: float) -> float:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 2)
    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": len(xs)}
