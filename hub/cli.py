"""``python run.py <command>``: serve | check | routes | trace | replay | demo."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "config"


def _load(args: argparse.Namespace, **overrides: Any):  # noqa: ANN202
    from hub.config import load_config
    return load_config(args.config, overrides={k: v for k, v in overrides.items() if v is not None})


def cmd_serve(args: argparse.Namespace) -> int:
    from hub.services.runner import serve
    config = _load(args, http_host=args.host, http_port=args.port, sim_port=args.sim_port,
                   transport=args.transport, store=args.store)
    # bus and store URLs go to the workers through the environment: a password in argv shows in `ps`
    worker_argv = ["--config", str(args.config), "--sim-port", str(config.settings.sim_port)]
    os.environ["HUB_TRANSPORT"], os.environ["HUB_STORE"] = config.settings.transport, config.settings.store
    return serve(config, role=args.role, workers=args.workers, worker_argv=worker_argv, metrics_port=args.metrics_port)


def cmd_check(args: argparse.Namespace) -> int:
    from hub.check import production_problems
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"{len(exc.problems)} problem(s) in {args.config}:\n")
        print("\n".join(str(p) for p in exc.problems))
        return 1
    problems = production_problems(config) if args.production else []
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} problem(s) for production in {args.config}")
        return 1
    print(f"configuration in {args.config} is valid: {len(config.clients)} client(s), "
          f"{len(config.connectors)} connector(s), {len(config.routes)} route(s)")
    return 0


def cmd_routes(args: argparse.Namespace) -> int:
    config = _load(args)
    rows = [("ROUTE", "FROM", "WHEN", "STEPS", "TO", "RETRY")]
    for r in config.routes:
        when = " and ".join(f"{'.'.join(c.path)} {c.op} {json.dumps(c.value, ensure_ascii=False)}" for c in r.when) or "-"
        steps = " > ".join(f"{s.kind}:{s.name}" for s in r.steps) or "-"
        retry = f"{r.retry.max_attempts}x, {r.retry.backoff:g}s..{r.retry.max_backoff:g}s, max age {r.retry.max_age:g}s"
        rows.append((r.name, ", ".join(r.types), when, steps, f"{r.to} ({config.connectors[r.to].type})", retry))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _store(args: argparse.Namespace):  # noqa: ANN202
    from hub.store import Store
    config = _load(args, store=args.store)
    store = Store(config.settings.store)
    store.migrate()
    return store


def cmd_trace(args: argparse.Namespace) -> int:
    from hub.gateway import message_view
    from hub.trace import format_timeline
    store = _store(args)
    ids = store.message_ids_for_subject(args.subject) if args.subject else [args.id]
    if not ids or (args.id and store.message(args.id) is None):
        print(f"no message found for {args.subject or args.id}", file=sys.stderr)
        return 1
    views = [message_view(store.message(i)) for i in ids]
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False, default=str))
    else:
        print("\n\n".join(format_timeline(v) for v in views))
    return 0


_SINCE = re.compile(r"^(\d+)([smhd])$")


def parse_since(text: str) -> timedelta:
    m = _SINCE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 30m, 2h or 7d")
    return timedelta(seconds=int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)])


def cmd_replay(args: argparse.Namespace) -> int:
    from hub.message import utcnow
    store = _store(args)
    if args.id:
        record = store.message(args.id)
        candidates = [d["id"] for d in (record or {}).get("deliveries", []) if d["state"] == "dead"]
        if not candidates and store.delivery_state(args.id):
            candidates = [args.id]
    else:
        since = utcnow() - args.since if args.since else None
        rows = store.dead_letter_list(connector=args.connector, since=since, code=args.code, route=args.route)
        candidates = [r["delivery_id"] for r in rows]
    if not candidates:
        print("no dead letters match")
        return 1
    for did in candidates:
        print(("would replay " if args.dry_run else "replaying ") + did)
    if not args.dry_run:
        done = store.replay(candidates, actor=f"cli:{args.actor}")
        print(f"{len(done)} delivery(ies) queued again with their original ids; the scheduler publishes them")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hub.demo import run_demo
    return run_demo(args.url, args.token)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="configuration directory (default: config/)")


def _command_modules() -> list:
    import importlib
    import pkgutil

    import hub.commands
    return [importlib.import_module(f"hub.commands.{m.name}") for m in pkgutil.iter_modules(hub.commands.__path__)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python run.py", description="LGSP hub: the provincial integration bus")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
        "serve": (cmd_serve, "run the hub (embedded default: in-process bus, SQLite, simulators)"),
        "check": (cmd_check, "validate the configuration; list every problem with file, line and fix"),
        "routes": (cmd_routes, "print the routing table"),
        "trace": (cmd_trace, "print a message's journey: python run.py trace ID | --subject DOSSIER"),
        "replay": (cmd_replay, "replay dead letters: ID, or --connector X --since 2h --code C [--dry-run]"),
        "demo": (cmd_demo, "send realistic messages through the running hub and print where each went"),
    }
    subs = {}
    for name, (fn, help_text) in commands.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(func=fn)
        subs[name] = p
    s = subs["serve"]
    s.add_argument("--host", help="HTTP address to listen on (default from hub.yaml: 127.0.0.1)")
    s.add_argument("--port", type=int, help="HTTP port (default from hub.yaml: 8080)")
    s.add_argument("--sim-port", type=int, dest="sim_port", help="port of the partner simulators (default 8090)")
    s.add_argument("--transport", help="bus URL: memory:// or amqp://user:pass@host:5672/ (env HUB_TRANSPORT)")
    s.add_argument("--store", help="store URL: sqlite:///var/hub.db or postgresql://... (env HUB_STORE)")
    s.add_argument("--role", choices=("all", "gateway", "worker"), default="all",
                   help="all (default), gateway (HTTP API and routing) or worker (dispatchers and scheduler)")
    s.add_argument("--workers", type=int, default=0, metavar="N",
                   help="run this process as the gateway and N local worker processes (needs amqp:// and a shared store)")
    s.add_argument("--metrics-port", type=int, dest="metrics_port", metavar="PORT",
                   help="also serve this process's /metrics and /healthz on PORT (on --host; 0: any free port, "
                        "printed). For workers, which have no HTTP API; with --workers N, worker i uses PORT+i. "
                        "Default: off"),
    subs["check"].add_argument("--production", action="store_true",
                               help="also refuse sandbox tokens, sandbox mode and http:// partner URLs")
    for name in ("trace", "replay"):
        subs[name].add_argument("--store", help="store URL (default from hub.yaml)")
    t = subs["trace"]
    t.add_argument("id", nargs="?")
    t.add_argument("--subject", help="dossier code (or other business key)")
    t.add_argument("--json", action="store_true")
    r = subs["replay"]
    r.add_argument("id", nargs="?", help="message id or delivery id")
    r.add_argument("--connector")
    r.add_argument("--route")
    r.add_argument("--code", help="error code, e.g. delivery.partner_rejected")
    r.add_argument("--since", type=parse_since, help="only dead letters newer than this: 30m, 2h, 7d")
    r.add_argument("--dry-run", action="store_true", dest="dry_run")
    r.add_argument("--actor", default="operator", help="who replays (recorded in the trace)")
    for module in _command_modules():
        module.register(sub, _common)
    d = subs["demo"]
    d.add_argument("--url", default="http://127.0.0.1:8080")
    d.add_argument("--token", default="sandbox-demo-token")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "trace" and not (args.id or args.subject):
        print("give a message id or --subject", file=sys.stderr)
        return 2
    if args.command == "replay" and not (args.id or args.connector or args.code or args.since or args.route):
        print("give an id, or a filter: --connector, --route, --code, --since", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"{len(exc.problems)} problem(s) in {args.config}:\n{exc}", file=sys.stderr)
        return 1
