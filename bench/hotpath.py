"""The hub's hot path in one process, without HTTP, partners or other processes: CPU per message of the store and
bus work, the part issue 10's profile blamed (store writes, confirm waits, pre-ping, claim, finish).

    .venv/bin/python -m bench.hotpath [--messages 500] [--concurrency 32] [--tree DIR] [--out FILE]

Under eventlet like the services: N messages accepted by C green threads (``Store.accept`` + ``Bus.publish``, what
``POST /v1/messages`` does after validation), then claimed and finished by C green threads (what a dispatcher does
around the partner call), on RabbitMQ + PostgreSQL (a fresh database and queue, dropped afterwards). Reports CPU
seconds of this process per 1,000 messages and the wall rate of each phase. ``--tree`` imports ``hub`` from another
checkout (e.g. ``git archive <commit>`` unpacked in /tmp) to compare code at the same time on the same machine:
CPU per message moves much less than rates when other work shares the cores.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()

import argparse  # noqa: E402 - after the monkey patching, like run.py
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
AMQP = "amqp://guest:guest@127.0.0.1:5672//"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(messages: int, concurrency: int) -> dict:
    import sqlalchemy as sa
    from kombu import Connection

    import hub
    from hub.bus import Bus
    from hub.message import Message
    from hub.store import HopRecord, Outcome, Store

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    db, connector = f"hub_hot_{uuid.uuid4().hex[:6]}", f"hot{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    store = Store(f"postgresql://postgres@127.0.0.1:5432/{db}")
    bus = Bus(AMQP, [connector])
    out: dict = {"hub": str(Path(hub.__file__).parent), "messages": messages, "concurrency": concurrency}
    try:
        store.migrate()
        bus.declare()

        def accept(i: object) -> None:
            msg = Message(id=f"m{i}", type="demo.ping", source="demo", payload={"text": "xin chào", "seq": str(i)},
                          subject=f"S-{i}")
            hops = [HopRecord("received"), HopRecord("validated"), HopRecord("routed")]
            bus.publish(store.accept(msg, f"d{i}", [("r1", connector)], hops).deliveries)

        def deliver(i: int) -> None:
            claimed = store.claim(f"m{i}/r1", 30)
            store.finish(claimed, Outcome("delivered", reply={"ok": True}),
                         [HopRecord("sent", delivery_id=claimed.id, duration_ms=1.0),
                          HopRecord("delivered", delivery_id=claimed.id)])

        for i in range(50):  # warm-up: pools, statement caches, the confirm channel
            accept(f"w{i}")
        pool = eventlet.GreenPool(concurrency)
        for phase, work in (("accept_and_publish", accept), ("claim_and_finish", deliver)):
            cpu, started = _cpu(), time.perf_counter()
            list(pool.imap(work, range(messages)))
            out[phase] = {"cpu_ms_per_message": round((_cpu() - cpu) / messages * 1000, 3),
                          "per_s": round(messages / (time.perf_counter() - started), 1)}
        with Connection(AMQP) as conn:
            queue = bus.queues[connector](conn.default_channel)
            out["queued"] = queue.queue_declare(passive=True).message_count
            queue.delete()
        with store.engine.connect() as conn:
            out["delivered"] = conn.execute(sa.text("SELECT count(*) FROM deliveries WHERE state = 'delivered' "
                                                    "AND id LIKE 'm%'")).scalar()
        out["loadavg_after"] = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
        return out
    finally:
        store.close()
        bus.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--tree", help="import hub from this checkout instead of this one")
    p.add_argument("--out", help="append the result (one JSON line) to this file")
    opts = p.parse_args(argv)
    if opts.tree:
        sys.path.insert(0, str(Path(opts.tree).resolve()))
    result = run(opts.messages, opts.concurrency)
    line = json.dumps(result, ensure_ascii=False)
    print(line)
    if opts.out:
        with open(opts.out, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
