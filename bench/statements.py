"""What the hub asks PostgreSQL per message: every statement of one `bench.probe split` run, counted by shape.

    .venv/bin/python -m bench.statements dvcqg-sync [--workers 1] [--seconds 5] [--tree DIR]
        [--log /var/log/postgresql/postgresql-15-main.log]

Needs the bench's PostgreSQL user to be a superuser (ALTER SYSTEM) and the server's log readable. For the length
of the probe it sets ``log_min_duration_statement = 0`` (ALTER SYSTEM, then reloads; reset after,
also on failure), reads what the server wrote to its log meanwhile and keeps the statements of the probe's own
database (``hub_bench_*``). ``--tree`` runs the probe from another checkout (a `git worktree` of another commit),
so two commits are counted the same way. Prints the totals per message and the commonest shapes (values replaced
by ``?``). The durations are the server's own, commit included (for an autocommit statement, its WAL flush).
Not part of `make bench`: it changes the server's settings while it runs.
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from bench.stack import PG_BASE

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\S+ \S+ \S+ \[\d+\] (\S*) LOG:  duration: ([\d.]+) ms  (?:statement|execute \S+): (.*)")
PREFIX = "%m [%p] %d "


def _set(settings: dict[str, str | None]) -> None:
    engine = sa.create_engine(f"{PG_BASE}/postgres".replace("postgresql://", "postgresql+psycopg2://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name, value in settings.items():
            conn.execute(sa.text(f"ALTER SYSTEM RESET {name}" if value is None else f"ALTER SYSTEM SET {name} = '{value}'"))
        conn.execute(sa.text("SELECT pg_reload_conf()"))
    engine.dispose()


def shape(statement: str) -> str:
    s = re.sub(r"'[^']*'", "?", statement)
    s = re.sub(r"\b\d+(\.\d+)?\b", "N", s)
    s = re.sub(r"(\?, )+\?", "?..", s)
    return s[:110]


def count(lines: list[str]) -> tuple[collections.Counter, collections.Counter]:
    n: collections.Counter = collections.Counter()
    ms: collections.Counter = collections.Counter()
    for line in lines:
        m = LINE.match(line)
        if m and m.group(1).startswith("hub_bench"):
            key = shape(m.group(3))
            n[key] += 1
            ms[key] += float(m.group(2))
    return n, ms


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__.splitlines()[0])
    p.add_argument("scenario")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose hub is probed (default: this one)")
    p.add_argument("--log", type=Path, default=Path("/var/log/postgresql/postgresql-15-main.log"),
                   help="where the server writes its log (Debian's pg_ctlcluster: this file)")
    args = p.parse_args()
    start = args.log.stat().st_size
    _set({"log_min_duration_statement": "0", "log_line_prefix": PREFIX})
    try:
        probe = subprocess.run([sys.executable, "-m", "bench.probe", "split", args.scenario, "--workers",
                                str(args.workers), "--seconds", str(args.seconds)], cwd=args.tree,
                               capture_output=True, text=True, check=True)
    finally:
        _set({"log_min_duration_statement": None, "log_line_prefix": None})
    with args.log.open("rb") as f:
        f.seek(start)
        lines = f.read().decode("utf-8", "replace").splitlines()
    accepted = int(re.search(r"accepted (\d+) in", probe.stdout).group(1))
    n, ms = count(lines)
    total = sum(n.values())
    print(probe.stdout.strip())
    print(f"\n{total} statements for {accepted} messages: {total / accepted:.2f} per message; "
          f"BEGIN {n['BEGIN']}, COMMIT {n['COMMIT']}, ROLLBACK {n['ROLLBACK']}")
    for key, k in n.most_common(16):
        print(f"{k:7d} {ms[key] / k:7.3f} ms each  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
