"""Fill a store with N messages (default 1,000,000) and measure the dashboard's searches.

    python bench/search.py                       # SQLite in var/bench-search.db
    python bench/search.py --store postgresql://postgres@127.0.0.1/bench --n 1000000

Each search is the query behind /ui/search (hub.web.queries.search): the target is under 200 ms each.
Not part of the test suite (filling takes minutes).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from hub.formats import agency_of  # noqa: E402
from hub.message import utcnow  # noqa: E402
from hub.store import Store  # noqa: E402
from hub.store.schema import deliveries, messages  # noqa: E402
from hub.web.queries import SearchFilter, search  # noqa: E402

TYPES = ["dossier.sync", "dossier.progress", "payment.create", "citizen.verify", "sms.send", "postal.order"]
CONNECTORS = ["dvcqg", "payments", "dancu", "vnpost", "sms", "edxml"]
STATES = ["delivered"] * 90 + ["dead"] * 2 + ["retry_wait"] * 3 + ["pending"] * 5


def fill(store: Store, n: int, batch: int = 5000) -> None:
    rnd = random.Random(7)
    start = utcnow() - timedelta(days=30)
    envelope = json.dumps({"payload": {"text": "x" * 200}})
    with store.engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(messages)).scalar()
    for base in range(have, n, batch):
        msgs, dels = [], []
        for i in range(base, min(base + batch, n)):
            at = start + timedelta(seconds=i * 30 * 86400 / n)
            mid = f"bench-{i:08d}"
            subject = f"000.00.{i % 90:02d}.H20-2611{i % 28 + 1:02d}-{i % 9999:04d}"
            msgs.append({"id": mid, "type": TYPES[i % len(TYPES)], "source": f"client{i % 40}",
                         "subject": subject, "agency_id": agency_of(subject),
                         "correlation_id": None, "created_at": at, "accepted_at": at, "digest": "0" * 64,
                         "envelope": envelope})
            connector = CONNECTORS[rnd.randrange(len(CONNECTORS))]
            dels.append({"id": f"{mid}/r", "message_id": mid, "route": "r", "connector": connector,
                         "state": rnd.choice(STATES), "attempts": 1, "created_at": at, "updated_at": at,
                         "window_start": at})
        with store.engine.begin() as conn:
            conn.execute(insert(messages), msgs)
            conn.execute(insert(deliveries), dels)
        if base % 100_000 == 0:
            print(f"  {base + len(msgs):>9,} messages", flush=True)


def measure(store: Store, n: int) -> int:
    now = utcnow()
    cases = {
        "message id": SearchFilter(message_id=f"bench-{n // 2:08d}"),
        "dossier code": SearchFilter(subject="000.00.17.H20-261118-0017"),
        "agency": SearchFilter(agency="000.00.17.H20"),
        "agency + week": SearchFilter(agency="000.00.42.H20", since=now - timedelta(days=7)),
        # the fill gives agency i % 90 the type i % 6: agency 05 sends only TYPES[5]
        "agency + type + range": SearchFilter(agency="000.00.05.H20", type="postal.order",
                                              since=now - timedelta(days=20), until=now - timedelta(days=10)),
        "agency + connector + dead": SearchFilter(agency="000.00.17.H20", connector="dvcqg", state="dead"),
        "type + last day": SearchFilter(type="payment.create", since=now - timedelta(days=1)),
        "connector + dead": SearchFilter(connector="dvcqg", state="dead"),
        "state retry_wait + week": SearchFilter(state="retry_wait", since=now - timedelta(days=7)),
        "connector + delivered": SearchFilter(connector="sms", state="delivered"),
        "source + range": SearchFilter(source="client7", since=now - timedelta(days=20), until=now - timedelta(days=10)),
        "latest (no filter)": SearchFilter(since=now - timedelta(days=365)),
    }
    worst = 0.0
    for name, f in cases.items():
        times = []
        for _ in range(5):
            t = time.perf_counter()
            rows = search(store, f)
            times.append((time.perf_counter() - t) * 1000)
        worst = max(worst, max(times[1:]))
        print(f"  {name:<26} {len(rows):>3} rows  median {statistics.median(times):7.1f} ms  max {max(times[1:]):7.1f} ms")
    print(f"worst {worst:.1f} ms (target < 200 ms)")
    return 0 if worst < 200 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="sqlite:///var/bench-search.db")
    p.add_argument("--n", type=int, default=1_000_000)
    args = p.parse_args()
    store = Store(args.store)
    store.migrate()
    t = time.perf_counter()
    fill(store, args.n)
    print(f"filled {args.n:,} messages in {time.perf_counter() - t:.0f} s; searching:")
    return measure(store, args.n)


if __name__ == "__main__":
    sys.exit(main())
