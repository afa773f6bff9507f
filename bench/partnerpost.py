"""The worker's partner call alone: CPU per POST of the hub's ``PartnerPool`` against the ways it could be made, in
one run, on one kept-alive connection to the echo simulator (its own process), under eventlet like the worker.

    .venv/bin/python -m bench.partnerpost [--calls 3000] [--rounds 3] [--tree DIR] [--out FILE]

Rows, each round in this order: ``requests.Session.post`` (what connectors used before lean_post), urllib3's
``PoolManager.urlopen`` (what lean_post used until 2026-12-03), ``http.client`` on one connection with nothing
around it (the floor), and the hub's ``PartnerPool.post`` (``--tree``: the one of another checkout, for an A/B).
Reports CPU microseconds of this process per call (``time.thread_time``: the simulator's work is not counted) and
wall microseconds per call, the median of the rounds, and each row as a ratio to the floor.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402 - after the monkey patching, like run.py
import http.client  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

BODY = json.dumps({"id": "m-1", "type": "demo.ping", "payload": {"text": "xin chào", "seq": "1"}},
                  ensure_ascii=False).encode()
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
           "Idempotency-Key": "m-1/demo-ping-to-echo"}


def _time(call: Callable[[], int], calls: int) -> tuple[float, float]:
    for _ in range(100):
        call()
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        if call() != 200:
            raise SystemExit("the simulator did not answer 200")
    return (time.thread_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6


def ways(port: int) -> dict[str, Callable[[], int]]:
    import requests
    import urllib3

    from connectors.lean_post import PartnerPool

    url, path = f"http://127.0.0.1:{port}/echo/messages", "/echo/messages"
    session = requests.Session()
    session.trust_env = False
    manager = urllib3.PoolManager(maxsize=4, retries=False)
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    pool = PartnerPool(16)

    def via_requests() -> int:
        return session.post(url, data=BODY, headers=HEADERS, timeout=(3, 60), allow_redirects=False).status_code

    def via_urllib3() -> int:
        raw = manager.urlopen("POST", url, body=BODY, headers=HEADERS, redirect=False, retries=False,
                              timeout=urllib3.Timeout(connect=3, read=60), preload_content=True)
        return raw.status

    def via_http_client() -> int:
        plain.request("POST", path, body=BODY, headers=HEADERS)
        answer = plain.getresponse()
        answer.read()
        return answer.status

    def via_hub() -> int:
        return pool.post(url, BODY, HEADERS, (3, 60)).status_code

    return {"requests.Session.post": via_requests, "urllib3 PoolManager.urlopen": via_urllib3,
            "http.client (the floor)": via_http_client, "hub PartnerPool.post": via_hub}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.partnerpost", description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--tree", type=Path, help="import connectors/ and hub/ from this checkout (an A/B)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))
    from bench.stack import Simulators
    import connectors.lean_post

    sims = Simulators(Path(tempfile.mkdtemp(prefix="hub-partnerpost-"))).start()
    try:
        rows = ways(sims.port)
        seen: dict[str, list[tuple[float, float]]] = {name: [] for name in rows}
        for _ in range(args.rounds):
            for name, call in rows.items():
                seen[name].append(_time(call, args.calls))
    finally:
        sims.stop()
    floor = statistics.median(c for c, _ in seen["http.client (the floor)"])
    out = {"calls": args.calls, "rounds": args.rounds, "lean_post": str(Path(connectors.lean_post.__file__).resolve()),
           "rows": {name: {"cpu_us_per_call": round(statistics.median(c for c, _ in v), 1),
                           "wall_us_per_call": round(statistics.median(w for _, w in v), 1),
                           "cpu_vs_floor": round(statistics.median(c for c, _ in v) / floor, 2)}
                    for name, v in seen.items()}}
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
